"""Scoring beside the candidate's own held-out rows: the pinned production model loaded
once (digest-checked) and scored on any labelled rows, and both models on the spec's
drift holdout. Registers and decides nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipelines.core.compare import compare_metrics
from pipelines.core.errors import InvalidInput
from pipelines.core.schemas import PinnedModel
from pipelines.core.stage_results import HoldoutEvaluation, ScoredVersion
from pipelines.core.workspace import pointer_path
from pipelines.tasks.kinds import kind_for
from pipelines.tasks.scoring import score

if TYPE_CHECKING:
    from pipelines.stages.context import StageContext
    from pipelines.stages.prepare import Prepared


def load_production(ctx: StageContext, model: str, *, pin: PinnedModel | None) -> Any:
    """The pinned version, after its artifact digest matched the pin; None when nothing is pinned."""
    if pin is None:
        return None
    with ctx.progress.step(f"loading production v{pin.version}"):
        return ctx.registry.load_verified(model, pin.version, expected_sha256=pin.artifact_sha256)


def score_production(ctx: StageContext, fitted: Any, pin: PinnedModel | None, frame: Any, y: Any, *,
                     prep: Prepared, where: str) -> tuple[ScoredVersion | None, str]:
    """Production's scores on (frame, y), described as scored on `where`; None with the reason
    when nothing is pinned or it cannot score these rows."""
    if fitted is None or pin is None:
        return None, f"no production model is pinned for {prep.spec.name} yet"
    kind = kind_for(prep.spec.task)
    rows, why = kind.production_inputs(fitted, prep, frame)
    if rows is None:
        return None, f"production v{pin.version} {why}; not compared"
    try:
        with ctx.progress.step(f"re-scoring production v{pin.version} on {where}"):
            scores = score(fitted, rows, y, task=kind.scoring)
    except ValueError as exc:
        return None, f"production v{pin.version} could not score these rows ({exc}); not compared"
    note = f"production v{pin.version} scored on {where}"
    return ScoredVersion(version=pin.version, metrics=scores.metrics, confusion=scores.confusion), note


def evaluate_holdout(ctx: StageContext, prep: Prepared, fitted: Any, *, version: int | None, production: Any,
                     pin: PinnedModel | None) -> HoldoutEvaluation | None:
    """The candidate (after) and production (before) on the spec's drift holdout; None without one.
    The holdout's digest and contract are checked as any data's are."""
    name = prep.spec.drift_holdout
    if name is None:
        return None
    frame = ctx.table(name, target=prep.target)
    y = frame[prep.target]
    with ctx.progress.step(f"scoring the candidate on the {len(frame)} drift holdout rows ({pointer_path(name)})"):
        try:
            scores = score(fitted, frame[prep.features], y, task=prep.spec.task)
        except ValueError as exc:
            raise InvalidInput(f"{pointer_path(name)}: the candidate cannot score the drift holdout ({exc}); "
                               "fix the holdout rows or remove drift_holdout from the spec",
                               ids={"dataset": name}) from exc
    candidate = ScoredVersion(version=version, metrics=scores.metrics, confusion=scores.confusion)
    scored, note = score_production(ctx, production, pin, frame, y, prep=prep,
                                    where=f"the same {len(frame)} drift holdout rows")
    return HoldoutEvaluation(
        dataset=name, rows=scores.rows, candidate=candidate, production=scored, production_note=note,
        comparison=compare_metrics(candidate.metrics, scored.metrics if scored else None),
    )
