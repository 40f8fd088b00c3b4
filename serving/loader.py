"""Loading a verified model folder and smoke-testing it before it may serve.

Only ever called with a folder whose sha256 the model store has just checked. A load
error and a smoke-test failure are different reasons, so the status says which step
broke; both are terminal: the same verified bytes fail the same way on every try.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from pipelines.adapters.modelformat import CNN_FLAVOR, load_folder
from pipelines.core.inputs import check_records, with_contract
from pipelines.core.lineage import tag
from serving.failures import ReconcileFailure
from serving.images import ImageInput
from serving.mlmodel import read_model_meta
from serving.slot import LiveModel


class LoadFailed(ReconcileFailure):
    """The verified folder could not be turned into a model (unpickling, MLmodel, signature)."""

    def __init__(self, message: str) -> None:
        super().__init__("LoadFailed", message, terminal=True)


class SmokeTestFailed(ReconcileFailure):
    """The model loaded but did not answer its own logged input example sensibly."""

    def __init__(self, message: str) -> None:
        super().__init__("SmokeTestFailed", message, terminal=True)


def load(
    path: Path, *, name: str, version: int, artifact_sha256: str, tags: dict[str, str], now: datetime
) -> LiveModel:
    """Load the model (skops, trusted types only), its signature and allowed values; LoadFailed says why not."""
    try:
        meta = read_model_meta(path)
        if CNN_FLAVOR in meta.flavors:
            return _load_image(path, meta, name=name, version=version, artifact_sha256=artifact_sha256, now=now)
        columns = with_contract(meta.columns, meta.metadata)  # the allowed values, stored beside the signature
        predictor = load_folder(path)  # skops with mlpin's trusted types; a pickle is refused
    except (MemoryError, OSError):
        raise  # the machine, not the model (out of memory, disk, file handles): retryable, not terminal
    except LoadFailed:
        raise
    except Exception as exc:  # unpickling can raise anything the pickle names
        raise LoadFailed(f"{name} v{version}: {type(exc).__name__}: {exc}") from exc
    return LiveModel(name=name, version=version, artifact_sha256=artifact_sha256, task=tags.get(tag("task"), "unknown"),
                     columns=columns, predictor=predictor, loaded_at=now, example=meta.example)


def _load_image(path: Path, meta, *, name: str, version: int, artifact_sha256: str, now: datetime) -> LiveModel:
    """A CNN folder (cnnfolder): the network, what it takes (from its MLmodel metadata) and its example images."""
    predictor = load_folder(path)  # cnnformat: mlpin's architecture, tensors only
    found = meta.metadata or {}
    params = predictor.params
    isp = found.get("isp")
    image = ImageInput(classes=[str(c) for c in predictor.classes_], input_size=tuple(params.input_size),
                       channels=params.input_channels, isp=dict(isp) if isinstance(isp, dict) else None,
                       example=_example_images(path, meta.flavors[CNN_FLAVOR]))
    return LiveModel(name=name, version=version, artifact_sha256=artifact_sha256, task="image_classification",
                     columns=[], predictor=predictor, loaded_at=now, example=[], image=image)


def _example_images(path: Path, flavor: dict) -> Any:
    """The images logged with the model (input_example.npy, no pickles), or None when unreadable."""
    import numpy as np

    given = flavor.get("input_example")
    if not isinstance(given, str):
        return None
    file = (path / given).resolve()
    if not file.is_relative_to(path.resolve()):
        return None
    try:
        return np.load(file, allow_pickle=False)
    except (OSError, ValueError):
        return None


def smoke_test(model: LiveModel) -> None:
    """Predict on the input example logged with the model; SmokeTestFailed if that fails."""
    if model.image is not None:
        _smoke_test_images(model, model.image)
        return
    records = model.example
    if not records:
        raise SmokeTestFailed(f"{model.name} v{model.version}: no readable input example was logged with the model")
    _, problems = check_records(records, model.columns)
    if problems:
        raise SmokeTestFailed(
            f"{model.name} v{model.version}: the input example does not fit the signature: {problems[0].msg}"
        )
    values = _predicting(f"{model.name} v{model.version}", lambda: model.predict(records))
    if any(v is None or (isinstance(v, float) and not math.isfinite(v)) for v in values):
        raise SmokeTestFailed(
            f"{model.name} v{model.version}: the input example gave missing or non-finite predictions"
        )


def _smoke_test_images(model: LiveModel, image: ImageInput) -> None:
    """Classify the logged example images: one finite answer each, labels among the classes."""
    where = f"{model.name} v{model.version}"
    example = image.example
    wanted = (*image.input_size, image.channels)
    if example is None or example.ndim != 4 or len(example) == 0 or tuple(example.shape[1:]) != wanted:
        raise SmokeTestFailed(f"{where}: no readable input example of {wanted} images was logged with the model")
    answers = _predicting(where, lambda: model.classify(example.astype("float32")))
    if len(answers) != len(example) or any(a["label"] not in image.classes for a in answers):
        raise SmokeTestFailed(f"{where}: the input example gave no label, or one outside its classes, per image")


def _predicting(where: str, predict: Callable[[], Any]) -> Any:
    """The model's answer to its own input example; SmokeTestFailed for whatever the model
    raises, while the machine's own failures (memory, files) stay retryable."""
    try:
        return predict()
    except (MemoryError, OSError):
        raise  # the machine, not the model: retryable, not terminal
    except Exception as exc:  # whatever the estimator or network raises, the version must not serve
        raise SmokeTestFailed(f"{where}: predicting the input example failed: {type(exc).__name__}: {exc}") from exc
