"""Finding PostgreSQL, and the errors that say what to install or change."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipelines.stack import postgres
from pipelines.stack.cli import main
from pipelines.stack.settings import StackError
from tests.stack.helpers import postgres_folder


def test_missing_postgresql_says_what_to_install(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr(postgres.shutil, "which", lambda name: None)
    monkeypatch.setattr(postgres.glob, "glob", lambda pattern: [])
    with pytest.raises(StackError, match="apt-get install postgresql"):
        postgres.find_binaries()


def test_up_without_postgresql_fails_in_one_line_and_starts_nothing(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(postgres.shutil, "which", lambda name: None)
    monkeypatch.setattr(postgres.glob, "glob", lambda pattern: [])
    monkeypatch.setenv("MLPIN_STACK_DIR", str(tmp_path / "stack"))
    assert main(["--repo", str(tmp_path), "up"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("stack: PostgreSQL's server programs (initdb, pg_ctl) were not found") and "\n" == err[-1]
    assert not (tmp_path / "stack" / "state.json").read_text().count('"pid"')


def _postgres_user() -> bool:
    try:
        return bool(postgres._server_user())
    except StackError:
        return False


@pytest.mark.skipif(os.geteuid() != 0 or not _postgres_user(),
                    reason="only root hands the cluster folder to the postgres user (which must exist)")
def test_as_root_an_unreachable_cluster_folder_names_the_blocking_parent(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o700)
    try:
        postgres.prepare_folder(locked / "postgres")
    except StackError as exc:
        assert "is not traversable by others" in str(exc) and "MLPIN_STACK_DIR" in str(exc)
    else:
        pytest.fail("a cluster folder the postgres user cannot reach was accepted")


@pytest.fixture
def stack_folder():
    """A folder the postgres user can reach when we are root (pytest's temporary root is 0700)."""
    import shutil

    folder = postgres_folder("mlpin-pg-", needed_by="this test")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_a_refused_database_login_is_a_stack_error_and_leaves_nothing_running(stack_folder: Path, monkeypatch,
                                                                             capsys) -> None:
    """The cluster was made with another password (its secret file was reset): up says what to do, and
    the PostgreSQL it started is stopped again, not left where `down` cannot find it."""
    from pipelines.stack.credentials import secret_path

    cluster = stack_folder / "stack" / "postgres"
    postgres.prepare_folder(cluster)
    postgres.init_cluster(postgres.find_binaries(), cluster, password="the-old-password")
    monkeypatch.setenv("MLPIN_STACK_DIR", str(stack_folder / "stack"))
    monkeypatch.setenv("MLPIN_STACK_PG_PORT", "0")
    assert main(["--repo", str(stack_folder), "up", "--replicas", "0"]) == 1
    err = capsys.readouterr().err
    assert "creating MLflow's databases" in err and "postgres.password" in err and "Traceback" not in err
    assert secret_path(stack_folder / "stack", "postgres.password").read_text().strip() not in err
    assert not (cluster / "data" / "postmaster.pid").exists(), "PostgreSQL still runs"
    assert '"pid"' not in (stack_folder / "stack" / "state.json").read_text()
