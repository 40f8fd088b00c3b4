"""Which registry aliases must move so MLflow mirrors the pin. Pure: the caller reads
the aliases and applies the moves."""

from __future__ import annotations

from collections.abc import Iterable

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


def entry_commit(history: Iterable[tuple[str, ProductionPins | None]], model: str) -> str | None:
    """The commit that set the version `model` has in the newest pin of `history` (commits
    and their pins, newest first; None: unreadable): the one a deploy of that version is
    credited to, whatever later commits changed for other models. Reads `history` only
    as far back as that commit's parent; None when `history` is empty."""
    found: str | None = None
    version: int | None = None
    for commit, pins in history:
        entry = pins.models.get(model) if pins else None
        current = entry.version if entry else None
        if found is not None and current != version:
            break
        found, version = commit, current
    return found


def _v(version: int | None) -> str:
    return "nothing" if version is None else f"v{version}"
