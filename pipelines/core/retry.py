"""When serving tries a failed reconcile step again.

A terminal failure (the pinned bytes or file are wrong: digest mismatch, load or smoke
test failed, invalid pin) fails the same way until someone changes the pin, so it is
not tried again until what it was tried on changes: the model's pinned entry (for the
pin file itself, its revision), or the process restarts. A retryable one (registry or git
unreachable, unknown version, internal error) is tried again after an exponential
backoff: `base_s`, then 2x, 4x, ... capped at `RETRY_CAP_S`. An operator's trigger
(webhook, `POST /reconcile`) skips the backoff but never repeats a terminal failure.

Pure: callers pass the last failure, the key of the attempt they would make and `now`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from pipelines.core.schemas import PinnedModel
from pipelines.core.sync import Reason

RETRY_CAP_S = 600.0  # ten minutes: a recovered registry is noticed within one cap at most
PIN_READ = "pin-read"  # the key of reading the pin: nothing is known about it before the read


class Failure(BaseModel):
    """The last failed attempt of one step, what it was made on, and when it may run again."""

    model_config = ConfigDict(frozen=True)

    reason: Reason
    message: str
    terminal: bool
    key: str
    count: int  # consecutive failures on this key: the backoff's exponent
    failed_at: datetime
    next_attempt_at: datetime | None = None  # None: terminal, waits for another key


def attempt_key(pin: PinnedModel) -> str:
    """What a model's attempt is made on: its pinned entry. Not the pin's revision: a commit
    that leaves this entry alone (a README change on main) must neither reset the backoff
    nor download a wrongly digested artifact again."""
    return pin.model_dump_json()


def should_attempt(last: Failure | None, *, key: str, now: datetime, manual: bool) -> bool:
    """Whether to run a step now, given its last failure, what it would run on, and who asked."""
    if last is None or last.key != key:
        return True
    if last.terminal:
        return False
    return manual or last.next_attempt_at is None or now >= last.next_attempt_at


def record_failure(
    previous: Failure | None, *, reason: Reason, message: str, terminal: bool, key: str, now: datetime, base_s: float,
) -> Failure:
    """The failure to remember after an attempt on `key` failed; counts up while the key holds."""
    count = previous.count + 1 if previous is not None and previous.key == key else 1
    wait = None if terminal else timedelta(seconds=backoff_s(count, base_s=base_s))
    return Failure(reason=reason, message=message, terminal=terminal, key=key, count=count, failed_at=now,
                   next_attempt_at=None if wait is None else now + wait)


def backoff_s(count: int, *, base_s: float, cap_s: float = RETRY_CAP_S) -> float:
    """The wait after `count` consecutive failures: `base_s` doubled per extra failure, at most `cap_s`."""
    return min(base_s * 2 ** min(count - 1, 32), cap_s)  # the exponent's bound keeps the float finite
