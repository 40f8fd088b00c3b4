"""Which pin changes `mlpin rollback` reverts, and the clear refusals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipelines.core.errors import InvalidInput
from pipelines.core.history import PinEvent
from pipelines.stages.rollback import _to_revert


def events(*versions: int | None) -> list[PinEvent]:
    out, previous = [], None
    for i, version in enumerate(versions):
        out.append(PinEvent(commit=f"c{i}", time=datetime(2026, 1, i + 1, tzinfo=UTC), change="x", version=version,
                            previous=previous, entry=None))
        previous = version
    return out


@pytest.mark.parametrize(("versions", "to", "expected"), [
    ((1, 2), None, ["c1"]),
    ((1, 2, 3), 1, ["c2", "c1"]),           # newest first, back to where v1 was pinned
    ((1, 2, 1, 3), 1, ["c3"]),              # the latest time v1 was pinned
    ((1,), None, ["c0"]),                   # the first promotion: reverting unpins
], ids=["last-change", "to-older", "to-latest-occurrence", "unpin"])
def test_commits_to_revert(versions: tuple, to: int | None, expected: list[str]) -> None:
    assert [e.commit for e in _to_revert("m", events(*versions), to=to)] == expected


@pytest.mark.parametrize(("versions", "to", "message"), [
    ((1, 2), 2, "already in production"),
    ((1, 2), 7, "never in production on this branch; it held v1, v2"),
    ((1, None), None, "not pinned now"),
], ids=["current", "unknown", "unpinned"])
def test_refusals_say_what_to_do(versions: tuple, to: int | None, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        _to_revert("m", events(*versions), to=to)
