"""The forge contract, run against both forges: the local one (files) and GitHub's
(PyGithub against the local fake of the REST API). Both must open PRs idempotently,
name who merged a commit, and record one deployment per commit."""

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


def test_one_deployment_per_commit(forge_and_merge) -> None:
    forge, _ = forge_and_merge
    first = forge.record_deployment(
        sha=SHA, environment="production", description="wine v1", payload={"models": {"wine": 1}}
    )
    again = forge.record_deployment(
        sha=SHA, environment="production", description="wine v1", payload={"models": {"wine": 1}}
    )
    later = forge.record_deployment(
        sha="b" * 40, environment="production", description="wine v2", payload={"models": {"wine": 2}}
    )
    assert (first.created, again.created, later.created) == (True, False, True) and first.id == again.id
    listed = forge.deployments("production")
    assert [(d.sha, d.state, d.payload["models"]["wine"]) for d in listed] == [
        ("b" * 40, "success", 2),
        (SHA, "success", 1),
    ]


def test_comment_markers_name_mlpins_comments_only_oldest_first(forge_and_merge) -> None:
    forge, _ = forge_and_merge
    assert forge.comment_markers("7") == []
    wine, none = "<!-- mlpin:candidate:wine -->", "<!-- mlpin:candidate:none -->"
    forge.upsert_comment("7", wine, f"{wine}\nwine v1: passed")
    forge.upsert_comment("7", "<!-- someone else -->", "<!-- someone else -->\nhello")
    forge.upsert_comment("7", none, f"{none}\nnot evaluated")
    forge.upsert_comment("7", wine, f"{wine}\nwine v2: passed")
    assert forge.comment_markers("7") == [wine, none]
