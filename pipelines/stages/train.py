"""`mlpin train <model>`: fit the spec's pipeline, score it on the held-out rows, and
register it in MLflow with its lineage. Everything is checked before MLflow is touched,
so invalid input never leaves a run or a version behind."""

from __future__ import annotations

import pipelines
from pipelines.adapters.modelregistry import CandidateLog
from pipelines.adapters.resultfiles import write_result
from pipelines.core.errors import InvalidInput
from pipelines.core.inputs import input_columns
from pipelines.core.lineage import tag
from pipelines.core.stage_results import TrainResult
from pipelines.stages.context import StageContext
from pipelines.stages.prepare import Prepared, prepare
from pipelines.tasks.scoring import score
from pipelines.tasks.tabular import build_pipeline

EXAMPLE_ROWS = 5


def train(ctx: StageContext, model: str) -> TrainResult:
    """Train, score and register one model; returns the registered version's record."""
    return train_prepared(ctx, prepare(ctx, model))


def train_prepared(ctx: StageContext, prep: Prepared) -> TrainResult:
    """Fit, score and register a prepared model (its data already verified and split)."""
    spec, progress, root = prep.spec, ctx.progress, ctx.root
    with progress.step(f"fitting {spec.estimator.kind} on {len(prep.split.x_train)} rows"):
        fitted = _fit(prep)
    with progress.step(f"scoring on {len(prep.split.x_test)} held-out rows"):
        scores = score(fitted, prep.split.x_test, prep.split.y_test, task=spec.task)
    commit, dirty = ctx.source_state()
    with progress.step("registering in MLflow"):
        logged = ctx.registry.log_candidate(_candidate_log(prep, fitted, scores=scores, commit=commit, dirty=dirty))
    result = TrainResult(
        model=spec.name, version=logged.version, run_id=logged.run_id, artifact_sha256=logged.artifact_sha256,
        spec_hash=prep.spec_hash, data_sha256=prep.pointer.sha256, git_commit=commit, git_dirty=dirty,
        task=spec.task, estimator=spec.estimator.kind, train_rows=len(prep.split.x_train),
        eval_rows=scores.rows, metrics=scores.metrics, confusion=scores.confusion, tracking_uri=logged.tracking_uri,
    )
    path = write_result(root, spec.name, name="train", result=result)
    return result.model_copy(update={"result_path": str(path)})


def _fit(prep: Prepared):
    pipeline = build_pipeline(prep.spec, prep.pointer, prep.features)
    try:
        return pipeline.fit(prep.split.x_train, prep.split.y_train)
    except (ValueError, TypeError) as exc:
        # scikit-learn validates hyperparameter values at fit time.
        raise InvalidInput(f"models/{prep.spec.name}.yaml: estimator.params: {exc}") from exc


def _candidate_log(prep: Prepared, fitted, *, scores, commit: str | None, dirty: bool) -> CandidateLog:
    spec = prep.spec
    tags = {
        tag("git_commit"): commit or "none",
        tag("git_dirty"): str(dirty).lower(),
        tag("spec_hash"): prep.spec_hash,
        tag("data_sha256"): prep.pointer.sha256,
        tag("seed"): str(spec.split.seed),
        tag("task"): spec.task,
        tag("estimator"): spec.estimator.kind,
        tag("mlpin_version"): pipelines.__version__,
    }
    return CandidateLog(
        model=spec.name,
        fitted=fitted,
        inputs=input_columns(prep.pointer, prep.features),
        output_type="string" if spec.task == "classification" else "double",
        example=prep.split.x_train.head(EXAMPLE_ROWS),
        params={
            "estimator": {"kind": spec.estimator.kind, **spec.estimator.params},
            "split": spec.split.model_dump(),
            "data": spec.data,
        },
        metrics=scores.metrics,
        tags=tags,
        extras={"confusion_matrix": scores.confusion} if scores.confusion else {},
    )
