"""Convergence of serving replicas: each replica's /status against the checked-out pin
(or its own pin), table-tested per case; and the count and kind of the whole run."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipelines.core.convergence import ReplicaReading, judge_replicas
from pipelines.core.outcome import Kind
from pipelines.core.schemas import ProductionPins
from pipelines.core.sync import ModelStatus, PinStatus

A = "a" * 64
T0 = datetime(2026, 1, 1, tzinfo=UTC)
REV1, REV2 = "1" * 40, "2" * 40


def pins(**versions: int | tuple[int, bool]) -> ProductionPins:
    entries = {}
    for name, given in versions.items():
        version, suspend = given if isinstance(given, tuple) else (given, False)
        entries[name] = {"version": version, "run_id": "r", "artifact_sha256": A, "spec_hash": A, "data_sha256": A,
                         "suspend": suspend}
    return ProductionPins.model_validate({"models": entries})


def model(name: str = "m", *, desired: int, live: int | None, condition: str = "Ready", reason: str = "Synced",
          **more: object) -> ModelStatus:
    return ModelStatus(model=name, desired_version=desired, live_version=live, condition=condition, reason=reason,
                       last_transition_time=T0, **more)


def reading(*models: ModelStatus, revision: str = REV2, pin_condition: str = "Ready", url: str = "http://r0") -> (
        ReplicaReading):
    pin = PinStatus(source="git x main:models/production.yaml", revision=revision, condition=pin_condition,
                    reason="Synced" if pin_condition == "Ready" else "PinUnavailable", message="read")
    return ReplicaReading(url=url, pin=pin, models=list(models))


@pytest.mark.parametrize(("replica", "reference", "converged", "kind", "headline"), [
    (reading(model(desired=2, live=2)), pins(m=2), True, Kind.DONE, "converged"),
    (reading(model(desired=1, live=1), revision=REV1), pins(m=2), False, Kind.OUTSIDE_SYSTEM,
     "not converged: m serves v1, desired v2"),
    (reading(model(desired=2, live=1, condition="Reconciling", reason="Progressing")), pins(m=2), False,
     Kind.OUTSIDE_SYSTEM, "not converged: m serves v1, desired v2, Reconciling (Progressing)"),
    (reading(model(desired=2, live=1, condition="Stalled", reason="DigestMismatch", terminal=True)), pins(m=2), False,
     Kind.INVALID_INPUT, "not converged: m serves v1, desired v2, Stalled (DigestMismatch)"),
    (reading(model(desired=2, live=2), pin_condition="Stalled"), pins(m=2), False, Kind.OUTSIDE_SYSTEM,
     "not converged: pin Stalled (PinUnavailable): read"),
    (reading(model(desired=1, live=1, suspended=True)), pins(m=(2, True)), True, Kind.DONE, "converged"),
    (reading(), pins(m=2), False, Kind.OUTSIDE_SYSTEM, "not converged: m serves nothing, desired v2"),
    (reading(model(desired=1, live=1), model("old", desired=3, live=3)), pins(m=1), False, Kind.OUTSIDE_SYSTEM,
     "not converged: old serves v3, no longer pinned"),
    (ReplicaReading(url="http://r0", error="Connection refused"), pins(m=2), False, Kind.OUTSIDE_SYSTEM,
     "unreachable: Connection refused"),
    (reading(model(desired=1, live=1), revision=REV1), None, True, Kind.DONE, "converged"),
    (reading(model(desired=2, live=1, condition="Stalled", reason="RegistryUnreachable")), None, False,
     Kind.OUTSIDE_SYSTEM, "not converged: m serves v1, desired v2, Stalled (RegistryUnreachable)"),
], ids=["at-the-pin", "old-pin-read", "loading", "stalled-for-good", "pin-unreadable", "suspended-holds-back",
        "nothing-live", "unpinned-still-served", "unreachable", "own-pin-only", "own-pin-stalled"])
def test_one_replica(replica: ReplicaReading, reference: ProductionPins | None, converged: bool, kind: Kind,
                     headline: str) -> None:
    (outcome,) = judge_replicas([replica], pins=reference, reference="the pin").outcomes
    assert (outcome.converged, outcome.kind, outcome.headline) == (converged, kind, headline)


def test_the_run_counts_replicas_and_takes_the_worst_kind() -> None:
    readings = [reading(model(desired=2, live=2), url=f"http://r{i}") for i in range(2)]
    readings.append(ReplicaReading(url="http://r2", error="timed out"))
    run = judge_replicas(readings, pins=pins(m=2), reference="the pin")
    assert (run.converged, run.total, run.kind) == (2, 3, Kind.OUTSIDE_SYSTEM)
    assert [m.model_dump(include={"model", "desired", "live", "converged"}) for m in run.outcomes[0].models] == [
        {"model": "m", "desired": 2, "live": 2, "converged": True}]


def test_without_a_reference_replicas_on_different_revisions_are_all_reported() -> None:
    readings = [reading(model(desired=1, live=1), revision=REV1, url="http://r0"),
                reading(model(desired=2, live=2), revision=REV2, url="http://r1")]
    run = judge_replicas(readings, pins=None)
    assert run.reference is None and run.converged == 0
    assert all(o.headline == "not converged: the replicas read different pin revisions" for o in run.outcomes)


def workers(*readings: ReplicaReading, total: int) -> ReplicaReading:
    """A host running `total` workers, read once per worker seen (the first is the first that answered)."""
    first, *others = [r.model_copy(update={"worker": 100 + i, "workers": total}) for i, r in enumerate(readings)]
    return first.model_copy(update={"others": others})


@pytest.mark.parametrize(("host", "converged", "kind", "headline"), [
    (workers(reading(model(desired=2, live=2)), reading(model(desired=2, live=2)), total=2), True, Kind.DONE,
     "converged (all 2 workers)"),
    (workers(reading(model(desired=2, live=2)), reading(model(desired=1, live=1), revision=REV1), total=2), False,
     Kind.OUTSIDE_SYSTEM, "not converged: m serves v1, desired v2 (the slowest of 2 workers)"),
    (workers(reading(model(desired=2, live=2)), total=2), False, Kind.OUTSIDE_SYSTEM,
     "1 of 2 workers seen (ask again); those seen: converged"),
], ids=["all-workers-converged", "judged-by-the-slowest", "a-worker-never-answered"])
def test_a_host_with_several_workers_is_judged_by_its_slowest(host, converged, kind, headline) -> None:
    (outcome,) = judge_replicas([host], pins=pins(m=2)).outcomes
    assert (outcome.converged, outcome.kind, outcome.headline) == (converged, kind, headline)
