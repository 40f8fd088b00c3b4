"""`models/<model>.yaml`: what to train, on which data, how to split, which policy judges it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from pipelines.core.catalog import Task
from pipelines.core.schemas.base import Document, Name, Strict


class Estimator(Strict):
    """An estimator by catalog name, with hyperparameters passed to its constructor."""

    kind: str
    params: dict[str, Any] = Field(default_factory=dict)


class Split(Strict):
    """A deterministic train/test split."""

    test_fraction: float = Field(default=0.2, gt=0.0, lt=1.0)
    seed: int = Field(default=0, ge=0, le=2**32 - 1)
    stratify: bool = True


class ModelSpec(Document):
    """A training spec. `target` defaults to the data's target column, `features` to
    every column with the feature role. `drift_holdout` names labelled production rows
    (a data pointer with the same columns) that candidate and production are also scored on."""

    name: Name
    task: Task
    data: Name
    target: str | None = None
    features: list[str] | None = None
    estimator: Estimator
    split: Split = Field(default_factory=Split)
    policy: Name = "promotion"
    drift_holdout: Name | None = None
    description: str = ""
    # image tasks only: the ISP's parameters for raw folders (others from each DNG's metadata),
    # and whether training starts from scratch or from production's weights (fine-tuning)
    isp: dict[str, Any] | None = None
    init: Literal["scratch", "production"] = "scratch"
