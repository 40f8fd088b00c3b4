"""`mlpin history <model> [--at TIME]`: what was in production, when, by which PR and
approver, from the pin file's git history and the forge's merge and deployment records."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from pipelines.adapters import pinlog
from pipelines.adapters.forge import ENVIRONMENT, Forge
from pipelines.core.errors import NotFound
from pipelines.core.history import PinEvent, pin_events, pinned_at
from pipelines.stages.context import StageContext


class History(BaseModel):
    """A model's production timeline, and the answer for `--at` when asked."""

    model: str
    events: list[PinEvent]
    at: datetime | None = None
    at_event: PinEvent | None = None


def history(ctx: StageContext, model: str, *, at: datetime | None = None) -> History:
    """Every change of `model`'s pin on the checked-out branch, oldest first."""
    forge = ctx.forge
    events = pin_events(model, pinlog.snapshots(ctx.root))
    if not events:
        raise NotFound(f"{model} was never pinned in models/production.yaml on this branch")
    deployed = {}
    for deployment in forge.deployments(ENVIRONMENT):  # newest first: keep each commit's first
        deployed[deployment.sha] = deployment.created_at
    events = [_enrich(forge, event, deployed_at=deployed.get(event.commit)) for event in events]
    return History(model=model, events=events, at=at, at_event=pinned_at(events, at) if at else None)


def _enrich(forge: Forge, event: PinEvent, *, deployed_at: str | None) -> PinEvent:
    merge = forge.merged_pull(event.commit)
    if merge is None:
        return event.model_copy(update={"approver": f"{event.approver} (direct push)", "deployed_at": deployed_at})
    return event.model_copy(update={"pr": merge.pr, "approver": merge.approver, "deployed_at": deployed_at})
