"""Helpers shared by the serving tests: the shared repository's record, a live uvicorn
server and its settings, a `python -m serving` process, and a wine row to predict.
Fixtures stay in conftest.py."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from pipelines.adapters.artifact import artifact_digest
from tests.helpers import free_port, isolate_environ, wait_until

MODEL = "wine_logreg"
SECRET = "webhook-secret"
TOKEN = "admin-token"
STARTUP_SECONDS = 20
PROCESS_STARTUP_SECONDS = 60  # a fresh interpreter imports FastAPI, MLflow and scikit-learn on a shared machine
PAIR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)(?: |$)')  # key=bare or key="JSON string"
# one wine to predict: every feature of wine_logreg
ROW = {
    "alcohol": 13.2,
    "malic_acid": 1.8,
    "ash": 2.4,
    "alcalinity_of_ash": 17.0,
    "magnesium": 100.0,
    "total_phenols": 2.6,
    "flavanoids": 2.7,
    "nonflavanoid_phenols": 0.3,
    "proanthocyanins": 1.9,
    "color_intensity": 5.0,
    "hue": 1.0,
    "od280_od315_of_diluted_wines": 3.0,
    "proline": 1000.0,
}


@dataclass(frozen=True)
class Trained:
    """The shared repository and a pin entry per registered version, by label."""

    root: Path
    entries: dict[str, dict]


@contextmanager
def isolated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """`clean_environ` for fixtures wider than a test (MLflow exports its tracking URI to the environment)."""
    with pytest.MonkeyPatch.context() as patch:
        isolate_environ(patch, tmp_path_factory.mktemp("serving-home"))
        yield


def artifact_folder(root: Path, sha256: str) -> Path:
    """The stored folder of the model whose artifact digest is `sha256`."""
    for mlmodel in (root / ".mlpin" / "artifacts").rglob("MLmodel"):
        if artifact_digest(mlmodel.parent) == sha256:
            return mlmodel.parent
    raise AssertionError(f"no stored model has digest {sha256}")


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

    defaults = dict(
        pin_source="git",
        pin_uri=str(trained.root),
        registry_root=trained.root,
        cache_dir=tmp_path / "cache",
        work_dir=tmp_path / "work",
        log_dir=tmp_path / "predictions",
        poll_interval_s=300,
        webhook_secret=SECRET,
        admin_token=TOKEN,
    )
    return load_settings(**{**defaults, **overrides})


def parse_text(line: str) -> dict:
    """One line of serving's text log as a dict (values as strings); the whole line must be pairs."""
    pairs = PAIR.findall(line)
    assert " ".join(f"{k}={v}" for k, v in pairs) == line, line
    return {k: json.loads(v) if v.startswith('"') else v for k, v in pairs}


def process_env(trained: Trained, tmp_path: Path, **variables: str) -> dict[str, str]:
    """The environment of a `python -m serving` following the shared repository, state under `tmp_path`."""
    return {**os.environ, "MLPIN_PIN_URI": str(trained.root), "MLPIN_REGISTRY_ROOT": str(trained.root),
            "MLPIN_CACHE_DIR": str(tmp_path / "cache"), "MLPIN_WORK_DIR": str(tmp_path / "work"),
            "MLPIN_LOG_DIR": str(tmp_path / "predictions"), **variables}


@contextmanager
def serving_process(env: dict[str, str], *, output=subprocess.DEVNULL,
                    args: tuple[str, ...] = ()) -> Iterator[tuple[subprocess.Popen, str]]:
    """`python -m serving` on a free port until ready: the process and its URL; killed if still running at the end.

    `output` takes its stdout and stderr together (a file, or DEVNULL); `args` are more arguments (--workers)."""
    with serving_processes([env], outputs=[output], args=args) as (started,):
        yield started


@contextmanager
def serving_processes(envs: list[dict[str, str]], *, outputs: list | None = None, args: tuple[str, ...] = (),
                      ready: bool = True) -> Iterator[list[tuple[subprocess.Popen, str]]]:
    """Several `python -m serving` started at once (their imports overlap), each on a free port; with
    `ready`, yielded once all are ready. At the end each is killed with its workers (its own session)."""
    started = []
    try:
        for env, output in zip(envs, outputs or [subprocess.DEVNULL] * len(envs), strict=True):
            port = free_port()
            process = subprocess.Popen([sys.executable, "-m", "serving", "--port", str(port), *args], env=env,
                                       start_new_session=True, stdout=output, stderr=subprocess.STDOUT)
            started.append((process, f"http://127.0.0.1:{port}"))
        for process, url in started if ready else ():
            wait_until(lambda p=process, u=url: answers_ready(u, p), timeout=PROCESS_STARTUP_SECONDS)
        yield started
    finally:
        for process, _ in started:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # the session it leads: the process and any workers
            process.wait(timeout=10)


def stop(process: subprocess.Popen, *, timeout: float = 20) -> int:
    """SIGTERM, as a container runtime stops it; its exit status once it has shut down."""
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=timeout)


def answers_ready(url: str, process: subprocess.Popen) -> bool:
    """Whether the process still runs and its /readyz says ready (the process exiting fails the test)."""
    assert process.poll() is None, "the serving process exited during startup"
    try:
        return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
