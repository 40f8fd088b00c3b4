"""The pin as a decision: what a change to `models/production.yaml` does, and whether
each changed entry is backed by the registry and by a passing, recorded decision.

Pure: callers read the registry and git, and pass what they found.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from pipelines.core.errors import Problem
from pipelines.core.lineage import tag
from pipelines.core.policy import Decision
from pipelines.core.schemas import PinnedModel, ProductionPins

ChangeKind = Literal["added", "changed", "removed"]


class PinChange(BaseModel):
    """One model's entry before and after."""

    model: str
    kind: ChangeKind
    old: PinnedModel | None
    new: PinnedModel | None


def pin_changes(old: ProductionPins, new: ProductionPins) -> list[PinChange]:
    """Entries added, changed or removed; unchanged entries are left out (and left alone)."""
    changes = []
    for model in sorted(set(old.models) | set(new.models)):
        before, after = old.models.get(model), new.models.get(model)
        if before == after:
            continue
        kind: ChangeKind = "added" if before is None else "removed" if after is None else "changed"
        changes.append(PinChange(model=model, kind=kind, old=before, new=after))
    return changes


class RegistryRecord(BaseModel):
    """What the registry holds for a pinned version (None fields: not found)."""

    exists: bool
    run_id: str | None = None
    tags: dict[str, str] = {}
    artifact_sha256: str | None = None  # computed from the downloaded artifact


def check_entry(
    model: str, pin: PinnedModel, *, record: RegistryRecord, decision: Decision | None, previously_pinned_at: str | None
) -> list[Problem]:
    """Every reason this entry must not be merged, each saying what to do."""
    problems = check_integrity(model, pin, record=record)
    if record.exists and previously_pinned_at is None:
        problems += _decision_problems(f"models.{model}", pin, record=record, decision=decision)
    return problems


def check_integrity(model: str, pin: PinnedModel, *, record: RegistryRecord) -> list[Problem]:
    """Whether the registry holds exactly what the entry pins: version, run, lineage, bytes."""
    where = f"models.{model}"
    if not record.exists:
        return [
            Problem(
                where,
                f"version {pin.version} is not registered in MLflow; "
                "pin a version that exists (see mlpin candidate's comment)",
            )
        ]
    problems = []
    if record.run_id != pin.run_id:
        problems.append(
            Problem(f"{where}.run_id", f"version {pin.version} was made by run {record.run_id}, not {pin.run_id}")
        )
    for field, key in (
        ("spec_hash", "spec_hash"),
        ("data_sha256", "data_sha256"),
        ("artifact_sha256", "artifact_sha256"),
    ):
        recorded = record.tags.get(tag(key))
        if recorded != getattr(pin, field):
            problems.append(
                Problem(
                    f"{where}.{field}",
                    f"the registry records {_short(recorded)} for version {pin.version}, "
                    f"the pin says {_short(getattr(pin, field))}",
                )
            )
    if record.artifact_sha256 != pin.artifact_sha256:
        problems.append(
            Problem(
                f"{where}.artifact_sha256",
                f"the stored artifact's sha256 is {_short(record.artifact_sha256)}, not {_short(pin.artifact_sha256)}; "
                "do not merge: the artifact or the pin was altered",
            )
        )
    return problems


def _decision_problems(
    where: str, pin: PinnedModel, *, record: RegistryRecord, decision: Decision | None
) -> list[Problem]:
    verdict = record.tags.get(tag("verdict"))
    if verdict is None or decision is None:
        return [
            Problem(
                where, f"version {pin.version} has no recorded candidate decision; it must come through mlpin candidate"
            )
        ]
    if decision.outcome != "passed":
        reasons = "; ".join(g.reason for g in decision.failed)
        return [Problem(where, f"version {pin.version}'s recorded evidence fails the policy at this commit: {reasons}")]
    return []


def _short(value: str | None) -> str:
    return "nothing" if value is None else value[:12] + "…"
