"""The forge contract, run against both forges: the local one (files) and GitHub's
(PyGithub against the local fake of the REST API). Both must open PRs idempotently,
name who merged a commit, and record one deployment per commit and result (a rerun with
the same result adds nothing; a different one is a new record, newest first)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pipelines.adapters.localforge import LocalForge

SHA = "a" * 40


@pytest.fixture(params=["local", "github"])
def forge_and_merge(request, tmp_path: Path) -> tuple[object, Callable[[str, str], None]]:
    """A forge, and how a reviewer merges PR `number` into commit SHA on it."""
    if request.param == "local":
        forge = LocalForge(tmp_path)
        return forge, lambda number, login: forge.record_merge(number, merge_commit=SHA, approver=login)
    fake = request.getfixturevalue("fake_github")
    forge = request.getfixturevalue("github_forge")
    return forge, lambda number, login: fake.merge(int(number), sha=SHA, login=login)


def test_open_pull_is_idempotent_per_branch(forge_and_merge) -> None:
    forge, _ = forge_and_merge
    first = forge.open_pull(head="promote/wine", base="main", title="promote wine v1", body="one")
    again = forge.open_pull(head="promote/wine", base="main", title="promote wine v1", body="one")
    edited = forge.open_pull(head="promote/wine", base="main", title="promote wine v2", body="two")
    other = forge.open_pull(head="promote/cancer", base="main", title="promote cancer v1", body="x")
    assert (first.created, again.created, again.changed, edited.created, edited.changed) == (
        True,
        False,
        False,
        False,
        True,
    )
    assert first.number == again.number == edited.number != other.number
    assert forge.open_pull_for("promote/wine").number == first.number
    assert forge.open_pull_for("promote/unknown") is None


def test_merged_pull_names_the_approver(forge_and_merge) -> None:
    forge, merge = forge_and_merge
    pull = forge.open_pull(head="promote/wine", base="main", title="promote wine v1", body="")
    assert forge.merged_pull(SHA) is None
    merge(pull.number, "reviewer")
    assert forge.open_pull_for("promote/wine") is None, "a merged PR is not open"
    found = forge.merged_pull(SHA)
    assert (found.pr, found.approver) == (pull.number, "reviewer") and found.merged_at
    reopened = forge.open_pull(head="promote/wine", base="main", title="promote wine v2", body="")
    assert reopened.created and reopened.number != pull.number, "a merged PR is not reused"


def wine(state: str, *, pinned: int, live: int | None, reason: str | None = None) -> dict:
    """A deployment payload as deploy writes it, for one model."""
    found = {"pinned": pinned, "live": live, "state": state, **({"reason": reason} if reason else {})}
    return {"pr": None, "models": {"wine": found}}


def test_one_deployment_per_commit_and_result(forge_and_merge) -> None:
    forge, _ = forge_and_merge

    def record(sha: str, payload: dict, state: str, description: str):
        return forge.record_deployment(sha=sha, environment="production", description=description, payload=payload,
                                       state=state)

    first = record(SHA, wine("deployed", pinned=1, live=1), "success", "production: wine v1")
    again = record(SHA, wine("deployed", pinned=1, live=1), "success", "production: wine v1")
    failed = record("b" * 40, wine("failed", pinned=2, live=1, reason="sha256"), "failure", "not deployed: wine v2")
    retried = record("b" * 40, wine("failed", pinned=2, live=1, reason="sha256"), "failure", "not deployed: wine v2")
    fixed = record("b" * 40, wine("deployed", pinned=2, live=2), "success", "production: wine v2")
    assert [d.created for d in (first, again, failed, retried, fixed)] == [True, False, True, False, True]
    assert first.id == again.id and failed.id == retried.id != fixed.id, "same result: same record"
    assert (failed.state, fixed.state, fixed.description) == ("failure", "success", "production: wine v2")
    listed = forge.deployments("production")
    assert [(d.sha[0], d.state, d.payload["models"]["wine"]["live"], d.description) for d in listed] == [
        ("b", "success", 2, "production: wine v2"),
        ("b", "failure", 1, "not deployed: wine v2"),
        ("a", "success", 1, "production: wine v1"),
    ], "newest first; the failure stays in the record"
    assert listed[0].created_at >= listed[-1].created_at


def test_comment_markers_name_mlpins_comments_only_oldest_first(forge_and_merge) -> None:
    forge, _ = forge_and_merge
    assert forge.comment_markers("7") == []
    wine, none = "<!-- mlpin:candidate:wine -->", "<!-- mlpin:candidate:none -->"
    forge.upsert_comment("7", wine, f"{wine}\nwine v1: passed")
    forge.upsert_comment("7", "<!-- someone else -->", "<!-- someone else -->\nhello")
    forge.upsert_comment("7", none, f"{none}\nnot evaluated")
    forge.upsert_comment("7", wine, f"{wine}\nwine v2: passed")
    assert forge.comment_markers("7") == [wine, none]
