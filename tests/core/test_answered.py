"""Which version answered at a time: the logged request nearest before it, and the first after."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipelines.core.answered import LoggedRequest, answered_at


def at(second: int) -> datetime:
    return datetime(2026, 11, 30, 12, 0, second, tzinfo=UTC)


REQUESTS = [  # out of order, as files from several replicas come
    LoggedRequest(request_id="c", time=at(30), version=2),
    LoggedRequest(request_id="a", time=at(10), version=1),
    LoggedRequest(request_id="b", time=at(20), version=1),
]


@pytest.mark.parametrize(("when", "before", "after", "swapped"), [
    (at(5), None, "a", False),
    (at(10), "a", "b", False),
    (at(25), "b", "c", True),
    (at(40), "c", None, False),
], ids=["before-any", "exact-time-counts-as-before", "across-a-swap", "after-all"])
def test_nearest_requests_around_a_time(when: datetime, before: str | None, after: str | None, swapped: bool) -> None:
    found = answered_at(iter(REQUESTS), when)
    assert (found.before and found.before.request_id, found.after and found.after.request_id) == (before, after)
    assert found.swapped_between is swapped
    assert found.version == (found.before.version if found.before else None)
