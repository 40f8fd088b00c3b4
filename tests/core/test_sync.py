"""Sync planning: pinned models against live slots, and status transitions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipelines.core.schemas import ProductionPins
from pipelines.core.sync import (
    Live,
    Observation,
    PinStatus,
    SyncAction,
    not_ready,
    observe,
    observe_pin,
    plan_sync,
    settled,
)

A, B = "a" * 64, "b" * 64
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def pins(**models: dict) -> ProductionPins:
    entries = {
        name: {"run_id": "r", "artifact_sha256": A, "spec_hash": A, "data_sha256": A, **entry}
        for name, entry in models.items()
    }
    return ProductionPins.model_validate({"models": entries})


@pytest.mark.parametrize(
    ("desired", "live", "expected"),
    [
        (pins(), {}, []),
        (pins(m={"version": 1}), {}, [("m", "load")]),
        (pins(m={"version": 1}), {"m": Live(version=1, artifact_sha256=A)}, [("m", "keep")]),
        (pins(m={"version": 2}), {"m": Live(version=1, artifact_sha256=A)}, [("m", "load")]),
        (pins(m={"version": 1, "artifact_sha256": B}), {"m": Live(version=1, artifact_sha256=A)}, [("m", "load")]),
        (pins(m={"version": 2, "suspend": True}), {"m": Live(version=1, artifact_sha256=A)}, [("m", "suspended")]),
        (pins(m={"version": 2, "suspend": True}), {}, [("m", "suspended")]),
        (pins(), {"m": Live(version=1, artifact_sha256=A)}, [("m", "remove")]),
        (
            pins(b={"version": 1}, a={"version": 3}),
            {"b": Live(version=1, artifact_sha256=A)},
            [("a", "load"), ("b", "keep")],
        ),
    ],
    ids=[
        "nothing",
        "first-load",
        "in-sync",
        "new-version",
        "same-version-new-digest",
        "suspended-keeps-live",
        "suspended-before-live",
        "unpinned-is-removed",
        "several-models-in-name-order",
    ],
)
def test_plan_sync(desired: ProductionPins, live: dict, expected: list) -> None:
    assert [(a.model, a.kind) for a in plan_sync(desired, live)] == expected


@pytest.mark.parametrize(
    ("kind", "live", "expected"),
    [
        ("keep", Live(version=1, artifact_sha256=A), ("Ready", "Synced", 1)),
        ("suspended", Live(version=1, artifact_sha256=A), ("Ready", "Suspended", 1)),
        ("suspended", None, ("Stalled", "Suspended", None)),
    ],
    ids=["keep", "suspended-with-live", "suspended-without-live"],
)
def test_settled_observation(kind: str, live: Live | None, expected: tuple) -> None:
    pin = pins(m={"version": 1, "suspend": kind == "suspended"}).models["m"]
    seen = settled(SyncAction(model="m", kind=kind, pin=pin, live=live), revision="abc")
    assert (seen.condition, seen.reason, seen.live_version) == expected
    assert (seen.desired_version, seen.pin_revision) == (1, "abc")


def test_transition_time_moves_only_when_the_condition_changes() -> None:
    stalled = Observation(condition="Stalled", reason="DigestMismatch", desired_version=2, live_version=1)
    first = observe("m", None, seen=stalled, now=T0)
    again = observe(
        "m", first, seen=stalled.model_copy(update={"reason": "LoadFailed"}), now=T0 + timedelta(seconds=30)
    )
    ready = observe("m", again, seen=Observation(condition="Ready", reason="Synced"), now=T0 + timedelta(seconds=60))
    assert (first.last_transition_time, again.last_transition_time) == (T0, T0)
    assert again.reason == "LoadFailed"
    assert ready.last_transition_time == T0 + timedelta(seconds=60)


def test_ready_means_something_live_or_deliberately_suspended() -> None:
    def status(model: str, **fields):
        return observe(model, None, seen=Observation(condition="Stalled", reason="LoadFailed", **fields), now=T0)

    statuses = [status("cold"), status("stalled-on-old", desired_version=2, live_version=1),
                status("frozen", suspended=True), status("also-cold", desired_version=1)]
    assert not_ready(statuses) == ["also-cold", "cold"]


def test_a_failed_pin_read_keeps_the_last_good_revision() -> None:
    start = PinStatus(source="git main")
    good = observe_pin(start, condition="Ready", reason="Synced", message="", revision="abc", now=T0)
    bad = observe_pin(
        good, condition="Stalled", reason="InvalidYaml", message="line 2", revision=None, now=T0 + timedelta(seconds=5)
    )
    assert (good.revision, good.last_transition_time) == ("abc", T0)
    assert (bad.revision, bad.reason, bad.last_transition_time) == ("abc", "InvalidYaml", T0 + timedelta(seconds=5))


def test_a_pin_read_that_backs_off_says_when_it_is_tried_again_until_one_succeeds() -> None:
    start = PinStatus(source="git main")
    retry_at = T0 + timedelta(seconds=15)
    down = observe_pin(
        start,
        condition="Stalled",
        reason="PinUnavailable",
        message="git: timeout",
        revision=None,
        now=T0,
        next_attempt_at=retry_at,
    )
    back = observe_pin(down, condition="Ready", reason="Synced", message="", revision="abc", now=retry_at)
    assert (down.next_attempt_at, back.next_attempt_at) == (retry_at, None)
