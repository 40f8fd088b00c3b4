"""Which registry aliases must move so MLflow mirrors the pin. Pure: the caller reads
the aliases and applies the moves."""

from __future__ import annotations

from pydantic import BaseModel

from pipelines.core.outcome import Kind
from pipelines.core.schemas import ProductionPins

ALIAS = "production"


class AliasMove(BaseModel):
    """One model's alias: what it points at, what the pin wants, and what happened."""

    model: str
    outcome: str  # moved | unchanged | removed | suspended | error
    live: int | None
    desired: int | None
    headline: str
    kind: Kind = Kind.DONE
    reason: str | None = None  # why an error left the alias where it was


def plan_rollout(pins: ProductionPins, live: dict[str, int]) -> list[AliasMove]:
    """A move per model that is pinned or holds the alias, in name order."""
    moves = []
    for model in sorted(set(pins.models) | set(live)):
        entry, current = pins.models.get(model), live.get(model)
        desired = entry.version if entry else None
        if entry is not None and entry.suspend:
            outcome, headline = "suspended", f"suspended in the pin; alias left at {_v(current)}"
        elif desired == current:
            outcome, headline = "unchanged", f"already at {_v(current)}"
        elif entry is None:
            outcome, headline = "removed", f"no longer pinned; alias removed from {_v(current)}"
        else:
            outcome, headline = "moved", f"{_v(current)} -> {_v(desired)}"
        moves.append(AliasMove(model=model, outcome=outcome, live=current, desired=desired, headline=headline))
    return moves


def _v(version: int | None) -> str:
    return "nothing" if version is None else f"v{version}"
