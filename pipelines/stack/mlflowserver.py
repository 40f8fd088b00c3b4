"""The stack's MLflow tracking server: PostgreSQL as backend store (database `mlflow`),
artifacts proxied by the server (`--serve-artifacts`) to a local folder that a real
deployment points at object storage, and MLflow's basic-auth app with its users in
PostgreSQL too (database `mlflow_auth`).

Passwords never reach a command line or the auth ini file: the database's comes as
PGPASSWORD, the admin's as MLFLOW_AUTH_ADMIN_PASSWORD, the CSRF key as
MLFLOW_FLASK_SERVER_SECRET_KEY, all in the server's environment.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pipelines.stack.postgres import sqlalchemy_uri
from pipelines.stack.settings import HOST, PROJECT

DATABASES = ("mlflow", "mlflow_auth")
ADMIN = "admin"
# Nothing is readable or writable unless granted: the reader sees registered models and
# their artifacts, nothing else (see docs/team-stack.md for why).
DEFAULT_PERMISSION = "NO_PERMISSIONS"
AUTHORIZATION_FUNCTION = "pipelines.stack.mlflowauth:authenticate_request"


def auth_ini(*, pg_port: int) -> str:
    """The auth app's configuration (MLFLOW_AUTH_CONFIG_PATH); holds no secret."""
    return (
        "[mlflow]\n"
        f"default_permission = {DEFAULT_PERMISSION}\n"
        f"database_uri = {sqlalchemy_uri(pg_port, 'mlflow_auth')}\n"
        f"admin_username = {ADMIN}\n"
        # Basic auth, but only the admin may change a password (see pipelines/stack/mlflowauth.py)
        f"authorization_function = {AUTHORIZATION_FUNCTION}\n"
        "grant_default_workspace_access = false\n"
        # each request's password check is a PBKDF2 hash: remember a good one for a minute, per worker
        # (a changed password or permission reaches other workers within that minute)
        "auth_cache_ttl_seconds = 60\n"
    )


def server_argv(*, port: int, pg_port: int, artifacts_destination: str, workers: int) -> list[str]:
    """`mlflow server` on 127.0.0.1:`port` with the stack's stores and the basic-auth app."""
    return [sys.executable, "-m", "mlflow", "server", "--host", HOST, "--port", str(port),
            "--backend-store-uri", sqlalchemy_uri(pg_port, "mlflow"),
            "--serve-artifacts", "--artifacts-destination", artifacts_destination,
            "--default-artifact-root", "mlflow-artifacts:/",
            "--app-name", "basic-auth", "--workers", str(workers),
            # only a workspace grant lets a user create experiments and models: the reader gets none
            "--enable-workspaces"]


def server_env(*, auth_ini_path: Path, db_password: str, admin_password: str, flask_key: str) -> dict[str, str]:
    """The server's environment: ours, minus MLflow client settings, plus its secrets."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "PG"))}
    return env | {
        # the auth ini names pipelines.stack.mlflowauth: this checkout's, whatever the venv installed
        "PYTHONPATH": os.pathsep.join([str(PROJECT), *filter(None, [env.get("PYTHONPATH")])]),
        "MLFLOW_AUTH_CONFIG_PATH": str(auth_ini_path),
        "MLFLOW_AUTH_ADMIN_PASSWORD": admin_password,
        "PGPASSWORD": db_password,
        "MLFLOW_FLASK_SERVER_SECRET_KEY": flask_key,  # CSRF tokens; one key for every worker
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",  # no GenAI job runners: six processes mlpin never uses
    }


def health_url(port: int) -> str:
    """Answers 200 once the server (and its auth app) is up; needs no login."""
    return f"http://{HOST}:{port}/health"
