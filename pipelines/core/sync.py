"""Sync planning for serving: the pinned (desired) models against the live ones.

Pure: callers read the pin and the live slots, pass them and `now` in, and act on the
returned plan and statuses. Nothing here downloads, loads or reads a clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from pipelines.core.schemas import PinnedModel, ProductionPins

Condition = Literal["Ready", "Reconciling", "Stalled"]
ActionKind = Literal["load", "keep", "suspended", "remove"]
# Why a model is in its condition; failure reasons are also metric labels. InternalError
# is a bug in serving (its log has the traceback), never an outside system's failure.
Reason = Literal[
    "Synced", "Suspended", "Progressing", "InvalidYaml", "SchemaViolation", "PinUnavailable",
    "UnknownVersion", "DigestMismatch", "LoadFailed", "SmokeTestFailed", "RegistryUnreachable", "RegistryRefused",
    "InternalError",
]


class Live(BaseModel):
    """What one slot serves now: the identity of the loaded artifact."""

    model_config = ConfigDict(frozen=True)

    version: int
    artifact_sha256: str


class SyncAction(BaseModel):
    """What a reconcile pass must do for one model, and the pin entry it acts on."""

    model: str
    kind: ActionKind
    pin: PinnedModel | None = None
    live: Live | None = None


def plan_sync(desired: ProductionPins, live: Mapping[str, Live]) -> list[SyncAction]:
    """One action per model pinned or live, in name order; desired == live is `keep`."""
    return [
        _action(name, desired.models.get(name), current=live.get(name))
        for name in sorted(set(desired.models) | set(live))
    ]


def _action(model: str, pin: PinnedModel | None, *, current: Live | None) -> SyncAction:
    if pin is None:
        kind: ActionKind = "remove"
    elif pin.suspend:
        kind = "suspended"  # frozen: whatever is live stays, even if it differs
    elif current == Live(version=pin.version, artifact_sha256=pin.artifact_sha256):
        kind = "keep"
    else:
        kind = "load"
    return SyncAction(model=model, kind=kind, pin=pin, live=current)


class Observation(BaseModel):
    """What one pass saw for one model, before the transition time is decided."""

    condition: Condition
    reason: Reason
    message: str = ""
    desired_version: int | None = None
    live_version: int | None = None
    pin_revision: str | None = None
    suspended: bool = False
    terminal: bool = False  # a failure not tried again until the pin changes
    next_attempt_at: datetime | None = None  # a retryable failure: when the next pass may try again


class ModelStatus(Observation):
    """A model's reported status; `last_transition_time` moves only when the condition does."""

    model: str
    last_transition_time: datetime


class PinStatus(BaseModel):
    """Whether the last pass could read and parse the pin, and at which revision."""

    source: str
    revision: str | None = None
    condition: Condition = "Reconciling"
    reason: Reason = "Progressing"
    message: str = "not read yet"
    last_transition_time: datetime | None = None
    checked_at: datetime | None = None
    next_attempt_at: datetime | None = None


def observe(model: str, previous: ModelStatus | None, *, seen: Observation, now: datetime) -> ModelStatus:
    """The status after a pass: `seen`, keeping the old transition time if the condition held."""
    return ModelStatus(model=model, last_transition_time=_since(previous, seen.condition, now=now), **seen.model_dump())


def observe_pin(
    previous: PinStatus, *, condition: Condition, reason: Reason, message: str, revision: str | None, now: datetime,
    next_attempt_at: datetime | None = None,
) -> PinStatus:
    """The pin's status after a read; a failed read keeps the last good revision."""
    return previous.model_copy(
        update={
            "condition": condition,
            "reason": reason,
            "message": message,
            "revision": revision or previous.revision,
            "last_transition_time": _since(previous, condition, now=now),
            "checked_at": now,
            "next_attempt_at": next_attempt_at,
        }
    )


def _since(previous: ModelStatus | PinStatus | None, condition: Condition, *, now: datetime) -> datetime:
    held = previous is not None and previous.condition == condition and previous.last_transition_time is not None
    return previous.last_transition_time if held else now  # type: ignore[union-attr,return-value]


def settled(action: SyncAction, *, revision: str | None) -> Observation:
    """The observation for an action that needs no loading: keep, suspended."""
    pin, live = action.pin, action.live
    assert pin is not None, "remove actions have no status"
    live_version = live.version if live else None
    base = {
        "desired_version": pin.version,
        "live_version": live_version,
        "pin_revision": revision,
        "suspended": pin.suspend,
    }
    if action.kind == "keep":
        return Observation(condition="Ready", reason="Synced", message=f"serving v{pin.version}", **base)
    if live is None:
        return Observation(
            condition="Stalled", reason="Suspended", message="suspended before any version was live", **base
        )
    return Observation(
        condition="Ready", reason="Suspended", message=f"rollout frozen; serving v{live.version}", **base
    )


def not_ready(statuses: Iterable[ModelStatus]) -> list[str]:
    """Pinned models with nothing live that are not deliberately suspended.

    A model still serving its last good version during a rollout (or a stalled one)
    counts as ready: readiness says whether this replica can answer, and pulling every
    replica out of a load balancer on each promotion would be an outage.
    """
    return sorted(s.model for s in statuses if s.live_version is None and not s.suspended)
