"""Secrets are files only their owner reads, made once; `up` prints their paths, never values."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pipelines.stack.cli import exports
from pipelines.stack.credentials import ensure_secret, secret_path, write_private
from pipelines.stack.replicas import live_versions, replica_env
from pipelines.stack.settings import StackSettings
from pipelines.stack.stack import Stack


def test_a_secret_is_made_once_and_only_its_owner_reads_it(tmp_path: Path) -> None:
    value = ensure_secret(tmp_path, "writer.password")
    assert len(value) >= 32 and ensure_secret(tmp_path, "writer.password") == value
    assert stat.S_IMODE(secret_path(tmp_path, "writer.password").stat().st_mode) == 0o600
    assert stat.S_IMODE(secret_path(tmp_path, "writer.password").parent.stat().st_mode) == 0o700


def test_exports_read_passwords_from_their_files(tmp_path: Path) -> None:
    stack = Stack(stack_dir=tmp_path / "my stack", repo=tmp_path, settings=StackSettings())
    values = [ensure_secret(stack.stack_dir, n) for n in ("mlpin-writer.password", "mlpin-pr.password",
                                                           "webhook.secret")]
    lines = exports(stack, tracking_url="http://127.0.0.1:5055",
                    replica_urls=["http://127.0.0.1:8180", "http://127.0.0.1:8181"])
    text = "\n".join(lines)
    assert not any(v in text for v in values)
    assert f"export MLFLOW_TRACKING_PASSWORD=\"$(cat '{tmp_path}/my stack/secrets/mlpin-writer.password')\"" in lines
    assert "export MLFLOW_TRACKING_USERNAME=mlpin-writer" in lines
    assert "export MLPIN_DEPLOY_WEBHOOK_URL=http://127.0.0.1:8180/webhook,http://127.0.0.1:8181/webhook" in lines
    assert "#   export MLFLOW_TRACKING_USERNAME=mlpin-pr" in lines
    assert "mlpin-serving" not in text, "serving's user is the replicas' alone"


def test_a_replica_gets_the_credentials_it_is_given_never_the_callers(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "mlpin-writer")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "the-writers")
    monkeypatch.setenv("MLPIN_ADMIN_TOKEN", "not-for-replicas")
    env = replica_env(tmp_path / "0", pin_uri="/srv/repo", branch="main", poll_interval_s=2,
                      tracking_uri="http://127.0.0.1:5055", reader=("mlpin-serving", "the-readers"),
                      webhook_secret="hook")
    assert (env["MLFLOW_TRACKING_USERNAME"], env["MLFLOW_TRACKING_PASSWORD"]) == ("mlpin-serving", "the-readers")
    assert "MLPIN_ADMIN_TOKEN" not in env and "the-writers" not in env.values()
    assert env["MLPIN_CACHE_DIR"] == str(tmp_path / "0" / "cache") and env["MLPIN_PIN_SOURCE"] == "git"


def test_live_versions_summarise_a_replicas_status() -> None:
    status = {"pin": {}, "models": [{"model": "wine", "live_version": 2, "desired_version": 3,
                                     "condition": "Stalled"}]}
    assert live_versions(status) == {"wine": "live v2 desired v3 Stalled"}


def test_racing_ups_agree_on_a_secret(tmp_path: Path, monkeypatch) -> None:
    """The other `up` places the file between this one's look and its write: this one reads the winner's."""
    import pipelines.stack.credentials as credentials

    real = credentials.secrets.token_urlsafe

    def other_up_wins(n: int) -> str:
        path = secret_path(tmp_path, "flask.key")
        path.write_text("the-winners\n")
        return real(n)

    monkeypatch.setattr(credentials.secrets, "token_urlsafe", other_up_wins)
    assert ensure_secret(tmp_path, "flask.key") == "the-winners"
    assert [p.name for p in (tmp_path / "secrets").iterdir()] == ["flask.key"], "no draft left behind"



def test_a_private_file_is_never_readable_by_others_even_for_a_moment(tmp_path: Path) -> None:
    """initdb's password file: created 0600 (a write then chmod was world-readable in between), never over
    a file someone placed there."""

    old = os.umask(0)
    try:
        write_private(tmp_path / "initdb.pw", "pw\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "initdb.pw").stat().st_mode) == 0o600
    with pytest.raises(FileExistsError):
        write_private(tmp_path / "initdb.pw", "another\n")
