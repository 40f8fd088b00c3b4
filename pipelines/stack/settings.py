"""The stack's settings, from `MLPIN_STACK_*` environment variables (built by
`load_settings()`, never at import time), and the one error the stack raises."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

HOST = "127.0.0.1"  # the stack never listens anywhere else
MAX_REPLICAS = 16  # serving_port + i must stay a port, and one machine runs them all
PROJECT = Path(__file__).resolve().parent.parent.parent  # the code the stack's processes run: this checkout's


class StackError(RuntimeError):
    """The stack could not be started, reached or stopped; the message says what to do."""


class StackSettings(BaseSettings):
    """Where the stack lives, its ports (0: any free port, chosen at `up` and kept) and sizes."""

    model_config = SettingsConfigDict(env_prefix="MLPIN_STACK_", extra="ignore", frozen=True)

    dir: Path = Field(Path(".mlpin/stack"), description="state, logs, data and secrets (relative: to the repo)")
    pg_port: int = Field(55432, ge=0, lt=65536, description="PostgreSQL's TCP port")
    mlflow_port: int = Field(5055, ge=0, lt=65536, description="the MLflow tracking server's port")
    serving_port: int = Field(8180, ge=0, lt=65536, description="replica i listens on this + i (0: free ports)")
    replicas: int = Field(2, ge=0, le=MAX_REPLICAS, description="serving replicas when `up` has no --replicas")
    mlflow_workers: int = Field(2, ge=1, le=16, description="the tracking server's worker processes")
    poll_interval_s: float = Field(15.0, gt=0, description="the replicas' MLPIN_POLL_INTERVAL_S")
    branch: str = Field("main", description="the branch whose pin the replicas serve")
    pin_uri: str | None = Field(None, description="the git repository the replicas read (default: the repo)")
    artifacts_destination: str | None = Field(
        None, description="where the server stores artifacts (default: <dir>/artifacts; e.g. s3://bucket/mlflow)"
    )
    timeout_s: float = Field(90.0, gt=0, description="how long `up` waits for each process to be ready")


def load_settings(**overrides: object) -> StackSettings:
    """Settings from the environment; keyword overrides (the command line) win."""
    from pydantic import ValidationError

    try:
        return StackSettings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        bad = "; ".join(f"MLPIN_STACK_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        raise StackError(f"bad settings: {bad}") from None
