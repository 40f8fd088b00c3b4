"""`mlpin evaluate <model>`: score a registered candidate and the pinned production
model on the same held-out rows, and record production's scores on the candidate run."""

from __future__ import annotations

from typing import Any

from pipelines.adapters.modelregistry import ModelRegistry
from pipelines.adapters.resultfiles import write_result
from pipelines.core.compare import compare_metrics
from pipelines.core.errors import InvalidInput, NotFound
from pipelines.core.lineage import tag
from pipelines.core.schemas import PinnedModel
from pipelines.core.stage_results import EvaluationResult, ScoredVersion
from pipelines.progress import Progress
from pipelines.stages.context import StageContext
from pipelines.stages.prepare import Prepared, prepare
from pipelines.tasks.scoring import score


def evaluate(ctx: StageContext, model: str, *, version: int | None = None) -> EvaluationResult:
    """Candidate (given version, or newest trained from the current spec) vs production."""
    prep = prepare(ctx, model)
    return evaluate_prepared(ctx, prep, version=version if version is not None else _newest(ctx.registry, prep))


def evaluate_prepared(ctx: StageContext, prep: Prepared, *, version: int) -> EvaluationResult:
    """Score registered `version` and the pinned production model on a prepared model's held-out rows."""
    registry, model = ctx.registry, prep.spec.name
    tags = registry.version_tags(model, version)
    expected = tags.get(tag("artifact_sha256"))
    if not expected:
        raise InvalidInput(
            f"{model} v{version} was not registered by mlpin (no {tag('artifact_sha256')} tag); "
            f"train it with mlpin train {model}"
        )
    with ctx.progress.step(f"loading candidate v{version}"):
        fitted = registry.load_verified(model, version, expected_sha256=expected)
    return evaluate_fitted(ctx, prep, fitted, version=version)


def evaluate_fitted(ctx: StageContext, prep: Prepared, fitted: Any, *, version: int | None) -> EvaluationResult:
    """Score a fitted candidate (registered as `version`, or None) and the pinned production
    model on the same held-out rows; production's scores join the candidate's run if it has one."""
    registry, progress, model = ctx.registry, ctx.progress, prep.spec.name
    label = "the unregistered candidate" if version is None else f"candidate v{version}"
    with progress.step(f"scoring {label} on {len(prep.split.test)} held-out rows"):
        scores = score(fitted, prep.split.x_test, prep.split.y_test, task=prep.spec.task)
    candidate = ScoredVersion(version=version, metrics=scores.metrics, confusion=scores.confusion)
    pin = ctx.workspace.pins.models.get(model)
    production, note = _score_production(registry, prep, pin=pin, progress=progress)
    if production is not None and version is not None:
        run_id = registry.run_id(model, version)
        registry.log_metrics(run_id, {f"production.{k}": v for k, v in production.metrics.items()})
    result = EvaluationResult(
        model=model, spec_hash=prep.spec_hash, eval_rows=scores.rows, candidate=candidate,
        production=production, production_note=note,
        comparison=compare_metrics(candidate.metrics, production.metrics if production else None),
        tracking_uri=registry.uri,
    )
    path = write_result(ctx.root, model, name="evaluate", result=result)
    return result.model_copy(update={"result_path": str(path)})


def _newest(registry: ModelRegistry, prep: Prepared) -> int:
    found = registry.newest_version(prep.spec.name, spec_hash=prep.spec_hash)
    if found is None:
        raise NotFound(
            f"no registered version of {prep.spec.name} was trained from the current spec "
            f"(spec hash {prep.spec_hash[:12]}…); run: mlpin train {prep.spec.name}"
        )
    return found


def _score_production(
    registry: ModelRegistry, prep: Prepared, *, pin: PinnedModel | None, progress: Progress
) -> tuple[ScoredVersion | None, str]:
    name = prep.spec.name
    if pin is None:
        return None, f"no production model is pinned for {name} yet"
    with progress.step(f"re-scoring production v{pin.version} on the same rows"):
        fitted = registry.load_verified(name, pin.version, expected_sha256=pin.artifact_sha256)
        needed = [str(c) for c in getattr(fitted, "feature_names_in_", prep.features)]
        missing = [c for c in needed if c not in prep.split.test.columns]
        if missing:
            return None, f"production v{pin.version} needs columns this data lacks: {missing}; not compared"
        try:
            scores = score(fitted, prep.split.test[needed], prep.split.y_test, task=prep.spec.task)
        except ValueError as exc:
            return None, f"production v{pin.version} could not score these rows ({exc}); not compared"
    note = f"production v{pin.version} scored on the same {scores.rows} held-out rows"
    return ScoredVersion(version=pin.version, metrics=scores.metrics, confusion=scores.confusion), note
