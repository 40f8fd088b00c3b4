"""The whole GitOps loop, with the command sequence the workflows run.

A bare `origin` plays GitHub's git; a developer clone pushes branches and merges PRs
on the local forge (shared by every clone through MLPIN_FORGE_DIR, as GitHub is); a
runner clone plays the Actions runner, checking out what each workflow would and
running one mlpin command. MLflow is one SQLite store shared by both, like a server.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from pipelines.adapters.localforge import LocalForge
from pipelines.cli import main
from tests.helpers import commit_all, ctx, git

MODEL = "wine_logreg"


class Loop:
    """The developer's clone, the runner's clone and the shared services."""

    def __init__(self, tmp: Path, repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
        self.capsys, self.monkeypatch = capsys, monkeypatch
        shared = tmp / "shared"
        shared.mkdir()
        shutil.copy(repo / ".mlpin" / "mlflow.db", shared / "mlflow.db")
        monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{shared / 'mlflow.db'}")
        monkeypatch.setenv("MLPIN_ARTIFACT_URI", (shared / "artifacts").as_uri())
        self.forge_dir = shared / "forge"
        monkeypatch.setenv("MLPIN_FORGE_DIR", str(self.forge_dir))
        self.origin = tmp / "origin.git"
        git(tmp, "clone", "-q", "--bare", str(repo), str(self.origin))
        self.dev, self.runner = tmp / "dev", tmp / "runner"
        for clone in (self.dev, self.runner):
            git(tmp, "clone", "-q", str(self.origin), str(clone))

    def mlpin(self, where: Path, *args: str) -> tuple[int, dict]:
        """One mlpin command in a clone; its exit code and JSON result."""
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

        return Registry(self.runner).alias_version(MODEL, "production")

    def pinned(self) -> int | None:
        entry = yaml.safe_load((self.runner / "models" / "production.yaml").read_text())["models"].get(MODEL)
        return entry and entry["version"]


@pytest.fixture
def loop(tmp_path: Path, repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> Loop:
    return Loop(tmp_path, repo, monkeypatch, capsys)


def test_promote_revert_and_history(loop: Loop) -> None:
    first_pr, v1 = loop.promote("first", "2026-01-05T10:00:00+00:00")
    diff = git(loop.runner, "diff", "--name-only", "origin/main", f"origin/promote/{MODEL}")
    assert diff == "models/production.yaml", "a promotion PR changes only the pin"
    loop.merge(first_pr, "2026-01-05T11:00:00+00:00")
    run = loop.deploy()
    assert loop.alias() == v1 == loop.pinned()
    assert run["pr"] == first_pr and run["approver"] == "Test User" and run["deployment_created"]
    again = loop.deploy()
    assert [m["outcome"] for m in again["outcomes"]] == ["unchanged"] and not again["deployment_created"]

    second_pr, v2 = loop.promote("second", "2026-02-01T10:00:00+00:00")
    assert v2 > v1
    promotion_merge = loop.merge(second_pr, "2026-02-01T11:00:00+00:00")
    loop.deploy()
    assert loop.alias() == v2

    # rollback by hand: git revert of the promotion merge, pushed straight to main
    loop.monkeypatch.setenv("GIT_COMMITTER_DATE", "2026-03-01T09:00:00+00:00")
    git(loop.dev, "pull", "-q", "--ff-only")
    git(loop.dev, "revert", "--no-edit", "-m", "1", promotion_merge)
    git(loop.dev, "push", "-q", "origin", "main")
    loop.monkeypatch.delenv("GIT_COMMITTER_DATE")
    reverted = loop.deploy()
    assert loop.alias() == v1 == loop.pinned()
    assert reverted["pr"] is None and "direct push" in reverted["approver"]

    answers = {}
    for when in ("2026-01-01T00:00:00Z", "2026-01-20T00:00:00Z", "2026-02-15T00:00:00Z", "2026-03-02T00:00:00Z"):
        code, found = loop.mlpin(loop.runner, "history", MODEL, "--at", when)
        assert code == 0
        answers[when[:10]] = found["at_event"] and found["at_event"]["version"]
    assert answers == {"2026-01-01": None, "2026-01-20": v1, "2026-02-15": v2, "2026-03-02": v1}
    events = found["events"]
    assert [(e["change"], e["pr"]) for e in events] == [
        ("pinned", first_pr),
        ("replaced", second_pr),
        ("replaced", None),
    ]
    assert all(e["deployed_at"] for e in events)


def test_bad_pins_fail_verify_and_back_to_back_merges_converge(loop: Loop) -> None:
    first_pr, v1 = loop.promote("first", "2026-01-05T10:00:00+00:00")
    loop.merge(first_pr, "2026-01-05T11:00:00+00:00")
    second_pr, v2 = loop.promote("second", "2026-02-01T10:00:00+00:00")

    # hand-edited pins: an unknown version, then a wrong digest
    for field, value, reason in (("version", 99, "is not registered"), ("artifact_sha256", "0" * 64, "sha256")):
        git(loop.runner, "checkout", "-q", "-B", f"bad-{field}", "origin/main")
        pin_path = loop.runner / "models" / "production.yaml"
        doc = yaml.safe_load(pin_path.read_text())
        doc["models"][MODEL][field] = value
        pin_path.write_text(yaml.safe_dump(doc))
        commit_all(loop.runner, f"hand edit {field}")
        code, _ = loop.mlpin(loop.runner, "verify", "--base", "origin/main")
        assert code == 2
        from pipelines.stages.verify import verify

        problems = verify(ctx(loop.runner), base="origin/main").problems
        assert problems and all(reason in p or "registry records" in p for p in problems), problems

    # two promotions merged before any deploy runs: v2, then a rollback PR back to v1
    merge_a = loop.merge(second_pr, "2026-02-01T11:00:00+00:00")
    loop.checkout("main")
    code, rolled = loop.mlpin(loop.runner, "rollback", MODEL)
    assert code == 0 and (rolled["from_version"], rolled["to_version"]) == (v2, v1)
    loop.checkout(f"rollback/{MODEL}")
    code, verified = loop.mlpin(loop.runner, "verify", "--base", "origin/main")
    assert code == 0 and any("rollback" in n for n in verified["notes"])
    merge_b = loop.merge(rolled["pr"], "2026-02-02T11:00:00+00:00")
    loop.deploy(merge_a)
    assert loop.alias() == v2
    loop.deploy()
    assert loop.alias() == v1 == loop.pinned()
    from pipelines.adapters.registry import Registry

    tags = Registry(loop.runner).version_tags(MODEL, v1)
    assert tags["mlpin.deployed_commit"] == merge_b and tags["mlpin.deployed_pr"] == rolled["pr"]
