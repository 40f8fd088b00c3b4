"""Shared fixtures: an isolated environment, real git repositories with the sample
files, and real MLflow on SQLite (migrated once, copied per test)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import isolate_environ, make_repo


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No GitHub, MLflow or mlpin settings leak in; HOME and git config are private."""
    isolate_environ(monkeypatch, tmp_path_factory.mktemp("home"))


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty, fully migrated MLflow SQLite store, made once per test session."""
    from pipelines.adapters.registry import Registry

    root = tmp_path_factory.mktemp("mlflow-template")
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    Registry(root).client.search_experiments()
    return root / ".mlpin" / "mlflow.db"


@pytest.fixture
def git_repo(tmp_path: Path) -> Iterator[Path]:
    """`repo` without a model registry, for tests that inject one (tests/stages/conftest.py's
    `registry`); fails the test if something built the embedded MLflow store instead."""
    root = make_repo(tmp_path / "repo")
    yield root
    assert not (root / ".mlpin" / "mlflow.db").exists(), "MLflow was used, not the registry the test injected"


@pytest.fixture
def repo(tmp_path: Path, mlflow_template: Path) -> Path:
    """A real git repository holding the project's sample models, data and policies,
    committed, with a fresh embedded MLflow store."""
    return make_repo(tmp_path / "repo", mlflow_template)


@pytest.fixture
def fake_github():
    """The local fake of GitHub's REST API on 127.0.0.1, with PR #7 open."""
    from tests.fakes.github_api import FakeGitHub

    server = FakeGitHub(pulls={7}).start()
    yield server
    server.stop()


@pytest.fixture
def github_forge(fake_github):
    """The real GitHub adapter pointed at the fake, without PyGithub's write spacing."""
    from pipelines.adapters.github import GitHubForge

    return GitHubForge(token=fake_github.token, repository=fake_github.repository, base_url=fake_github.base_url,
                       throttle=False, backoff_factor=0)


@pytest.fixture
def md(snapshot):
    """A syrupy snapshot stored as a reviewable .md file (update: --snapshot-update)."""
    from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

    class MarkdownSnapshot(SingleFileSnapshotExtension):
        _write_mode = WriteMode.TEXT
        file_extension = "md"

    return snapshot.use_extension(MarkdownSnapshot)
