"""Serving fixtures: one repository with registered versions (good, smoke-failing,
unloadable) shared by the session, and a real uvicorn on 127.0.0.1 per test."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from pipelines.adapters.registry import artifact_digest
from tests.helpers import ctx, edit_yaml, git, isolate_environ, make_repo, write_yaml

MODEL = "wine_logreg"
SECRET = "webhook-secret"
TOKEN = "admin-token"
STARTUP_SECONDS = 20


@dataclass(frozen=True)
class Trained:
    """The shared repository and a pin entry per registered version, by label."""

    root: Path
    entries: dict[str, dict]


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory, mlflow_template: Path) -> Trained:
    """wine_logreg v1 and v2 (good), v3 (fails its smoke test), v4 (cannot be unpickled); diabetes_hgb v1."""
    with isolated(tmp_path_factory):
        root = make_repo(tmp_path_factory.mktemp("serving") / "repo", mlflow_template)
        entries = {"v1": _train(root, c=1.0), "v2": _train(root, c=0.05)}
        entries["smoke"] = _register_unanswerable(root)
        entries["broken"] = _break_artifact(root, _train(root, c=0.01))
        entries["diabetes"] = _train(root, model="diabetes_hgb")
    return Trained(root=root, entries=entries)


@contextmanager
def isolated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """`clean_environ` for fixtures wider than a test (MLflow exports its tracking URI to the environment)."""
    with pytest.MonkeyPatch.context() as patch:
        isolate_environ(patch, tmp_path_factory.mktemp("serving-home"))
        yield


def _train(root: Path, *, c: float | None = None, model: str = MODEL) -> dict:
    from pipelines.stages.train import train

    if c is not None:
        edit_yaml(root / f"models/{model}.yaml", estimator={"kind": "logistic_regression", "params": {"C": c}})
    result = train(ctx(root), model)
    fields = ("version", "run_id", "artifact_sha256", "spec_hash", "data_sha256")
    return {k: getattr(result, k) for k in fields}


def _register_unanswerable(root: Path) -> dict:
    """A version that loads but cannot predict its own input example (a column it never gets)."""
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.dummy import DummyClassifier
    from sklearn.pipeline import make_pipeline

    from pipelines.adapters.registry import CandidateLog, Registry
    from pipelines.core.lineage import tag

    frame = pd.read_csv(root / "data/wine.csv")
    features = [c for c in frame.columns if c != "cultivar"]
    fitted = make_pipeline(ColumnTransformer([("pick", "passthrough", [*features, "ghost"])]), DummyClassifier())
    fitted.fit(frame.assign(ghost=1.0), frame["cultivar"])
    entry = CandidateLog(model=MODEL, fitted=fitted, inputs=[(f, "number") for f in features], output_type="string",
                         example=frame[features].head(3), params={}, metrics={}, tags={tag("task"): "classification"})
    logged = Registry(root).log_candidate(entry)
    return {"version": logged.version, "run_id": logged.run_id, "artifact_sha256": logged.artifact_sha256,
            "spec_hash": "0" * 64, "data_sha256": "0" * 64}


def _break_artifact(root: Path, entry: dict) -> dict:
    """Overwrite the stored pickle; the entry gets the digest of the broken bytes, so only unpickling fails."""
    folder = artifact_folder(root, entry["artifact_sha256"])
    (folder / "model.pkl").write_bytes(b"this is not a pickle")
    return {**entry, "artifact_sha256": artifact_digest(folder)}


def artifact_folder(root: Path, sha256: str) -> Path:
    """The stored folder of the model whose artifact digest is `sha256`."""
    for mlmodel in (root / ".mlpin" / "artifacts").rglob("MLmodel"):
        if artifact_digest(mlmodel.parent) == sha256:
            return mlmodel.parent
    raise AssertionError(f"no stored model has digest {sha256}")


def pin(root: Path, *, text: str | None = None, **models: dict) -> str:
    """Commit a pin (entries by model name, or raw text) on main; returns the commit."""
    path = root / "models/production.yaml"
    if text is None:
        write_yaml(path, {"schema_version": 1, "models": models})
    else:
        path.write_text(text)
    git(root, "add", "-A")
    git(root, "commit", "-q", "--allow-empty", "-m", "pin")
    return git(root, "rev-parse", "HEAD")


@dataclass
class Running:
    """A live server: its URL, a client on it, and the app's Service (for white-box checks)."""

    url: str
    client: httpx.Client
    service: object

    def reconcile(self) -> dict:
        """Run a pass now through the admin endpoint; the status after it."""
        response = self.client.post("/reconcile", headers={"authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 200, response.text
        return response.json()

    def model_status(self, model: str = MODEL) -> dict:
        """This model's entry in /status."""
        return next(m for m in self.client.get("/status").json()["models"] if m["model"] == model)


@contextmanager
def serving(settings) -> Iterator[Running]:
    """Run `create_app(settings)` under a real uvicorn on 127.0.0.1 until the block ends."""
    import uvicorn

    from serving.app import create_app

    app = create_app(settings)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, timeout=STARTUP_SECONDS)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        with httpx.Client(base_url=url, timeout=30) as client:
            yield Running(url=url, client=client, service=app.state.service)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


def settings_for(trained: Trained, tmp_path: Path, **overrides):
    """Settings following the shared repository's main branch, state under `tmp_path`."""
    from serving.settings import load_settings

    defaults = dict(pin_source="git", pin_uri=str(trained.root), registry_root=trained.root, cache_dir=tmp_path / "cache",
                    work_dir=tmp_path / "work", log_dir=tmp_path / "predictions", poll_interval_s=300,
                    webhook_secret=SECRET, admin_token=TOKEN)
    return load_settings(**{**defaults, **overrides})


def wait_until(condition: Callable[[], object], *, timeout: float = 10) -> None:
    """Poll `condition` until it is truthy; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


@pytest.fixture
def server_on_v1(trained: Trained, tmp_path: Path) -> Iterator[Running]:
    """A server that has loaded v1 and is ready."""
    pin(trained.root, **{MODEL: trained.entries["v1"]})
    with serving(settings_for(trained, tmp_path)) as running:
        wait_until(lambda: running.client.get("/readyz").status_code == 200)
        yield running
