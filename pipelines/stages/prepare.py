"""The part train and evaluate share: spec + verified data -> the deterministic split.

`mlpin candidate` prepares a model once and hands the result to both; the data comes
from the stage context, so it is read and hashed once per command whoever asks."""

from __future__ import annotations

from dataclasses import dataclass

import pipelines
from pipelines.core.catalog import IMAGE_TASKS
from pipelines.core.consistency import resolve_features, resolve_target
from pipelines.core.errors import ConfigError
from pipelines.core.lineage import spec_hash
from pipelines.core.schemas import DataPointer, ModelSpec
from pipelines.core.workspace import spec_path
from pipelines.stages.context import StageContext
from pipelines.tasks.estimators import check_params
from pipelines.tasks.split import Split, split_rows


@dataclass(frozen=True)
class Prepared:
    """A model's spec, data identity and split, ready to fit or score."""

    spec: ModelSpec
    pointer: DataPointer
    target: str
    features: list[str]
    split: Split
    spec_hash: str


def prepare(ctx: StageContext, model: str) -> Prepared:
    """Check hyperparameters, load and verify the data, and split it by the spec's seed."""
    spec = ctx.workspace.spec(model)
    if spec.task in IMAGE_TASKS:
        return _prepare_images(ctx, spec)
    pointer = ctx.workspace.pointer_for(spec)
    problems = check_params(spec.task, spec.estimator.kind, spec.estimator.params)
    if problems:
        raise ConfigError({spec_path(model): problems})
    target = resolve_target(spec, pointer)
    features = resolve_features(spec, pointer)
    frame = ctx.table(spec.data, target=target)
    split = split_rows(frame, spec, target=target, features=features)
    digest = spec_hash(spec, pointer, mlpin_version=pipelines.__version__, holdout=ctx.workspace.holdout_for(spec))
    return Prepared(spec, pointer, target, features, split, digest)


def _prepare_images(ctx: StageContext, spec: ModelSpec) -> Prepared:
    """Check the CNN's hyperparameters, verify and decode the image folder, and split it."""
    from pipelines.tasks.imagedata import load_images, split_images

    problems = check_params(spec.task, spec.estimator.kind, spec.estimator.params)
    if problems:
        raise ConfigError({spec_path(spec.name): problems})
    pointer = ctx.workspace.images_for(spec)
    with ctx.progress.step(f"loading {pointer.uri} (verifying sha256 and contract)"):
        found = load_images(ctx.root, spec.data, pointer, isp=spec.isp)
    split = split_images(found, test_fraction=spec.split.test_fraction, seed=spec.split.seed,
                         stratify=spec.split.stratify, name=spec.name)
    digest = spec_hash(spec, pointer, mlpin_version=pipelines.__version__)
    return Prepared(spec, pointer, "label", [], split, digest)  # type: ignore[arg-type]
