"""Production history from pin snapshots, and what was pinned at a time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipelines.core.errors import InvalidInput
from pipelines.core.history import PinSnapshot, parse_time, pin_events, pinned_at
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
