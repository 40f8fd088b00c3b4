"""Production history of a model: every change of its pin entry (git), what each deploy
run recorded for it (the forge), and, for a time T, what was pinned, what was deployed
and, given serving's log, what answered, saying plainly where they disagree.

A logged request is judged against what was in force at its own time, never against
what was in force at T: the last request before T may predate the deployment in force
at T, and then it says nothing about T (the first request after T may: serving had not
swapped yet).

Pure: the snapshots (from git), deployment records (from the forge) and logged requests
are passed in.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel

from pipelines.core.answered import Answered, LoggedRequest
from pipelines.core.deployment import ModelDeployment, read_payload
from pipelines.core.errors import InvalidInput
from pipelines.core.schemas import PinnedModel, ProductionPins


class PinSnapshot(BaseModel):
    """The pin file as one commit left it (None: the file did not validate there)."""

    commit: str
    time: datetime
    committer: str
    pins: ProductionPins | None


class DeployRecord(ModelDeployment):
    """What one recorded deployment says about one model: which commit it deployed, when,
    and what the model came to (the version behind the alias after it, and why)."""

    id: str
    commit: str
    time: datetime


class UnreadableRecord(BaseModel):
    """A deployment record that could not be read for the model: it says nothing about it."""

    id: str
    commit: str
    time: datetime
    problems: list[str]


def deploy_record(model: str, *, id: str, commit: str, time: datetime, payload: object,
                  state: str) -> DeployRecord | UnreadableRecord | None:
    """`model` in a forge deployment; UnreadableRecord when the record or the model's entry
    could not be read; None when it says nothing (another tool's record, or an old-format
    one whose status was not a success). A model missing from a readable record is not in
    production after it: the record lists every model pinned or behind the alias."""
    read = read_payload(payload, state=state)
    if problems := read.problems(model):
        return UnreadableRecord(id=id, commit=commit, time=_utc(time), problems=problems)
    found = read.about(model)
    if found is None:
        return None
    return DeployRecord(**found.model_dump(), id=id, commit=commit, time=_utc(time))


class PinEvent(BaseModel):
    """One change of a model's production entry, and what deploy runs made of it."""

    commit: str
    time: datetime
    change: str  # pinned | replaced | edited | removed
    version: int | None
    previous: int | None
    entry: PinnedModel | None
    pr: str | None = None
    approver: str | None = None
    deployed_at: str | None = None  # when the entry was first found deployed (alias at the pin, checked)
    deployments: list[DeployRecord] = []  # records of deploy runs while this entry was pinned, oldest first


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


def with_deployments(events: list[PinEvent], records: list[DeployRecord], *, commits: list[str]) -> list[PinEvent]:
    """Each event with the records of deploy runs on its commit or a later pin commit before
    the next event (`commits`: every pin commit, oldest first). Records of commits not on
    this line (another branch) belong to no event; they still count for `deployed_at_time`."""
    position = {commit: n for n, commit in enumerate(commits)}
    starts = [position.get(e.commit, -1) for e in events]
    windows: list[list[DeployRecord]] = [[] for _ in events]
    for record in sorted(records, key=lambda r: r.time):
        at = position.get(record.commit)
        owners = [n for n, start in enumerate(starts) if at is not None and start <= at]
        if owners:
            windows[owners[-1]].append(record)
    return [e.model_copy(update={"deployments": found, "deployed_at": _first_deployed(found)})
            for e, found in zip(events, windows, strict=True)]


def enough(records: list[DeployRecord], *, before: datetime, since: datetime, asked: datetime | None) -> bool:
    """Whether deployment records read newest first (`records`: the model's, so far) answer
    the question, so records made `before` that time (the next one's) need not be read:
    the timeline needs every record since the model's first pin (`since`); a question at a
    time (`asked`: the earliest of --at and the logged request judged) needs the newest
    record at or before it too (`deployed_at_time`)."""
    before = _utc(before)
    if before >= _utc(since):
        return False
    return asked is None or any(r.time <= _utc(asked) for r in records)


