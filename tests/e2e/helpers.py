"""Shared by the end-to-end tests: the promotion loop played with the command sequence the
workflows run, against whichever MLflow the environment names (an SQLite store, or the
team stack's server with per-job credentials)."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from pipelines.adapters.localforge import LocalForge
from pipelines.cli import main
from tests.helpers import commit_all, git

# the MLflow user each workflow's job runs as: pull-request jobs read, trusted jobs write
READER_COMMANDS = ("candidate", "verify", "history", "evaluate")
WRITER_COMMANDS = ("propose", "deploy", "rollback", "train", "drift")


@dataclass(frozen=True)
class Credentials:
    """The stack's MLflow users (name, password) and which commands run as which."""

    writer: tuple[str, str]
    reader: tuple[str, str]

    def for_command(self, command: str) -> tuple[str, str] | None:
        """The user a workflow runs `command` as; None for commands that do not touch MLflow."""
        if command in READER_COMMANDS:
            return self.reader
        return self.writer if command in WRITER_COMMANDS else None

    def use(self, command: str, monkeypatch: pytest.MonkeyPatch) -> None:
        """Set MLFLOW_TRACKING_USERNAME/PASSWORD as `command`'s job would have them."""
        user = self.for_command(command)
        if user is not None:
            monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", user[0])
            monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", user[1])


def sqlite_origin(tmp: Path, repo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A bare `origin` of `repo`, and one SQLite MLflow store (a copy of repo's) shared by every clone."""
    shared = tmp / "shared"
    shared.mkdir()
    shutil.copy(repo / ".mlpin" / "mlflow.db", shared / "mlflow.db")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{shared / 'mlflow.db'}")
    monkeypatch.setenv("MLPIN_ARTIFACT_URI", (shared / "artifacts").as_uri())
    return bare_origin(tmp, repo)


def bare_origin(tmp: Path, repo: Path) -> Path:
    """`tmp/origin.git`: a bare clone of `repo`, playing GitHub's git."""
    origin = tmp / "origin.git"
    git(tmp, "clone", "-q", "--bare", str(repo), str(origin))
    return origin


MODEL = "wine_logreg"


class Loop:
    """The developer's clone, the runner's clone and the shared services."""

    def __init__(self, tmp: Path, origin: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, *,
                 credentials: Credentials | None = None) -> None:
        """Clones of `origin`; MLflow is whatever the environment names (MLFLOW_TRACKING_URI).
        With `credentials`, each command runs as its workflow's MLflow user would."""
        self.capsys, self.monkeypatch, self.credentials = capsys, monkeypatch, credentials
        self.forge_dir = tmp / "forge"
        monkeypatch.setenv("MLPIN_FORGE_DIR", str(self.forge_dir))
        self.origin = origin
        self.dev, self.runner = tmp / "dev", tmp / "runner"
        for clone in (self.dev, self.runner):
            git(tmp, "clone", "-q", str(self.origin), str(clone))

    def mlpin(self, where: Path, *args: str) -> tuple[int, dict]:
        """One mlpin command in a clone; its exit code and JSON result."""
        if self.credentials is not None:
            self.credentials.use(args[0], self.monkeypatch)
        self.capsys.readouterr()
        code = main([*args, "--repo", str(where), "--json", "--quiet"])
        out = self.capsys.readouterr().out
        return code, json.loads(out) if out.strip() else {}

    def checkout(self, branch: str) -> str:
        """What actions/checkout does on the runner: the branch as origin has it."""
        git(self.runner, "fetch", "-q", "origin", "--prune", "+refs/heads/*:refs/remotes/origin/*")
        git(self.runner, "checkout", "-q", "-B", branch, f"origin/{branch}")
        return git(self.runner, "rev-parse", "HEAD")

    def open_pr(self, branch: str, description: str) -> str:
        """A developer's PR that edits the model's description (a new spec hash, the same model)."""
        git(self.dev, "switch", "-q", "-c", branch, "origin/main")
        spec = self.dev / "models" / f"{MODEL}.yaml"
        spec.write_text(spec.read_text().replace("Cultivar", f"{description} Cultivar"))
        commit_all(self.dev, f"{branch}: describe")
        git(self.dev, "push", "-q", "origin", branch)
        git(self.dev, "switch", "-q", "main")
        code, pr = self.mlpin(self.dev, "forge", "open", branch)
        assert code == 0
        return pr["number"]

    def merge(self, pr: str, when: str) -> str:
        """A reviewer presses merge at `when`; returns the merge commit."""
        self.monkeypatch.setenv("GIT_COMMITTER_DATE", when)
        code, merged = self.mlpin(self.dev, "forge", "merge", pr)
        self.monkeypatch.delenv("GIT_COMMITTER_DATE")
        assert code == 0, merged
        return merged["merge_commit"]

    def promote(self, description: str, when: str) -> tuple[str, str]:
        """Spec PR -> candidate -> merge -> propose -> verify; returns (promotion PR, version)."""
        pr = self.open_pr(f"pr-{description}", description)
        self.checkout(f"pr-{description}")
        code, run = self.mlpin(self.runner, "candidate", "--base", "origin/main", "--pr", pr)
        assert code == 0, run["outcomes"]
        (comment,) = LocalForge(self.runner, folder=self.forge_dir).comments(pr)
        assert comment.read_text().startswith(f"<!-- mlpin:candidate:{MODEL} -->")
        self.merge(pr, when)
        self.checkout("main")
        code, proposed = self.mlpin(self.runner, "propose")
        outcomes = {o["model"]: o for o in proposed["outcomes"]}
        assert code == 0 and outcomes[MODEL]["outcome"] == "proposed", proposed
        # the sample pins nothing: every other model gets (or keeps) its first promotion PR
        assert {o["outcome"] for m, o in outcomes.items() if m != MODEL} <= {"proposed", "pending", "refreshed"}
        body = LocalForge(self.runner, folder=self.forge_dir).pull(outcomes[MODEL]["pr"]).body
        assert "✅ Rebuilt by `mlpin propose` from the merged commit: the artifact digest and every metric match" \
            in body, "training is reproducible: the trusted rebuild is what the PR reported"
        self.checkout(f"promote/{MODEL}")
        code, verified = self.mlpin(self.runner, "verify", "--base", "origin/main")
        assert code == 0 and verified["changes"], verified
        return outcomes[MODEL]["pr"], outcomes[MODEL]["version"]

    def deploy(self, ref: str = "main") -> dict:
        self.checkout(ref) if ref == "main" else git(self.runner, "checkout", "-q", "--detach", ref)
        code, run = self.mlpin(self.runner, "deploy")
        assert code == 0, run
        return run

    def alias(self) -> int | None:
        from pipelines.adapters.registry import Registry

        if self.credentials is not None:
            self.credentials.use("verify", self.monkeypatch)
        return Registry(self.runner).alias_version(MODEL, "production")

    def pinned(self) -> int | None:
        entry = yaml.safe_load((self.runner / "models" / "production.yaml").read_text())["models"].get(MODEL)
        return entry and entry["version"]
