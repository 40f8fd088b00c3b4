"""`mlpin train <model>`: fit the spec's pipeline, score it on the held-out rows, and
register it in MLflow with its lineage. Everything is checked before MLflow is touched,
so invalid input never leaves a run or a version behind."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pipelines
from pipelines.adapters.modelregistry import CandidateLog
from pipelines.adapters.resultfiles import write_result
from pipelines.core.errors import InvalidInput
from pipelines.core.lineage import tag
from pipelines.core.stage_results import TrainResult
from pipelines.stages.context import StageContext
from pipelines.stages.prepare import Prepared, prepare
from pipelines.tasks.kinds import kind_for
from pipelines.tasks.scoring import Scores, score


def train(ctx: StageContext, model: str) -> TrainResult:
    """Train, score and register one model; returns the registered version's record."""
    return train_prepared(ctx, prepare(ctx, model))


@dataclass(frozen=True)
class Built:
    """A fitted and scored candidate, not registered anywhere yet."""

    prep: Prepared
    fitted: Any
    log: CandidateLog  # what registering it records
    scores: Scores
    commit: str | None
    dirty: bool
    init_version: int | None = None  # fine-tuned from this production version


def build_prepared(ctx: StageContext, prep: Prepared) -> Built:
    """Fit and score a prepared model (its data already verified and split); writes nothing."""
    spec, progress, kind = prep.spec, ctx.progress, kind_for(prep.spec.task)
    init = _initial(ctx, prep)
    start = f" from production v{ctx.workspace.pins.models[spec.name].version}'s weights" if init is not None else ""
    with progress.step(f"fitting {spec.estimator.kind} on {len(prep.split.x_train)} rows{start}"):
        fitted = kind.fit(prep, init=init, progress=progress.note)
    with progress.step(f"scoring on {len(prep.split.x_test)} held-out rows"):
        scores = score(fitted, prep.split.x_test, prep.split.y_test, task=kind.scoring)
    commit, dirty = ctx.source_state()
    version = ctx.workspace.pins.models[spec.name].version if init is not None else None
    log = _candidate_log(prep, fitted, scores=scores, commit=commit, dirty=dirty, init_version=version)
    return Built(prep=prep, fitted=fitted, log=log, scores=scores, commit=commit, dirty=dirty, init_version=version)


def train_prepared(ctx: StageContext, prep: Prepared) -> TrainResult:
    """Fit, score and register a prepared model."""
    return register_built(ctx, build_prepared(ctx, prep))


def register_built(ctx: StageContext, built: Built) -> TrainResult:
    """Register a built candidate as the model's next version."""
    with ctx.progress.step("registering in MLflow"):
        logged = ctx.registry.log_candidate(built.log)
    return _result(ctx, built, version=logged.version, run_id=logged.run_id, digest=logged.artifact_sha256,
                   tracking_uri=logged.tracking_uri)


def unregistered(ctx: StageContext, built: Built) -> TrainResult:
    """The record of a built candidate that is not registered (a pull request's: its job may
    not write to the registry), with the artifact digest registering it would record."""
    with ctx.progress.step("measuring the artifact digest (not registered)"):
        digest = ctx.registry.artifact_digest_of(built.log)
    return _result(ctx, built, version=None, run_id=None, digest=digest, tracking_uri=ctx.registry.uri)


def _result(ctx: StageContext, built: Built, *, version: int | None, run_id: str | None, digest: str,
            tracking_uri: str) -> TrainResult:
    prep, scores, spec = built.prep, built.scores, built.prep.spec
    result = TrainResult(
        model=spec.name, version=version, run_id=run_id, artifact_sha256=digest,
        spec_hash=prep.spec_hash, data_sha256=prep.pointer.sha256, git_commit=built.commit, git_dirty=built.dirty,
        task=spec.task, estimator=spec.estimator.kind, train_rows=len(prep.split.x_train),
        eval_rows=scores.rows, metrics=scores.metrics, confusion=scores.confusion, tracking_uri=tracking_uri,
        init_version=built.init_version,
    )
    path = write_result(ctx.root, spec.name, name="train", result=result)
    return result.model_copy(update={"result_path": str(path)})


def _initial(ctx: StageContext, prep: Prepared) -> Any:
    """Production's model when the spec fine-tunes from it (`init: production`), else None."""
    if prep.spec.init != "production":
        return None
    pin = ctx.workspace.pins.models.get(prep.spec.name)
    if pin is None:
        raise InvalidInput(f"models/{prep.spec.name}.yaml: init: production, but nothing is pinned for "
                           f"{prep.spec.name} yet; train from scratch first (init: scratch)")
    with ctx.progress.step(f"loading production v{pin.version} to fine-tune"):
        return ctx.registry.load_verified(prep.spec.name, pin.version, expected_sha256=pin.artifact_sha256)


def _candidate_log(prep: Prepared, fitted, *, scores, commit: str | None, dirty: bool,
                   init_version: int | None = None) -> CandidateLog:
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
    signature = kind_for(spec.task).signature(prep)
    if init_version is not None:
        tags[tag("init")] = f"production v{init_version}"
    return CandidateLog(
        model=spec.name,
        fitted=fitted,
        inputs=signature.inputs,
        output_type=signature.output_type,
        example=signature.example,
        params={
            "estimator": {"kind": spec.estimator.kind, **spec.estimator.params},
            "split": spec.split.model_dump(),
            "data": spec.data,
        },
        metrics=scores.metrics,
        tags=tags,
        extras={"confusion_matrix": scores.confusion} if scores.confusion else {},
    )
