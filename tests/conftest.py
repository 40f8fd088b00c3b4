"""Shared fixtures: an isolated environment, real git repositories with the sample
files, and real MLflow on SQLite (migrated once, copied per test)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

PROJECT = Path(__file__).resolve().parent.parent
SAMPLE_DIRS = ("models", "data", "policies")


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No GitHub, MLflow or mlpin settings leak in; HOME and git config are private."""
    isolate_environ(monkeypatch, tmp_path_factory.mktemp("home"))


def isolate_environ(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """What `clean_environ` does, for fixtures of wider scope (pass a MonkeyPatch.context())."""
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


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty, fully migrated MLflow SQLite store, made once per test session."""
    from pipelines.adapters.registry import Registry

    root = tmp_path_factory.mktemp("mlflow-template")
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    Registry(root).client.search_experiments()
    return root / ".mlpin" / "mlflow.db"


@pytest.fixture
def repo(tmp_path: Path, mlflow_template: Path) -> Path:
    """A real git repository holding the project's sample models, data and policies,
    committed, with a fresh embedded MLflow store."""
    return make_repo(tmp_path / "repo", mlflow_template)


def make_repo(root: Path, mlflow_template: Path) -> Path:
    """Create the `repo` fixture's repository at `root` (for fixtures of wider scope)."""
    root.mkdir()
    for name in SAMPLE_DIRS:
        shutil.copytree(PROJECT / name, root / name)
    shutil.copy(PROJECT / ".gitignore", root / ".gitignore")
    (root / ".mlpin").mkdir()
    shutil.copy(mlflow_template, root / ".mlpin" / "mlflow.db")
    git(root, "init", "-q")
    commit_all(root, "initial")
    return root


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
