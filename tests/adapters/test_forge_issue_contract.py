"""The forge's issues (the alerting channel of scheduled checks), run against both forges:
the local one (files) and GitHub's (PyGithub against the local fake of the REST API).
Both must find mlpin's issue by fingerprint AND author across every page, open or closed,
open it once (a rerun changes nothing), reopen a closed one, never touch someone else's,
and post a comment once however often a run is retried."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pipelines.adapters.localforge import MLPIN_AUTHOR, LocalForge
from pipelines.core.errors import InvalidInput

WINE = "<!-- mlpin:drift:wine_logreg -->"
CANCER = "<!-- mlpin:drift:cancer -->"


@dataclass(frozen=True)
class Tracker:
    """A forge, and what people do with its issues beside mlpin."""

    forge: Any
    me: str  # the author of mlpin's own issues and comments on this forge
    plant: Callable[..., str]  # (title, body, *, login, state="open"): an issue as `login` opened it -> its number
    say: Callable[[str, str, str], None]  # (number, login, body): someone comments on an issue
    stored: Callable[[str], dict]  # what the forge holds of an issue: state, title, body, labels, author
    count: Callable[[], int]  # how many issues the forge holds, whoever opened them
    thread: Callable[[str], list[tuple[str, str]]]  # every comment of an issue as (author, body), oldest first


@pytest.fixture(params=["local", "github"])
def tracker(request, tmp_path: Path) -> Tracker:
    if request.param == "local":
        forge = LocalForge(tmp_path)

        def stored(number: str) -> dict:
            issue = forge.issue(number)
            return {"state": issue.state, "title": issue.title, "body": issue.body, "labels": issue.labels,
                    "author": issue.author}

        def thread(number: str) -> list[tuple[str, str]]:
            import json

            return [(json.loads(p.with_suffix(".json").read_text())["author"], p.read_text())
                    for p in forge.issue_comment_files(number)]

        return Tracker(
            forge, MLPIN_AUTHOR,
            lambda title, body, *, login, state="open": str(forge.add_issue(title=title, body=body, author=login,
                                                                            state=state).number),
            lambda number, login, body: forge.add_issue_comment(number, body, author=login) and None,
            stored, lambda: len(forge.issues()), thread)
    fake = request.getfixturevalue("fake_github")

    def stored_on_github(number: str) -> dict:
        issue = fake.issues[int(number)]
        return {"state": issue["state"], "title": issue["title"], "body": issue["body"], "labels": issue["labels"],
                "author": issue["user"]["login"]}

    return Tracker(
        request.getfixturevalue("github_forge"), fake.login,
        lambda title, body, *, login, state="open": str(fake.add_issue(title, body, login=login, state=state)),
        lambda number, login, body: fake.add_comment(int(number), body, login=login) and None,
        stored_on_github, lambda: len(fake.issues),
        lambda number: [(c["user"]["login"], c["body"]) for c in fake.comments.get(int(number), [])])


def test_open_issue_opens_once_and_a_rerun_changes_nothing(tracker: Tracker) -> None:
    forge = tracker.forge
    assert forge.find_issue(WINE) is None
    first = forge.open_issue(fingerprint=WINE, title="wine_logreg drifted", body=f"{WINE}\npsi 0.31",
                             labels=["mlpin-drift", "wine_logreg"])
    again = forge.open_issue(fingerprint=WINE, title="wine_logreg drifted", body=f"{WINE}\npsi 0.31",
                             labels=["mlpin-drift", "wine_logreg"])
    edited = forge.open_issue(fingerprint=WINE, title="wine_logreg drifted", body=f"{WINE}\npsi 0.42",
                              labels=["mlpin-drift"])
    assert [(r.created, r.changed) for r in (first, again, edited)] == [(True, True), (False, False), (False, True)]
    assert first.number == again.number == edited.number and first.state == "open"
    assert tracker.count() == 1
    assert tracker.stored(first.number) == {"state": "open", "title": "wine_logreg drifted",
                                            "body": f"{WINE}\npsi 0.42", "labels": ["mlpin-drift", "wine_logreg"],
                                            "author": tracker.me}, "labels asked for are set; none is taken away"
    found = forge.find_issue(WINE)
    assert (found.number, found.state, found.body, found.title) == (first.number, "open", f"{WINE}\npsi 0.42",
                                                                    "wine_logreg drifted")


def test_an_issue_beyond_the_first_page_is_found(tracker: Tracker) -> None:
    mine = tracker.plant("wine_logreg drifted", f"{WINE}\nold", login=tracker.me)
    for index in range(120):  # more than a page of 100, all newer than mlpin's
        tracker.plant(f"model {index} drifted", f"<!-- mlpin:drift:m{index} -->\nx", login=tracker.me)
    found = tracker.forge.find_issue(WINE)
    assert found is not None and found.number == mine
    ref = tracker.forge.open_issue(fingerprint=WINE, title="wine_logreg drifted", body=f"{WINE}\nold", labels=[])
    assert (ref.number, ref.created, ref.changed) == (mine, False, False)
    assert tracker.count() == 121


def test_a_closed_issue_is_found_and_reopened_not_duplicated(tracker: Tracker) -> None:
    closed = tracker.plant("wine_logreg drifted", f"{WINE}\nlast week", login=tracker.me, state="closed")
    found = tracker.forge.find_issue(WINE)
    assert (found.number, found.state) == (closed, "closed")
    ref = tracker.forge.open_issue(fingerprint=WINE, title="wine_logreg drifted", body=f"{WINE}\nagain",
                                   labels=["mlpin-drift"])
    assert (ref.number, ref.created, ref.changed, ref.state) == (closed, False, True, "open")
    assert tracker.stored(closed)["state"] == "open" and tracker.count() == 1


def test_of_several_closed_ones_the_most_recently_updated(tracker: Tracker) -> None:
    tracker.plant("older", f"{WINE}\n1", login=tracker.me, state="closed")
    newer = tracker.plant("newer", f"{WINE}\n2", login=tracker.me, state="closed")
    tracker.plant("cancer", f"{CANCER}\n3", login=tracker.me, state="closed")
    assert tracker.forge.find_issue(WINE).number == newer


def test_of_several_the_open_one(tracker: Tracker) -> None:
    tracker.plant("older, closed", f"{WINE}\n1", login=tracker.me, state="closed")
    opened = tracker.plant("open", f"{WINE}\n2", login=tracker.me)
    tracker.plant("newest, closed", f"{WINE}\n3", login=tracker.me, state="closed")
    assert tracker.forge.find_issue(WINE).number == opened


def test_someone_elses_issue_is_never_found_or_edited(tracker: Tracker) -> None:
    planted = tracker.plant("wine_logreg is fine", f"{WINE}\nall clear, close your alerts", login="mallory")
    before = tracker.stored(planted)
    assert tracker.forge.find_issue(WINE) is None
    ref = tracker.forge.open_issue(fingerprint=WINE, title="wine_logreg drifted", body=f"{WINE}\npsi 0.31",
                                   labels=["mlpin-drift"])
    assert ref.created and ref.number != planted
    assert tracker.stored(planted) == before, "someone else's issue is left as it was"
    assert tracker.forge.find_issue(WINE).number == ref.number


def test_a_body_without_its_fingerprint_is_refused(tracker: Tracker) -> None:
    with pytest.raises(InvalidInput, match="fingerprint"):
        tracker.forge.open_issue(fingerprint=WINE, title="t", body="no marker", labels=[])
    assert tracker.count() == 0


def test_a_comment_is_posted_once_however_often_the_run_is_retried(tracker: Tracker) -> None:
    forge = tracker.forge
    number = forge.open_issue(fingerprint=WINE, title="wine_logreg drifted", body=f"{WINE}\nx", labels=[]).number
    drifted, clean = "<!-- mlpin:drift-check -->\ndrifted on 11-23", "<!-- mlpin:drift-check -->\nclean on 11-24"
    forge.comment_issue(number, drifted)
    forge.comment_issue(number, drifted)
    tracker.say(number, "bob", "looking into it")
    forge.comment_issue(number, drifted)  # mlpin's newest is still this one: a retry
    forge.comment_issue(number, clean)
    forge.comment_issue(number, drifted)  # a new finding after a clean check
    assert forge.issue_comments(number) == [drifted, clean, drifted]
    assert tracker.thread(number) == [(tracker.me, drifted), ("bob", "looking into it"), (tracker.me, clean),
                                      (tracker.me, drifted)]


def test_issue_comments_are_mlpins_own_across_every_page(tracker: Tracker) -> None:
    number = tracker.plant("wine_logreg drifted", f"{WINE}\nx", login=tracker.me)
    tracker.say(number, tracker.me, "<!-- mlpin:drift-check -->\nclean 1")
    for index in range(105):
        tracker.say(number, "bob", f"<!-- mlpin:drift-check -->\nreply {index}")
    tracker.say(number, tracker.me, "<!-- mlpin:drift-check -->\nclean 2")
    assert tracker.forge.issue_comments(number) == ["<!-- mlpin:drift-check -->\nclean 1",
                                                    "<!-- mlpin:drift-check -->\nclean 2"]


def test_close_issue_comments_once_and_closes_once(tracker: Tracker) -> None:
    forge = tracker.forge
    number = forge.open_issue(fingerprint=WINE, title="wine_logreg drifted", body=f"{WINE}\nx", labels=[]).number
    note = "<!-- mlpin:drift-check -->\nclean for 3 checks: closing"
    assert forge.close_issue(number, comment=note) is True
    assert forge.close_issue(number, comment=note) is False, "a rerun changes nothing"
    assert tracker.stored(number)["state"] == "closed"
    assert tracker.thread(number) == [(tracker.me, note)]
    assert forge.find_issue(WINE).state == "closed"
    again = forge.open_issue(fingerprint=WINE, title="wine_logreg drifted", body=f"{WINE}\ny", labels=[])
    assert (again.number, again.created, again.state) == (number, False, "open"), "drift again: the same issue"


def test_issues_and_pull_requests_share_one_number_space(tracker: Tracker) -> None:
    forge = tracker.forge
    pull = forge.open_pull(head="promote/wine", base="main", title="promote wine v1", body="")
    issue = forge.open_issue(fingerprint=WINE, title="wine_logreg drifted", body=f"{WINE}\nx", labels=[])
    other = forge.open_issue(fingerprint=CANCER, title="cancer drifted", body=f"{CANCER}\nx", labels=[])
    assert len({pull.number, issue.number, other.number}) == 3
    assert forge.find_issue(CANCER).number == other.number
