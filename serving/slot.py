"""The live models, one slot per name, swapped atomically.

A request takes the slot's model once and finishes on it, whatever swaps meanwhile:
swapping replaces the whole mapping (copy on write), so readers never lock and never
see half a change. Nothing here loads or verifies a model; the reconciler does.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from pipelines.core.inputs import InputColumn, columns_of
from pipelines.core.sync import Live
from serving.images import ImageInput

NUMERIC = {"double", "float", "long", "integer"}


class NumericOverflow(ValueError):
    """Valid inputs the model's arithmetic turned into infinity or NaN (huge but finite numbers):
    the request's fault, not the server's, and never an answer."""


@dataclass(frozen=True)
class LiveModel:
    """A loaded, smoke-tested model version and what clients need to call it."""

    name: str
    version: int
    artifact_sha256: str
    task: str
    columns: list[InputColumn]
    predictor: Any
    loaded_at: datetime
    example: list[dict]  # the input example logged with the model, as records (none for an image model)
    image: ImageInput | None = None  # what an image model takes; None for a tabular one

    def predict(self, records: list[Any], *, values: list[list] | None = None) -> list:
        """Predictions for already validated records (decoded images for an image model), as plain
        JSON-able values: a label each, and for images `{"label", "probabilities"}` each. `values`:
        the records' values per column, when the check gathered them."""
        if self.image is not None:
            return self.classify(np.stack([r.pixels for r in records]))
        try:
            output = self.predictor.predict(to_frame(records, self.columns, values=values))
        except ValueError as exc:
            if "infinity" in str(exc) or "NaN" in str(exc):  # scikit-learn's check of its own input
                raise NumericOverflow(str(exc)) from exc
            raise
        values = output.tolist() if hasattr(output, "tolist") else list(output)
        if len(values) != len(records):
            raise ValueError(f"{len(values)} predictions for {len(records)} records")
        if any(isinstance(v, float) and not math.isfinite(v) for v in values):
            raise NumericOverflow("the model predicted infinity or NaN")
        return values


    def classify(self, images: Any) -> list[dict[str, Any]]:
        """The most probable class of each image (float32 (N, H, W, C)) and every class's probability."""
        probabilities = np.asarray(self.predictor.predict_proba(images), dtype=np.float64)
        if probabilities.shape != (len(images), len(self.predictor.classes_)) or not np.isfinite(probabilities).all():
            raise ValueError(f"the model gave probabilities of shape {probabilities.shape} for {len(images)} images, "
                             "or non-finite ones")
        classes = [str(c) for c in self.predictor.classes_]
        return [{"label": classes[int(row.argmax())], "probabilities": dict(zip(classes, map(float, row), strict=True))}
                for row in probabilities]


def to_frame(records: list[dict], columns: list[InputColumn], *, values: list[list] | None = None) -> Any:
    """Records as the frame the model was trained on: numbers float64, text with NaN gaps.

    Built from numpy arrays, not pandas' record constructor plus casts (~20x slower, most
    of a single-row prediction); the records are turned into columns by C loops when every
    record has every field (a 10k-row batch: ~10 ms, not ~60), or taken from `values` where the
    batch check already gathered them (per column, in `columns`' order).
    """
    import numpy as np
    import pandas as pd

    names = [c.name for c in columns]
    found = values or columns_of(records, names) or [[r.get(n) for r in records] for n in names]  # a field absent
    data = {}
    for column, column_values in zip(columns, found, strict=True):
        if column.type in NUMERIC:
            data[column.name] = np.array(column_values, dtype="float64")  # None becomes NaN
        else:
            data[column.name] = np.array([np.nan if v is None else v for v in column_values], dtype=object)
    return pd.DataFrame(data, copy=False)


class Slots:
    """Name -> live model. Reads take no lock; writers replace the mapping under one."""

    def __init__(self) -> None:
        self._models: dict[str, LiveModel] = {}
        self._write = threading.Lock()

    def get(self, name: str) -> LiveModel | None:
        """The model serving `name` now, or None."""
        return self._models.get(name)

    def all(self) -> list[LiveModel]:
        """Every live model, by name."""
        current = self._models
        return [current[name] for name in sorted(current)]

    def live(self) -> dict[str, Live]:
        """What each slot serves, for sync planning."""
        return {m.name: Live(version=m.version, artifact_sha256=m.artifact_sha256) for m in self.all()}

    def swap(self, model: LiveModel) -> LiveModel | None:
        """Serve `model` from now on; returns the model it replaced."""
        with self._write:
            previous = self._models.get(model.name)
            self._models = {**self._models, model.name: model}
        return previous

    def remove(self, name: str) -> None:
        """Stop serving `name` (it was unpinned)."""
        with self._write:
            self._models = {k: v for k, v in self._models.items() if k != name}
