"""The stack's serving replicas: `python -m serving` processes, one port each, each with
its own cache, work and prediction-log folders under `<dir>/replicas/<i>/`, reading the
pin from the repository's branch (pin source `git`) and MLflow with the reader's
credentials, and accepting the stack's webhook secret."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pipelines.stack.settings import HOST, PROJECT


def replica_name(index: int) -> str:
    """`replica-<index>`: the name in state, status and logs."""
    return f"replica-{index}"


def replica_url(port: int) -> str:
    """The replica's base URL."""
    return f"http://{HOST}:{port}"


def replica_argv(port: int) -> list[str]:
    """`python -m serving` on 127.0.0.1:`port`."""
    return [sys.executable, "-m", "serving", "--host", HOST, "--port", str(port)]


def replica_env(folder: Path, *, pin_uri: str, branch: str, poll_interval_s: float, tracking_uri: str,
                reader: tuple[str, str], webhook_secret: str) -> dict[str, str]:
    """The replica's environment: ours without MLflow or mlpin settings (the stack's caller may hold
    the writer's), then the replica's own; this checkout first on the import path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "MLPIN_"))}
    return env | {
        "PYTHONPATH": os.pathsep.join([str(PROJECT), *filter(None, [env.get("PYTHONPATH")])]),
        "MLPIN_PIN_SOURCE": "git",
        "MLPIN_PIN_URI": pin_uri,
        "MLPIN_BRANCH": branch,
        "MLPIN_POLL_INTERVAL_S": str(poll_interval_s),
        "MLPIN_WEBHOOK_SECRET": webhook_secret,
        "MLPIN_CACHE_DIR": str(folder / "cache"),
        "MLPIN_WORK_DIR": str(folder / "work"),
        "MLPIN_LOG_DIR": str(folder / "predictions"),
        "MLPIN_REGISTRY_ROOT": str(folder),
        "MLFLOW_TRACKING_URI": tracking_uri,
        "MLFLOW_TRACKING_USERNAME": reader[0],
        "MLFLOW_TRACKING_PASSWORD": reader[1],
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }


def live_versions(status: dict) -> dict[str, str]:
    """`/status` in one line per model: live and desired version and the condition."""
    return {m.get("model", "?"): f"live v{m.get('live_version')} desired v{m.get('desired_version')} "
                                 f"{m.get('condition', '?')}" for m in status.get("models") or []}
