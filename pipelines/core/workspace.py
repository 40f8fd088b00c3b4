"""The committed desired state, read once into plain objects.

Adapters build a Workspace from files; stages and checks decide over it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipelines.core.errors import NotFound
from pipelines.core.schemas import (
    DataPointer,
    DriftPolicy,
    ImageFolderPointer,
    ModelSpec,
    ProductionPins,
    PromotionPolicy,
)

PIN_PATH = "models/production.yaml"
DRIFT_POLICY_PATH = "policies/drift.yaml"


def spec_path(model: str) -> str:
    """Repository-relative path of a model's training spec."""
    return f"models/{model}.yaml"


def pointer_path(dataset: str) -> str:
    """Repository-relative path of a data pointer."""
    return f"data/{dataset}.yaml"


def policy_path(policy: str) -> str:
    """Repository-relative path of a promotion policy."""
    return f"policies/{policy}.yaml"


@dataclass(frozen=True)
class Workspace:
    """Every committed file, parsed. Keys are file stems."""

    specs: dict[str, ModelSpec] = field(default_factory=dict)
    pointers: dict[str, DataPointer] = field(default_factory=dict)
    images: dict[str, ImageFolderPointer] = field(default_factory=dict)  # image and raw folders
    policies: dict[str, PromotionPolicy] = field(default_factory=dict)
    pins: ProductionPins = field(default_factory=ProductionPins)
    drift: DriftPolicy | None = None

    def spec(self, model: str) -> ModelSpec:
        """The spec of `model`, or NotFound listing the models that exist."""
        if model not in self.specs:
            known = ", ".join(sorted(self.specs)) or "none"
            raise NotFound(f"no model '{model}' ({spec_path(model)} does not exist); models: {known}")
        return self.specs[model]

    def pointer_for(self, spec: ModelSpec) -> DataPointer:
        """The data pointer a spec names (consistency checks guarantee it exists)."""
        return self.pointers[spec.data]

    def data_for(self, spec: ModelSpec) -> DataPointer | ImageFolderPointer:
        """The pointer a spec trains on, a table's or an image folder's (what its spec hash covers)."""
        return self.images[spec.data] if spec.data in self.images else self.pointers[spec.data]

    def images_for(self, spec: ModelSpec) -> ImageFolderPointer:
        """The image folder pointer an image task's spec names (consistency checks guarantee it)."""
        return self.images[spec.data]

    def holdout_for(self, spec: ModelSpec) -> DataPointer | None:
        """The drift holdout pointer a spec names, or None when it names none."""
        return self.pointers[spec.drift_holdout] if spec.drift_holdout else None

    def policy_for(self, spec: ModelSpec) -> PromotionPolicy:
        """The promotion policy a spec names."""
        return self.policies[spec.policy]
