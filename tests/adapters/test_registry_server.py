"""`MLFLOW_TRACKING_URI` switches mlpin to a tracking server: a real `mlflow server`
process on 127.0.0.1, with artifacts proxied through it."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.stages.evaluate import evaluate
from pipelines.stages.train import train
from tests.helpers import ctx, free_port

STARTUP_SECONDS = 60


@pytest.fixture
def mlflow_server(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    store = tmp_path / "server"
    store.mkdir()
    command = [
        sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
        "--backend-store-uri", f"sqlite:///{store / 'mlflow.db'}", "--artifacts-destination", str(store / "artifacts"),
        "--workers", "1",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            assert process.poll() is None, "mlflow server exited during startup"
            try:
                urllib.request.urlopen(f"{url}/health", timeout=1)
                break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail("mlflow server did not answer /health in time")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def test_train_and_evaluate_against_a_tracking_server(repo: Path, mlflow_server: str, monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    trained = train(ctx(repo), "wine_logreg")
    assert trained.tracking_uri == mlflow_server
    result = evaluate(ctx(repo), "wine_logreg")
    assert result.candidate.metrics == trained.metrics
    import mlflow

    experiment = mlflow.MlflowClient(mlflow_server).get_experiment_by_name("mlpin/wine_logreg")
    assert experiment.artifact_location.startswith("mlflow-artifacts:")
    assert not (repo / ".mlpin" / "artifacts").exists()
