"""Whether serving replicas have converged on the pin: `mlpin replicas`' decision.

Pure: the caller asks every replica's `/status` and reads the pin (when it runs inside
the repository), then passes both in. A replica is converged when its pin read is
Ready and every pinned model is Ready at the desired version (a suspended model counts
as converged where it stands: holding it back is what suspend asks for).

Desired is the checked-out pin's version when there is one: a replica that has not read
the new pin yet says desired == live about its old pin, and only the reference shows
it lags. Without a reference each replica is judged by its own pin, and replicas that
read different pin revisions are all reported (which one is newest is unknown here).
"""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel

from pipelines.core.outcome import Kind, worst
from pipelines.core.schemas import ProductionPins
from pipelines.core.sync import ModelStatus, PinStatus


class ReplicaReading(BaseModel):
    """One replica's `/status` as read (pin and models), or why it could not be read. A host with
    several workers (each reconciles on its own) is read once per worker seen: `others` holds the
    other workers' readings, `workers` how many the host says it runs."""

    url: str
    pin: PinStatus | None = None
    models: list[ModelStatus] = []
    error: str | None = None  # unreachable, or not a serving status
    worker: int | None = None  # the answering process's pid
    workers: int = 1
    others: list[ReplicaReading] = []


class ModelView(BaseModel):
    """One model on one replica: what should serve, what does, and how the replica sees it."""

    model: str
    desired: int | None  # the reference pin's version, else the replica's own desired version
    replica_desired: int | None  # what the replica's pin says (None: the replica has no such model)
    live: int | None
    condition: str
    reason: str
    message: str = ""
    suspended: bool = False
    converged: bool


class ReplicaOutcome(BaseModel):
    """One replica's verdict: converged or not, why not, and per model what it serves."""

    url: str
    converged: bool
    kind: Kind  # done; outside_system (not yet, or unreachable: wait and ask again); invalid_input (stuck for good)
    headline: str
    pin_revision: str | None = None
    pin_condition: str | None = None
    models: list[ModelView] = []


class ConvergenceRun(BaseModel):
    """Every replica's verdict and the count `converged: N/M`."""

    reference: str | None  # what desired means: "the checked-out pin" or None (each replica's own pin)
    outcomes: list[ReplicaOutcome]
    converged: int
    total: int

    @property
    def kind(self) -> Kind:
        """The most serious replica's kind."""
        return worst(o.kind for o in self.outcomes)


def judge_replicas(readings: list[ReplicaReading], *, pins: ProductionPins | None,
                   reference: str | None = None) -> ConvergenceRun:
    """Each replica's verdict against `pins` (or its own pin when None)."""
    split = _split_revisions(readings) if pins is None else set()
    outcomes = [_judge(r, pins=pins, split=r.url in split) for r in readings]
    return ConvergenceRun(reference=reference if pins is not None else None, outcomes=outcomes,
                          converged=sum(o.converged for o in outcomes), total=len(outcomes))


def _split_revisions(readings: list[ReplicaReading]) -> set[str]:
    """Without a reference: every replica, when those that read a pin disagree on its revision."""
    revisions = Counter(r.pin.revision for r in readings if r.pin is not None and r.error is None)
    return {r.url for r in readings if r.pin is not None} if len(revisions) > 1 else set()


def _judge(reading: ReplicaReading, *, pins: ProductionPins | None, split: bool) -> ReplicaOutcome:
    """The host's verdict is its slowest worker's; a worker never seen leaves it unconfirmed."""
    judged = [_judge_worker(r, pins=pins, split=split) for r in (reading, *reading.others)]
    behind = [o for o in judged if not o.converged]
    kind = worst(o.kind for o in behind)
    outcome = next((o for o in behind if o.kind == kind), judged[0])
    seen = len(judged)
    if reading.error is None and seen < reading.workers:
        return outcome.model_copy(update={
            "converged": False, "kind": worst([kind, Kind.OUTSIDE_SYSTEM]),
            "headline": f"{seen} of {reading.workers} workers seen (ask again); those seen: {outcome.headline}"})
    if seen > 1:
        return outcome.model_copy(update={"headline": f"{outcome.headline} (all {seen} workers)" if outcome.converged
                                          else f"{outcome.headline} (the slowest of {seen} workers)"})
    return outcome


def _judge_worker(reading: ReplicaReading, *, pins: ProductionPins | None, split: bool) -> ReplicaOutcome:
    if reading.error is not None or reading.pin is None:
        return ReplicaOutcome(url=reading.url, converged=False, kind=Kind.OUTSIDE_SYSTEM,
                              headline=f"unreachable: {reading.error or 'no pin status'}")
    pin = reading.pin
    views = _views(reading.models, pins=pins)
    problems = [f"pin {pin.condition} ({pin.reason}): {pin.message}"] if pin.condition != "Ready" else []
    problems += ["the replicas read different pin revisions"] if split else []
    problems += [_lag(v) for v in views if not v.converged]
    terminal = any(s.terminal for s in reading.models if s.condition == "Stalled")
    kind = Kind.DONE if not problems else Kind.INVALID_INPUT if terminal else Kind.OUTSIDE_SYSTEM
    return ReplicaOutcome(url=reading.url, converged=not problems, kind=kind,
                          headline="converged" if not problems else "not converged: " + "; ".join(problems),
                          pin_revision=pin.revision, pin_condition=pin.condition, models=views)


def _views(statuses: list[ModelStatus], *, pins: ProductionPins | None) -> list[ModelView]:
    """One view per model the reference pins or the replica knows, sorted by name."""
    seen = {s.model: s for s in statuses}
    names = sorted(set(seen) | set(pins.models if pins is not None else ()))
    return [_view(name, seen.get(name), pins=pins) for name in names]


def _view(name: str, status: ModelStatus | None, *, pins: ProductionPins | None) -> ModelView:
    entry = pins.models.get(name) if pins is not None else None
    desired = entry.version if entry is not None else None if pins is not None else status and status.desired_version
    suspended = bool(entry.suspend if entry is not None else status and status.suspended)
    if status is None:
        return ModelView(model=name, desired=desired, replica_desired=None, live=None, condition="Unknown",
                         reason="NotInReplicaPin", suspended=suspended, converged=suspended)
    ready = status.condition == "Ready" and status.live_version == desired
    return ModelView(model=name, desired=desired, replica_desired=status.desired_version, live=status.live_version,
                     condition=status.condition, reason=status.reason, message=status.message, suspended=suspended,
                     converged=suspended or ready)


def _lag(view: ModelView) -> str:
    """Why one model is not converged, in a few words."""
    live = f"v{view.live}" if view.live is not None else "nothing"
    if view.desired is None:
        return f"{view.model} serves {live}, no longer pinned"
    stalled = f", {view.condition} ({view.reason})" if view.condition not in ("Ready", "Unknown") else ""
    return f"{view.model} serves {live}, desired v{view.desired}{stalled}"
