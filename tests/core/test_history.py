"""Production history from pin snapshots and deployment records: what was pinned and
what was deployed at a time, and what is said when they (or what answered) disagree."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipelines.core.answered import Answered, LoggedRequest
from pipelines.core.errors import InvalidInput
from pipelines.core.history import (
    DeployRecord,
    PinEvent,
    PinSnapshot,
    deployed_at_time,
    disagreements,
    parse_time,
    pin_events,
    pinned_at,
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


def answered(version: int) -> Answered:
    return Answered(before=LoggedRequest(request_id="req-1", time=datetime(2026, 1, 5, 13, tzinfo=UTC),
                                         version=version))


@pytest.mark.parametrize(("pin", "deployed", "served", "expected"), [
    (pinned(2), None, None, ["v2 was pinned, but no deployment was recorded yet"]),
    (pinned(2), RECORDS[1], None, ["pinned v2, deployed v1 (no deploy of this pin had run yet; the last one, at "
                                   "2026-01-03T12:02:00+00:00, was of an earlier pin)"]),
    (pinned(2), RECORDS[2], None, ["pinned v2, deployed v1 (the stored artifact's sha256 is wrong)"]),
    (pinned(2), RECORDS[3], None, []),
    (pinned(2), record(7, commit(5), 6, pinned=2, live=2, state="failed", reason="artifact changed behind the alias"),
     None, ["v2 is behind the alias, but the last deploy found: artifact changed behind the alias"]),
    (pinned(2), RECORDS[3], answered(2), []),
    (pinned(2), RECORDS[3], answered(1), ["request req-1 (2026-01-05T13:00:00+00:00) was answered by v1, while v2 "
                                          "was deployed"]),
    (pinned(None), RECORDS[5], None, []),
    (None, None, answered(1), ["request req-1 (2026-01-05T13:00:00+00:00) was answered by v1, while nothing was "
                               "pinned"]),
], ids=["never-deployed", "deploy-not-run-yet", "deploy-failed", "agree", "changed-behind-the-alias",
        "all-three-agree", "serving-not-swapped-yet", "unpinned-and-removed", "answered-while-nothing-pinned"])
def test_disagreements_say_which_source_differs(pin: PinEvent | None, deployed: DeployRecord | None,
                                                served: Answered | None, expected: list[str]) -> None:
    found = disagreements(pin, deployed, served)
    assert len(found) == len(expected) and all(e in f for f, e in zip(found, expected, strict=False)), found


@pytest.mark.parametrize(("when", "expected"), [
    (datetime(2026, 1, 1, tzinfo=UTC), None),
    (datetime(2026, 1, 5, 12, 3, 30, tzinfo=UTC), "3"),
    (datetime(2026, 1, 5, 12, 4, tzinfo=UTC), "4"),
    (datetime(2026, 1, 6), "5"),  # naive: UTC
], ids=["before-any", "between", "exact", "naive-utc"])
def test_deployed_at_time_is_the_newest_record_by_then(when: datetime, expected: str | None) -> None:
    found = deployed_at_time(RECORDS[::-1], when)
    assert (found.id if found else None) == expected
