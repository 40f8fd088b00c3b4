"""Production history of a model from pin snapshots: every change of its entry, and
what was pinned at a given time.

Pure: the snapshots (from git) and merge and deployment records (from the forge) are
passed in.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel

from pipelines.core.errors import InvalidInput
from pipelines.core.schemas import PinnedModel, ProductionPins


class PinSnapshot(BaseModel):
    """The pin file as one commit left it (None: the file did not validate there)."""

    commit: str
    time: datetime
    committer: str
    pins: ProductionPins | None


class PinEvent(BaseModel):
    """One change of a model's production entry."""

    commit: str
    time: datetime
    change: str  # pinned | replaced | edited | removed
    version: int | None
    previous: int | None
    entry: PinnedModel | None
    pr: str | None = None
    approver: str | None = None
    deployed_at: str | None = None


def pin_events(model: str, snapshots: list[PinSnapshot]) -> list[PinEvent]:
    """Oldest first; commits whose pin did not validate are skipped (nothing deploys them)."""
    events, last = [], None
    for snap in snapshots:
        if snap.pins is None:
            continue
        entry = snap.pins.models.get(model)
        if entry == last:
            continue
        events.append(PinEvent(commit=snap.commit, time=snap.time, change=_change(last, entry), entry=entry,
                               version=entry.version if entry else None, previous=last.version if last else None,
                               approver=snap.committer))
        last = entry
    return events


def _change(old: PinnedModel | None, new: PinnedModel | None) -> str:
    if new is None:
        return "removed"
    if old is None:
        return "pinned"
    return "edited" if old.version == new.version else "replaced"


def pinned_at(events: list[PinEvent], when: datetime) -> PinEvent | None:
    """The event in force at `when`: the newest one at or before it (None: nothing pinned yet)."""
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    before = [e for e in events if e.time <= when]
    return before[-1] if before else None


def parse_time(text: str) -> datetime:
    """ISO 8601 (`2026-11-23`, `2026-11-23T14:05`, with or without an offset; UTC if none)."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"--at '{text}' is not an ISO 8601 time; write e.g. 2026-11-23T14:05:00+00:00") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
