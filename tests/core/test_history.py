"""Production history from pin snapshots and deployment records: what was pinned and
what was deployed at a time, and what is said when they (or what answered) disagree."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from pipelines.core.answered import Answered, LoggedRequest
from pipelines.core.errors import InvalidInput
from pipelines.core.history import (
    DeployRecord,
    PinEvent,
    PinSnapshot,
    UnreadableRecord,
    answered_disagreements,
    deploy_record,
    deployed_at_time,
    disagreements,
    parse_time,
    pin_events,
    pinned_at,
    unlogged_since,
    with_deployments,
)
from pipelines.core.schemas import PinnedModel, ProductionPins


def entry(version: int, **extra) -> PinnedModel:
    return PinnedModel(
        version=version, run_id="r", artifact_sha256="a" * 64, spec_hash="b" * 64, data_sha256="c" * 64, **extra
    )


def snap(day: int, models: dict | None) -> PinSnapshot:
    pins = None if models is None else ProductionPins(models=models)
    return PinSnapshot(commit=f"{day:040d}", time=datetime(2026, 1, day, tzinfo=UTC), committer="dev", pins=pins)


SNAPSHOTS = [
    snap(1, {}),                                              # the empty pin file
    snap(2, {"m": entry(1)}),                                 # first promotion
    snap(3, {"m": entry(1), "other": entry(5)}),              # another model: no event for m
    snap(4, None),                                            # a pin that did not validate: skipped
    snap(5, {"m": entry(2)}),                                 # promotion
    snap(6, {"m": entry(2, suspend=True)}),                   # frozen
    snap(7, {}),                                              # unpinned
]


def test_events_are_changes_of_this_models_entry() -> None:
    events = pin_events("m", SNAPSHOTS)
    assert [(e.commit[-1], e.change, e.previous, e.version) for e in events] == [
        ("2", "pinned", None, 1), ("5", "replaced", 1, 2), ("6", "edited", 2, 2), ("7", "removed", 2, None),
    ]


@pytest.mark.parametrize(("when", "expected"), [
    ("2026-01-01T12:00:00+00:00", None),
    ("2026-01-02T00:00:00+00:00", 1),       # at the commit's own second
    ("2026-01-04T23:59:59", 1),             # naive times are UTC
    ("2026-01-05T01:00:00+02:00", 1),       # 23:00 UTC on the 4th
    ("2026-01-05T00:00:01Z", 2),
    ("2026-01-09", None),                   # unpinned by then
], ids=["before-anything", "exact", "naive-utc", "offset", "after-promotion", "after-removal"])
def test_pinned_at(when: str, expected: int | None) -> None:
    event = pinned_at(pin_events("m", SNAPSHOTS), parse_time(when))
    assert (event.version if event else None) == expected


def test_bad_time_says_how_to_write_one() -> None:
    with pytest.raises(InvalidInput, match="ISO 8601"):
        parse_time("last tuesday")


def record(n: int, commit: str, day: int, *, pinned: int | None, live: int | None, state: str = "deployed",
           reason: str | None = None) -> DeployRecord:
    return DeployRecord(id=str(n), commit=commit, time=datetime(2026, 1, day, 12, n, tzinfo=UTC), pinned=pinned,
                        live=live, state=state, reason=reason)


def commit(day: int) -> str:
    return f"{day:040d}"


RECORDS = [
    record(1, commit(2), 2, pinned=1, live=1),
    record(2, commit(3), 3, pinned=1, live=1),  # a deploy of another model's change: still v1
    record(3, commit(5), 5, pinned=2, live=1, state="failed", reason="the stored artifact's sha256 is wrong"),
    record(4, commit(5), 5, pinned=2, live=2),  # rerun after the registry was fixed
    record(5, "f" * 40, 5, pinned=9, live=9),  # deployed from another branch: on no event, still what was live
    record(6, commit(7), 7, pinned=None, live=None, state="removed"),
]


def test_deploy_runs_belong_to_the_entry_pinned_on_the_commit_they_deployed() -> None:
    events = with_deployments(pin_events("m", SNAPSHOTS), RECORDS, commits=[s.commit for s in SNAPSHOTS])
    assert [[r.id for r in e.deployments] for e in events] == [["1", "2"], ["3", "4"], [], ["6"]]
    assert [e.deployed_at for e in events] == [
        "2026-01-02T12:01:00+00:00", "2026-01-05T12:04:00+00:00", None, "2026-01-07T12:06:00+00:00",
    ], "deployed when the alias first held the pin, not when a deploy merely ran"


def pinned(version: int | None) -> PinEvent:
    return PinEvent(commit=commit(5), time=datetime(2026, 1, 5, tzinfo=UTC), change="replaced", version=version,
                    previous=1, entry=None)


@pytest.mark.parametrize(("pin", "deployed", "expected"), [
    (pinned(2), None, ["v2 was pinned, but no deployment was recorded yet"]),
    (pinned(2), RECORDS[1], ["pinned v2, deployed v1 (no deploy of this pin had run yet; the last one, at "
                             "2026-01-03T12:02:00+00:00, was of an earlier pin)"]),
    (pinned(2), RECORDS[2], ["pinned v2, deployed v1 (the stored artifact's sha256 is wrong)"]),
    (pinned(2), RECORDS[3], []),
    (pinned(2), record(7, commit(5), 6, pinned=2, live=2, state="failed", reason="artifact changed behind the alias"),
     ["v2 is behind the alias, but the last deploy found: artifact changed behind the alias"]),
    (pinned(None), RECORDS[5], []),
    (None, None, []),
], ids=["never-deployed", "deploy-not-run-yet", "deploy-failed", "agree", "changed-behind-the-alias",
        "unpinned-and-removed", "nothing-at-all"])
def test_disagreements_say_where_pin_and_deployment_differ(pin: PinEvent | None, deployed: DeployRecord | None,
                                                           expected: list[str]) -> None:
    found = disagreements(pin, deployed)
    assert len(found) == len(expected) and all(e in f for f, e in zip(found, expected, strict=False)), found


def hour(h: int, m: int = 0) -> datetime:
    return datetime(2026, 3, 2, h, m, tzinfo=UTC)


# v1 pinned 08:00, deployed 09:00; v2 pinned 09:50, deployed 10:00; v1 again (a rollback) deployed 11:00
TIMELINE_EVENTS = [
    PinEvent(commit="a" * 40, time=hour(8), change="pinned", version=1, previous=None, entry=None),
    PinEvent(commit="b" * 40, time=hour(9, 50), change="replaced", version=2, previous=1, entry=None),
]
TIMELINE_RECORDS = [
    DeployRecord(id="1", commit="a" * 40, time=hour(9), pinned=1, live=1, state="deployed"),
    DeployRecord(id="2", commit="b" * 40, time=hour(10), pinned=2, live=2, state="deployed"),
    DeployRecord(id="3", commit="c" * 40, time=hour(11), pinned=1, live=1, state="deployed"),
]


def request(name: str, when: datetime, version: int) -> LoggedRequest:
    return LoggedRequest(request_id=name, time=when, version=version)


@pytest.mark.parametrize(("before", "after", "when", "expected"), [
    (request("a", hour(9, 30), 1), None, hour(10, 30), []),
    (request("a", hour(9, 30), 1), request("b", hour(10, 45), 2), hour(10, 30), []),
    (request("a", hour(10, 15), 2), None, hour(10, 30), []),
    (request("a", hour(10, 15), 1), request("b", hour(10, 45), 1), hour(10, 30),
     ["request a (2026-03-02T10:15:00+00:00) was answered by v1, while v2 was deployed (deployment 2 at "
      "2026-03-02T10:00:00+00:00)"]),
    (request("a", hour(9, 30), 1), request("b", hour(10, 45), 1), hour(10, 30),
     ["request b (2026-03-02T10:45:00+00:00) was answered by v1, while v2 was deployed (deployment 2 at "
      "2026-03-02T10:00:00+00:00); it was the first request after 2026-03-02T10:30:00+00:00, and none came since "
      "the deployment: serving had not swapped yet"]),
    (None, request("b", hour(10, 45), 1), hour(10, 30), ["request b (2026-03-02T10:45:00+00:00) was answered by v1"]),
    (request("a", hour(9, 30), 1), request("b", hour(11, 30), 2), hour(10, 30), []),
    (request("a", hour(9, 30), 7), None, hour(10, 30),
     ["request a (2026-03-02T09:30:00+00:00) was answered by v7, while v1 was deployed (deployment 1 at "
      "2026-03-02T09:00:00+00:00)"]),
    (request("a", hour(8, 30), 1), request("b", hour(9, 30), 1), hour(8, 45), []),
    (request("a", hour(8, 30), 2), None, hour(8, 45),
     ["what answered disagrees with the pin: request a (2026-03-02T08:30:00+00:00) was answered by v2, while v1 "
      "was pinned (since aaaaaaaaaaaa at 2026-03-02T08:00:00+00:00), none deployed"]),
    (request("a", hour(7), 1), None, hour(7, 30), ["answered by v1, while nothing was pinned"]),
    (request("a", hour(8, 30), 1), request("b", hour(9, 15), 1), hour(9, 5), []),
    (request("a", hour(10, 30), 1), None, hour(10, 30), ["request a (2026-03-02T10:30:00+00:00) was answered by v1"]),
    (request("a", hour(10, 15), 1), None, datetime(2026, 3, 2, 12, 30, tzinfo=timezone(timedelta(hours=2))),
     ["request a (2026-03-02T10:15:00+00:00) was answered by v1, while v2 was deployed"]),
], ids=["last-request-predates-the-deployment", "swapped-by-the-first-after", "request-since-the-deployment-agrees",
        "request-since-the-deployment-disagrees", "not-swapped-yet-seen-after", "not-swapped-yet-nothing-before",
        "first-after-a-later-deployment-says-nothing-of-t", "earlier-request-judged-at-its-own-time",
        "before-any-deployment-the-pin-agrees", "before-any-deployment-the-pin-disagrees", "before-anything-pinned",
        "first-deployment-after-the-last-request", "request-at-t-itself", "t-with-an-offset"])
def test_each_request_is_judged_against_what_was_in_force_at_its_own_time(
        before: LoggedRequest | None, after: LoggedRequest | None, when: datetime, expected: list[str]) -> None:
    answered = Answered(before=before, after=after)
    found = answered_disagreements(answered, when, events=TIMELINE_EVENTS, records=TIMELINE_RECORDS[::-1])
    assert len(found) == len(expected) and all(e in f for f, e in zip(found, expected, strict=False)), found


@pytest.mark.parametrize(("before", "deployed", "expected"), [
    (request("a", hour(9, 30), 1), TIMELINE_RECORDS[1], hour(10)),
    (None, TIMELINE_RECORDS[1], hour(10)),
    (request("a", hour(10), 2), TIMELINE_RECORDS[1], None),
    (request("a", hour(9, 30), 1), None, None),
], ids=["last-request-predates-it", "no-request-at-all", "request-since", "nothing-deployed"])
def test_unlogged_since_the_deployment_in_force(before: LoggedRequest | None, deployed: DeployRecord | None,
                                               expected: datetime | None) -> None:
    assert unlogged_since(Answered(before=before), deployed) == expected


@pytest.mark.parametrize(("when", "expected"), [
    (datetime(2026, 1, 1, tzinfo=UTC), None),
    (datetime(2026, 1, 5, 12, 3, 30, tzinfo=UTC), "3"),
    (datetime(2026, 1, 5, 12, 4, tzinfo=UTC), "4"),
    (datetime(2026, 1, 6), "5"),  # naive: UTC
], ids=["before-any", "between", "exact", "naive-utc"])
def test_deployed_at_time_is_the_newest_record_by_then(when: datetime, expected: str | None) -> None:
    found = deployed_at_time(RECORDS[::-1], when)
    assert (found.id if found else None) == expected


GOOD = {"pinned": 2, "live": 2, "state": "deployed"}


@pytest.mark.parametrize(("payload", "state", "expected"), [
    ({"models": {"m": GOOD}}, "success", "deployed"),
    ({"models": {"other": GOOD}}, "success", "removed"),
    ({"models": {"m": GOOD, "other": {"pinned": "x"}}}, "success", "deployed"),
    ({"models": {"other": {"pinned": "x"}}}, "success", "removed"),
    ({"models": {"m": 2}}, "pending", None),
    ({"ref": "main"}, "success", None),
    ({"models": {"m": {"pinned": "x"}}}, "success", ["models.m: pinned: Input should be a valid integer"]),
    ({"models": {"m": {"live": 2}}}, "failure", ["models.m: pinned: Field required; state: Field required"]),
    ({"models": {"m": "garbage"}}, "success", ["models.m: not a mapping"]),
    ({"models": {"m": True}}, "success", ["models.m: not a mapping"]),
    ({"models": "m"}, "success", ["models: not a mapping"]),
], ids=["deployed", "left-out-is-removed", "another-models-entry-unreadable", "left-out-beside-an-unreadable-entry",
        "old-format-not-a-success", "another-tools-record", "pinned-not-a-version", "fields-missing",
        "entry-not-a-mapping", "entry-true", "models-not-a-mapping"])
def test_a_record_that_cannot_be_read_says_nothing_and_says_why(payload: dict, state: str, expected) -> None:
    found = deploy_record("m", id="9", commit=commit(5), time=datetime(2026, 1, 5), payload=payload, state=state)
    if isinstance(expected, list):
        assert isinstance(found, UnreadableRecord) and found.id == "9" and found.time.tzinfo is not None
        assert len(found.problems) == len(expected) and all(
            p.startswith(e) for p, e in zip(found.problems, expected, strict=True)), found.problems
    else:
        assert (found.state if isinstance(found, DeployRecord) else found) == expected
