"""`mlpin evaluate <model>`: score a registered candidate and the pinned production
model on the same held-out rows, and record production's scores on the candidate run."""

from __future__ import annotations

from typing import Any

from pipelines.adapters.modelregistry import ModelRegistry
from pipelines.adapters.resultfiles import write_result
from pipelines.core.compare import compare_metrics
from pipelines.core.errors import InvalidInput, NotFound
from pipelines.core.lineage import tag
from pipelines.core.stage_results import EvaluationResult, ScoredVersion
from pipelines.stages.context import StageContext
from pipelines.stages.prepare import Prepared, prepare
from pipelines.stages.rescoring import evaluate_holdout, load_production, score_production
from pipelines.tasks.kinds import kind_for
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
    model on the same held-out rows (and on the drift holdout, when the spec names one);
    production's scores join the candidate's run if it has one."""
    registry, progress, model = ctx.registry, ctx.progress, prep.spec.name
    label = "the unregistered candidate" if version is None else f"candidate v{version}"
    with progress.step(f"scoring {label} on {len(prep.split.test)} held-out rows"):
        scores = score(fitted, prep.split.x_test, prep.split.y_test, task=kind_for(prep.spec.task).scoring)
    candidate = ScoredVersion(version=version, metrics=scores.metrics, confusion=scores.confusion)
    pin = ctx.workspace.pins.models.get(model)
    prod_model = load_production(ctx, model, pin=pin)
    production, note = score_production(ctx, prod_model, pin, prep.split.test, prep.split.y_test, prep=prep,
                                         where=f"the same {len(prep.split.y_test)} held-out rows")
    if production is not None and version is not None:
        run_id = registry.run_id(model, version)
        registry.log_metrics(run_id, {f"production.{k}": v for k, v in production.metrics.items()})
    result = EvaluationResult(
        model=model, spec_hash=prep.spec_hash, eval_rows=scores.rows, candidate=candidate,
        production=production, production_note=note,
        comparison=compare_metrics(candidate.metrics, production.metrics if production else None),
        tracking_uri=registry.uri,
        drift_holdout=evaluate_holdout(ctx, prep, fitted, version=version, production=prod_model, pin=pin),
        robustness=_robustness(ctx, prep, fitted, production=prod_model),
    )
    path = write_result(ctx.root, model, name="evaluate", result=result)
    return result.model_copy(update={"result_path": str(path)})


def _robustness(ctx: StageContext, prep: Prepared, fitted: Any, *, production: Any) -> dict | None:
    """Candidate's and production's accuracy under fixed perturbations (image models only)."""
    kind = kind_for(prep.spec.task)
    with ctx.progress.step("robustness under fixed perturbations"):
        mine = kind.robustness(fitted, prep)
        if mine is None:
            return None
        theirs = kind.robustness(production, prep) if production is not None else None
    return {"candidate": mine, **({"production": theirs} if theirs else {})}


def _newest(registry: ModelRegistry, prep: Prepared) -> int:
    found = registry.newest_version(prep.spec.name, spec_hash=prep.spec_hash)
    if found is None:
        raise NotFound(
            f"no registered version of {prep.spec.name} was trained from the current spec "
            f"(spec hash {prep.spec_hash[:12]}…); run: mlpin train {prep.spec.name}"
        )
    return found

