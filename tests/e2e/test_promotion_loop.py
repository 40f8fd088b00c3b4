"""The whole GitOps loop, with the command sequence the workflows run.

A bare `origin` plays GitHub's git; a developer clone pushes branches and merges PRs
on the local forge (shared by every clone through MLPIN_FORGE_DIR, as GitHub is); a
runner clone plays the Actions runner, checking out what each workflow would and
running one mlpin command. MLflow is one SQLite store shared by both, like a server
(tests/e2e/test_team_stack.py plays the same loop against a real one).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.e2e.helpers import MODEL, Loop, sqlite_origin
from tests.helpers import commit_all, ctx, git


@pytest.fixture
def loop(tmp_path: Path, repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> Loop:
    return Loop(tmp_path, sqlite_origin(tmp_path, repo, monkeypatch), monkeypatch, capsys)


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
