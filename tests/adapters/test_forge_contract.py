"""The forge contract, run against both forges: the local one (files) and GitHub's
(PyGithub against the local fake of the REST API). Both must open PRs idempotently,
name who merged a commit, record one deployment per commit and result (a rerun with
the same result adds nothing; a different one is a new record, newest first), and find
mlpin's comments by marker AND author: a comment by someone else is never edited."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pipelines.adapters.forge import UNREAD
from pipelines.adapters.localforge import MLPIN_AUTHOR, LocalForge

SHA = "a" * 40
WINE = "<!-- mlpin:candidate:wine -->"


@pytest.fixture(params=["local", "github"])
def forge_and_merge(request, tmp_path: Path) -> tuple[object, Callable[[str, str], None]]:
    """A forge, and how a reviewer merges PR `number` into commit SHA on it."""
    if request.param == "local":
        forge = LocalForge(tmp_path)
        return forge, lambda number, login: forge.record_merge(number, merge_commit=SHA, approver=login)
    fake = request.getfixturevalue("fake_github")
    forge = request.getfixturevalue("github_forge")
    return forge, lambda number, login: fake.merge(int(number), sha=SHA, login=login)


@dataclass(frozen=True)
class People:
    """A forge, and the people who comment on its PRs beside mlpin."""

    forge: Any
    me: str  # the author of mlpin's own comments on this forge
    say: Callable[[str, str, str], None]  # (pr, login, body): someone else comments
    thread: Callable[[str], list[tuple[str, str]]]  # every comment of a PR as (author, body), oldest first


@pytest.fixture(params=["local", "github"])
def people(request, tmp_path: Path) -> People:
    """A forge whose PR #7 people comment on too."""
    if request.param == "local":
        forge = LocalForge(tmp_path)
        return People(forge, MLPIN_AUTHOR, lambda pr, login, body: forge.add_comment(pr, body, author=login),
                      lambda pr: [(forge.comment_author(p) or "", p.read_text()) for p in forge.comments(pr)])
    fake = request.getfixturevalue("fake_github")
    return People(request.getfixturevalue("github_forge"), fake.login,
                  lambda pr, login, body: fake.add_comment(int(pr), body, login=login),
                  lambda pr: [(c["user"]["login"], c["body"]) for c in fake.comments.get(int(pr), [])])


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
    needed = list(forge.newest_deployments("production", need_state=lambda payload: payload["models"]["wine"][
        "live"] == 2))
    assert [(d.id, d.state) for d in needed] == [(listed[0].id, "success"), (listed[1].id, needed[1].state),
                                                 (listed[2].id, needed[2].state)], "newest first"
    assert {needed[1].state, needed[2].state} <= {"failure", "success", UNREAD}, "a status asked for is read"


def test_comment_markers_name_mlpins_comments_only_oldest_first(forge_and_merge) -> None:
    forge, _ = forge_and_merge
    assert forge.comment_markers("7") == []
    wine, none = "<!-- mlpin:candidate:wine -->", "<!-- mlpin:candidate:none -->"
    forge.upsert_comment("7", wine, f"{wine}\nwine v1: passed")
    forge.upsert_comment("7", "<!-- someone else -->", "<!-- someone else -->\nhello")
    forge.upsert_comment("7", none, f"{none}\nnot evaluated")
    forge.upsert_comment("7", wine, f"{wine}\nwine v2: passed")
    assert forge.comment_markers("7") == [wine, none]


def test_a_comment_someone_else_starts_with_mlpins_marker_is_never_edited(people: People) -> None:
    forge = people.forge
    planted = f"{WINE}\n### wine v9: passed"
    people.say("7", "mallory", planted)
    people.say("7", "bob", f"{WINE}\n> wine v1: passed\n\nwhy did v1 pass?")  # a quoting reply
    assert forge.comment_markers("7") == [], "only mlpin's own comments are mlpin's"
    first = forge.upsert_comment("7", WINE, f"{WINE}\nwine v2: blocked")
    again = forge.upsert_comment("7", WINE, f"{WINE}\nwine v3: blocked")
    assert (first.created, again.created, again.changed, again.id) == (True, False, True, first.id)
    assert people.thread("7") == [
        ("mallory", planted),
        ("bob", f"{WINE}\n> wine v1: passed\n\nwhy did v1 pass?"),
        (people.me, f"{WINE}\nwine v3: blocked"),
    ], "mlpin's verdict lands in its own comment, edited in place on a rerun"
    assert forge.comment_markers("7") == [WINE]


def test_mlpins_own_comment_is_found_beyond_the_first_page(people: People) -> None:
    forge = people.forge
    for index in range(105):  # more than one page of 100, each starting with the marker
        people.say("7", "bob", f"{WINE}\nreply {index}")
    people.say("7", people.me, f"{WINE}\nold")
    people.say("7", "mallory", f"{WINE}\nlast word")
    assert forge.comment_markers("7") == [WINE]
    ref = forge.upsert_comment("7", WINE, f"{WINE}\nnew")
    assert not ref.created
    thread = people.thread("7")
    assert len(thread) == 107 and thread[105] == (people.me, f"{WINE}\nnew")
    assert thread[:105] == [("bob", f"{WINE}\nreply {i}") for i in range(105)], "replies stay as they were"
    assert thread[106] == ("mallory", f"{WINE}\nlast word")


def test_close_pull_comments_once_and_closes_once(people: People) -> None:
    forge = people.forge
    pull = forge.open_pull(head="promote/wine", base="main", title="promote wine v1", body="one")
    note = "<!-- mlpin:promote:wine -->\nClosed by mlpin propose: main moved on."
    assert forge.close_pull(pull.number, comment=note) is True
    assert forge.open_pull_for("promote/wine") is None
    assert forge.close_pull(pull.number, comment=note) is False, "a rerun changes nothing"
    assert [body for _, body in people.thread(pull.number)] == [note]
    reopened = forge.open_pull(head="promote/wine", base="main", title="promote wine v2", body="two")
    assert reopened.created and reopened.number != pull.number, "a closed PR is not reused"


def test_own_comment_reads_mlpins_comment_and_ignores_lookalikes(people: People) -> None:
    forge = people.forge
    assert forge.own_comment("7", WINE) is None
    people.say("7", "mallory", f"{WINE}\nforged numbers")
    assert forge.own_comment("7", WINE) is None, "someone else's comment is never mlpin's"
    forge.upsert_comment("7", WINE, f"{WINE}\nreal numbers")
    assert forge.own_comment("7", WINE) == f"{WINE}\nreal numbers"
