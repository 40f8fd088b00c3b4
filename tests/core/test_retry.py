"""When a failed reconcile step runs again: terminal failures wait for a new pin, retryable ones back off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipelines.core.retry import RETRY_CAP_S, Failure, attempt_key, backoff_s, record_failure, should_attempt
from pipelines.core.schemas import ProductionPins

T0 = datetime(2026, 1, 1, tzinfo=UTC)
KEY = "rev1 entry"


def failed(*, terminal: bool, key: str = KEY, next_in_s: float | None = 30) -> Failure:
    next_at = None if terminal or next_in_s is None else T0 + timedelta(seconds=next_in_s)
    return Failure(reason="DigestMismatch" if terminal else "RegistryUnreachable", message="m", terminal=terminal,
                   key=key, count=1, failed_at=T0, next_attempt_at=next_at)


@pytest.mark.parametrize(
    ("last", "key", "after_s", "manual", "expected"),
    [
        (None, KEY, 0, False, True),
        (failed(terminal=True), KEY, 3600, False, False),
        (failed(terminal=True), KEY, 3600, True, False),
        (failed(terminal=True), "rev2 entry", 0, False, True),
        (failed(terminal=False), KEY, 29, False, False),
        (failed(terminal=False), KEY, 30, False, True),
        (failed(terminal=False), KEY, 29, True, True),
        (failed(terminal=False), "rev2 entry", 0, False, True),
    ],
    ids=["never-failed", "terminal-same-pin", "terminal-same-pin-manual", "terminal-pin-changed",
         "retryable-backing-off", "retryable-backoff-over", "retryable-manual-skips-backoff", "retryable-pin-changed"],
)
def test_should_attempt(last: Failure | None, key: str, after_s: float, manual: bool, expected: bool) -> None:
    assert should_attempt(last, key=key, now=T0 + timedelta(seconds=after_s), manual=manual) is expected


@pytest.mark.parametrize(
    ("count", "expected"),
    [(1, 15), (2, 30), (3, 60), (6, 480), (7, RETRY_CAP_S), (10_000, RETRY_CAP_S)],
    ids=["first", "doubles", "doubles-again", "below-cap", "capped", "huge-count-still-capped"],
)
def test_backoff_doubles_up_to_ten_minutes(count: int, expected: float) -> None:
    assert backoff_s(count, base_s=15) == expected


@pytest.mark.parametrize(
    ("previous", "terminal", "key", "expected"),
    [
        (None, False, KEY, (1, T0 + timedelta(seconds=15))),
        (failed(terminal=False), False, KEY, (2, T0 + timedelta(seconds=30))),
        (failed(terminal=False), False, "rev2 entry", (1, T0 + timedelta(seconds=15))),
        (None, True, KEY, (1, None)),
        (failed(terminal=False), True, KEY, (2, None)),
    ],
    ids=[
        "first-failure",
        "same-pin-counts-up",
        "new-pin-starts-over",
        "terminal-has-no-next-attempt",
        "turned-terminal",
    ],
)
def test_record_failure(previous: Failure | None, terminal: bool, key: str, expected: tuple) -> None:
    memo = record_failure(previous, reason="LoadFailed", message="m", terminal=terminal, key=key, now=T0, base_s=15)
    assert (memo.count, memo.next_attempt_at) == expected
    assert (memo.reason, memo.key, memo.failed_at, memo.terminal) == ("LoadFailed", key, T0, terminal)


def test_attempt_key_changes_with_the_entry_only() -> None:
    def entry(version: int):
        models = {
            "m": {
                "version": version,
                "run_id": "r",
                "artifact_sha256": "a" * 64,
                "spec_hash": "a" * 64,
                "data_sha256": "a" * 64,
            }
        }
        return ProductionPins.model_validate({"models": models}).models["m"]

    assert attempt_key(entry(1)) == attempt_key(entry(1))
    assert attempt_key(entry(1)) != attempt_key(entry(2))