def _first_deployed(records: list[DeployRecord]) -> str | None:
    found = next((r for r in records if r.at_pin), None)
    return found.time.isoformat() if found else None


def deployed_at_time(records: list[DeployRecord], when: datetime) -> DeployRecord | None:
    """The newest record at or before `when`: what the alias held then (None: nothing recorded yet)."""
    before = [r for r in sorted(records, key=lambda r: r.time) if r.time <= _utc(when)]
    return before[-1] if before else None


def disagreements(pinned: PinEvent | None, deployed: DeployRecord | None) -> list[str]:
    """Where the pin (git) and the deployment record differ at a time."""
    want = pinned.version if pinned else None
    if deployed is None:
        return [] if want is None else [
            f"the pin and the deployment disagree: v{want} was pinned, but no deployment was recorded yet"]
    if deployed.live != want:
        if deployed.pinned != want:
            why = (f"no deploy of this pin had run yet; the last one, at {deployed.time.isoformat()}, "
                   "was of an earlier pin")
        else:
            why = deployed.reason or deployed.state
        return [f"the pin and the deployment disagree: pinned {_v(want)}, deployed {_v(deployed.live)} ({why})"]
    if deployed.state == "failed":
        return [f"{_v(deployed.live)} is behind the alias, but the last deploy found: "
                f"{deployed.reason or 'a failure it gave no reason for'}"]
    return []


def unlogged_since(answered: Answered, deployed: DeployRecord | None) -> datetime | None:
    """When the deployment in force at a time was recorded, if serving logged no request
    between it and that time (the last request before, if any, predates it); else None."""
    if deployed is None or (answered.before is not None and answered.before.time >= deployed.time):
        return None
    return deployed.time


def answered_disagreements(answered: Answered, when: datetime, *, events: list[PinEvent],
                           records: list[DeployRecord]) -> list[str]:
    """Where what answered differs from what should have, each request judged against the
    deployment in force at its own time (before any deployment: the pin then). The first
    request after `when` is judged only when none came between the deployment in force at
    `when` and `when`, and that deployment was still in force: serving had not swapped yet."""
    found, before, after = [], answered.before, answered.after
    if before is not None and (said := _judged(before, events, records)):
        found.append(said)
    in_force = deployed_at_time(records, when)
    if after is None or in_force is None or unlogged_since(answered, in_force) is None:
        return found
    if deployed_at_time(records, after.time) == in_force and (said := _judged(after, events, records)):
        found.append(f"{said}; it was the first request after {_utc(when).isoformat()}, and none came since the "
                     "deployment: serving had not swapped yet")
    return found


def _judged(request: LoggedRequest, events: list[PinEvent], records: list[DeployRecord]) -> str | None:
    """What is wrong with the version that answered `request`, against what was in force then."""
    record = deployed_at_time(records, request.time)
    event = pinned_at(events, request.time) if record is None else None
    expected = record.live if record is not None else event.version if event is not None else None
    if request.version == expected:
        return None
    said = f"request {request.request_id} ({request.time.isoformat()}) was answered by v{request.version}"
    if record is not None:
        return (f"what answered disagrees with the deployment: {said}, while {_v(expected)} was deployed "
                f"(deployment {record.id} at {record.time.isoformat()})")
    since = f" (since {event.commit[:12]} at {event.time.isoformat()})" if event is not None else ""
    return f"what answered disagrees with the pin: {said}, while {_v(expected)} was pinned{since}, none deployed"


def _v(version: int | None) -> str:
    return "nothing" if version is None else f"v{version}"


def _utc(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def pinned_at(events: list[PinEvent], when: datetime) -> PinEvent | None:
    """The event in force at `when`: the newest one at or before it (None: nothing pinned yet)."""
    when = _utc(when)
    before = [e for e in events if e.time <= when]
    return before[-1] if before else None


def parse_time(text: str) -> datetime:
    """ISO 8601 (`2026-11-23`, `2026-11-23T14:05`, with or without an offset; UTC if none)."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"--at '{text}' is not an ISO 8601 time; write e.g. 2026-11-23T14:05:00+00:00") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
