"""`mlpin history <model> [--at TIME [--logs URI]]`: what was in production, when, by which
PR and approver, from the pin file's git history and the forge's merge and deployment
records; for a time, what was pinned (git), what was deployed (the deployment records)
and, given serving's prediction log, what answered, and where they disagree. Deployment
records that cannot be read (the environment is shared with other tools) say nothing
and are listed; log lines that cannot be read are counted. The records are read newest
first and only as far back as the question needs (`core.history.enough`), and a
record's status only when its payload needs it (`state_matters`): the cost follows the
model's own history, not every deployment the environment ever had."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from pipelines.adapters import pinlog
from pipelines.adapters.forge import ENVIRONMENT, Forge
from pipelines.core.answered import Answered, answered_at
from pipelines.core.deployment import state_matters
from pipelines.core.errors import InvalidInput, NotFound
from pipelines.core.history import (
    DeployRecord,
    PinEvent,
    UnreadableRecord,
    answered_disagreements,
    deploy_record,
    deployed_at_time,
    disagreements,
    enough,
    pin_events,
    pinned_at,
    unlogged_since,
    with_deployments,
)
from pipelines.stages.context import StageContext


class History(BaseModel):
    """A model's production timeline, and the answers for `--at` when asked."""

    model: str
    events: list[PinEvent]
    unreadable_deployments: list[UnreadableRecord] = []  # records that say nothing about the model, and why
    at: datetime | None = None
    at_event: PinEvent | None = None  # pinned then (git)
    at_deployed: DeployRecord | None = None  # the newest deployment record by then (the forge)
    at_answered: Answered | None = None  # the logged requests around then (serving's log, with --logs)
    at_unlogged_since: datetime | None = None  # the deployment in force then, when no request came between it and then
    disagreements: list[str] = []


def history(ctx: StageContext, model: str, *, at: datetime | None = None, logs: str | None = None) -> History:
    """Every change of `model`'s pin on the checked-out branch, oldest first, with what
    each deploy run made of it; with `at`, the pinned, deployed and answering versions then."""
    if logs is not None and at is None:
        raise InvalidInput("--logs answers for a time: pass --at TIME too")
    forge = ctx.forge
    snapshots = pinlog.snapshots(ctx.root)
    events = pin_events(model, snapshots)
    if not events:
        raise NotFound(f"{model} was never pinned in models/production.yaml on this branch")
    answered = _answered(logs, model, at=at) if logs and at is not None else None
    asked = [t for t in (at, answered.before.time if answered and answered.before else None) if t is not None]
    records, unreadable = _records(forge, model, since=events[0].time, asked=min(asked, default=None))
    events = with_deployments([_enrich(forge, e) for e in events], records, commits=[s.commit for s in snapshots])
    found = History(model=model, events=events, unreadable_deployments=unreadable)
    if at is None:
        return found
    pinned, deployed = pinned_at(events, at), deployed_at_time(records, at)
    said = disagreements(pinned, deployed)
    if answered is not None:
        said += answered_disagreements(answered, at, events=events, records=records)
    return found.model_copy(update={"at": at, "at_event": pinned, "at_deployed": deployed, "at_answered": answered,
                                    "at_unlogged_since": unlogged_since(answered, deployed) if answered else None,
                                    "disagreements": said})


def _records(forge: Forge, model: str, *, since: datetime,
             asked: datetime | None) -> tuple[list[DeployRecord], list[UnreadableRecord]]:
    """What the recorded deployments say about `model`, oldest first, and those that could not
    be read: read newest first, and only as far back as the question needs (`enough`)."""
    found: list[DeployRecord | UnreadableRecord] = []
    for d in forge.newest_deployments(ENVIRONMENT, need_state=state_matters):
        time = datetime.fromisoformat(d.created_at)
        if enough([r for r in found if isinstance(r, DeployRecord)], before=time, since=since, asked=asked):
            break
        record = deploy_record(model, id=d.id, commit=d.sha, time=time, payload=d.payload, state=d.state)
        if record is not None:
            found.append(record)
    found.reverse()
    return ([r for r in found if isinstance(r, DeployRecord)], [r for r in found if isinstance(r, UnreadableRecord)])


def _answered(uri: str, model: str, *, at: datetime) -> Answered:
    from pipelines.adapters.requestlog import RequestLog

    log = RequestLog(uri, model)
    found = answered_at(log.requests(), at)
    return found.model_copy(update={"skipped_lines": log.skipped})


def _enrich(forge: Forge, event: PinEvent) -> PinEvent:
    merge = forge.merged_pull(event.commit)
    if merge is None:
        return event.model_copy(update={"approver": f"{event.approver} (direct push)"})
    return event.model_copy(update={"pr": merge.pr, "approver": merge.approver})
