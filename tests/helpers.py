"""Helpers shared by test modules: tests import from here (or a package's helpers.py and
tests/fakes/), never from each other or from a conftest. Fixtures stay in conftest.py.
Plain functions and constants only; nothing here runs at import time."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml

from pipelines.stages.context import StageContext

if TYPE_CHECKING:
    import pandas as pd

    from pipelines.core.stage_results import TrainResult

PROJECT = Path(__file__).resolve().parent.parent
SAMPLE_DIRS = ("models", "data", "policies")


def ctx(root: Path, **given) -> StageContext:
    """A fresh stage context on `root`: the workspace is read again, as a new command would."""
    return StageContext(root, **given)


def isolate_environ(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """What the autouse `clean_environ` fixture does, also for fixtures of wider scope (pass a
    MonkeyPatch.context()): no GitHub, MLflow, mlpin or git settings leak in; HOME is `home`."""
    for name in list(os.environ):
        if name.startswith(("GITHUB_", "MLFLOW_", "MLPIN_", "GIT_")):
            monkeypatch.delenv(name)
    gitconfig = home / ".gitconfig"
    gitconfig.write_text("[user]\n\tname = Test User\n\temail = test@example.invalid\n[init]\n\tdefaultBranch = main\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


def git(root: Path, *args: str) -> str:
    """Run git in `root` and return stdout; fails the test on error."""
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout.strip()


def commit_all(root: Path, message: str = "change") -> str:
    """Stage everything and commit; returns the new HEAD sha."""
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD")


def write_yaml(path: Path, doc: dict) -> None:
    """Write a YAML document, creating folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def edit_yaml(path: Path, **changes) -> None:
    """Load a YAML file, apply top-level changes, and write it back."""
    doc = yaml.safe_load(path.read_text())
    doc.update(changes)
    write_yaml(path, doc)


def make_repo(root: Path, mlflow_template: Path | None = None) -> Path:
    """A git repository at `root` holding the project's sample models, data and policies,
    committed; with a copy of the migrated MLflow store when a template is given."""
    root.mkdir()
    for name in SAMPLE_DIRS:
        shutil.copytree(PROJECT / name, root / name, ignore=_image_pointers)
    shutil.copy(PROJECT / ".gitignore", root / ".gitignore")
    if mlflow_template is not None:
        copy_store(root, mlflow_template)
    git(root, "init", "-q")
    commit_all(root, "initial")
    return root


def _image_pointers(folder: str, names: list[str]) -> list[str]:
    """The image-folder pointers of data/ and the image models' specs: their folders
    (samples/) are not copied into test repositories (600 files would cost every test about
    two seconds), so neither are they. Image tests make their own repositories."""
    import re

    image = r"^(format:\s*(image_folder|raw_folder)|task:\s*image_classification)\s*$"
    return [n for n in names if n.endswith(".yaml") and re.search(image, (Path(folder) / n).read_text(), re.MULTILINE)]


def with_image_samples(root: Path) -> Path:
    """`root` holding the project's image samples (samples/digits_png, digits_raw) and their
    pointers, which test repositories from `make_repo` leave out."""
    for name in ("digits_png", "digits_raw"):
        shutil.copytree(PROJECT / "samples" / name, root / "samples" / name)
        (root / "data").mkdir(parents=True, exist_ok=True)
        shutil.copy(PROJECT / "data" / f"{name}.yaml", root / "data" / f"{name}.yaml")
    return root


def clone_repo(origin: Path, dest: Path) -> Path:
    """A clone of `origin` (bare or not) at `dest`, as a developer would make it."""
    git(dest.parent, "clone", "-q", str(origin), str(dest))
    return dest


def copy_store(root: Path, template: Path) -> Path:
    """`root` with a copy of the migrated MLflow store, as the embedded default expects it."""
    (root / ".mlpin").mkdir(parents=True)
    shutil.copy(template, root / ".mlpin" / "mlflow.db")
    return root


def entry(trained: TrainResult | dict, **overrides) -> dict:
    """The production.yaml entry pinning a trained version (a TrainResult, or its JSON), with `overrides`."""
    found = trained if isinstance(trained, dict) else trained.model_dump()
    fields = ("version", "run_id", "artifact_sha256", "spec_hash", "data_sha256", "metrics")
    return {**{k: found[k] for k in fields}, "source": {"commit": found["git_commit"]}, **overrides}


def pin(root: Path, *, text: str | None = None, **models: dict) -> str:
    """Commit a pin (entries by model name, or raw text) on the current branch; returns the commit."""
    path = root / "models/production.yaml"
    if text is None:
        write_yaml(path, {"schema_version": 1, "models": models})
    else:
        path.write_text(text)
    git(root, "add", "-A")
    git(root, "commit", "-q", "--allow-empty", "-m", "pin")
    return git(root, "rev-parse", "HEAD")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition: Callable[[], object], *, timeout: float = 10) -> None:
    """Poll `condition` until it is truthy; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


# A version's lineage tags and its run's metrics as `mlpin candidate` leaves them (pin-entry tests).
LINEAGE_TAGS = {f"mlpin.{k}": c * 64 for k, c in (("spec_hash", "a"), ("data_sha256", "b"), ("artifact_sha256", "c"))} \
    | {"mlpin.pr": "12", "mlpin.candidate_commit": "d" * 40}
RUN_METRICS = {"accuracy": 0.97, "roc_auc": 0.99, "production.accuracy": 0.95}


def mixed_frame(rows: int = 240, seed: int = 0) -> pd.DataFrame:
    """Size and colour drive the label; gaps in both feature columns."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    size = rng.normal(size=rows)
    colour = rng.choice(["red", "green", "blue"], size=rows).astype(object)
    label = np.where(size + (colour == "red") > 0.5, "big", "small").astype(object)
    amount = 3 * size + (colour == "blue") * 2 + rng.normal(scale=0.1, size=rows)
    size[::9] = np.nan
    colour[::7] = np.nan
    return pd.DataFrame({"size": size, "colour": colour, "label": label, "amount": amount})


class RefusingServer:
    """An HTTP server on 127.0.0.1 that answers every GET with `status` and keeps the
    Authorization header each request carried (what a forge would have been sent)."""

    def __init__(self, status: int = 404) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.headers: list[str | None] = []
        seen = self.headers

        class Refuse(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                seen.append(self.headers.get("authorization"))
                self.send_error(status)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def __enter__(self) -> RefusingServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()


def record_git_argvs(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every command line mlpin's git adapter starts from now on: what `ps` would show."""
    argvs: list[list[str]] = []
    real_popen = subprocess.Popen

    def recording_popen(args, *rest, **kwargs):
        argvs.append(list(args))
        return real_popen(args, *rest, **kwargs)

    monkeypatch.setattr("pipelines.adapters.git.subprocess.Popen", recording_popen)
    return argvs


class WebhookReceiver:
    """A serving stand-in on 127.0.0.1 that checks the signature like serving must."""

    def __init__(self, secret: str) -> None:
        import hashlib
        import hmac
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.calls: list[tuple[bool, dict]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
                good = hmac.compare_digest(expected, self.headers.get("X-Hub-Signature-256", ""))
                outer.calls.append((good, json.loads(body)))
                self.send_response(202 if good else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhook"
