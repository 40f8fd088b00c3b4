"""One pydantic model per committed file. Structure only; cross-file checks live in
`pipelines.core.consistency`."""

from pipelines.core.schemas.data import Column, Contract, DataPointer, ImageContract, ImageFolderPointer, Range
from pipelines.core.schemas.pin import PinnedModel, PinOrigin, ProductionPins
from pipelines.core.schemas.policy import DriftPolicy, MetricGate, PromotionPolicy, RegressionGate
from pipelines.core.schemas.spec import Estimator, ModelSpec, Split

__all__ = [
    "Column",
    "Contract",
    "DataPointer",
    "DriftPolicy",
    "Estimator",
    "ImageContract",
    "ImageFolderPointer",
    "MetricGate",
    "ModelSpec",
    "PinOrigin",
    "PinnedModel",
    "ProductionPins",
    "PromotionPolicy",
    "Range",
    "RegressionGate",
    "Split",
]
