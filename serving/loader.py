"""Loading a verified model folder and smoke-testing it before it may serve.

Only ever called with a folder whose sha256 the model store has just checked. A load
error and a smoke-test failure are different reasons, so the status says which step
broke; both are terminal: the same verified bytes fail the same way on every try.
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path

from pipelines.adapters.modelformat import load_folder
from pipelines.core.inputs import InputColumn, check_records, with_contract
from pipelines.core.lineage import tag
from serving.failures import ReconcileFailure
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
    from mlflow.models import Model

    try:
        meta = Model.load(str(path))
        signature = [
            InputColumn(name=c.name, type=c.type.name, required=c.required) for c in meta.signature.inputs.inputs
        ]
        columns = with_contract(signature, meta.metadata)  # the allowed values, stored beside the signature
        predictor = load_folder(path)  # skops with mlpin's trusted types; a pickle is refused
    except (MemoryError, OSError):
        raise  # the machine, not the model (out of memory, disk, file handles): retryable, not terminal
    except Exception as exc:  # unpickling can raise anything the pickle names
        raise LoadFailed(f"{name} v{version}: {type(exc).__name__}: {exc}") from exc
    return LiveModel(name=name, version=version, artifact_sha256=artifact_sha256, task=tags.get(tag("task"), "unknown"),
                     columns=columns, predictor=predictor, loaded_at=now, example=_example_records(meta, path))


def smoke_test(model: LiveModel) -> None:
    """Predict on the input example logged with the model; SmokeTestFailed if that fails."""
    records = model.example
    if not records:
        raise SmokeTestFailed(f"{model.name} v{model.version}: no readable input example was logged with the model")
    _, problems = check_records(records, model.columns)
    if problems:
        raise SmokeTestFailed(
            f"{model.name} v{model.version}: the input example does not fit the signature: {problems[0].msg}"
        )
    try:
        values = model.predict(records)
    except (MemoryError, OSError):
        raise  # the machine, not the model: retryable, not terminal
    except Exception as exc:  # whatever the estimator raises, the version must not serve
        raise SmokeTestFailed(
            f"{model.name} v{model.version}: predicting the input example failed: {type(exc).__name__}: {exc}"
        ) from exc
    if any(v is None or (isinstance(v, float) and not math.isfinite(v)) for v in values):
        raise SmokeTestFailed(
            f"{model.name} v{model.version}: the input example gave missing or non-finite predictions"
        )


def _example_records(meta, path: Path) -> list[dict]:
    try:
        example = meta.load_input_example(str(path))
    except Exception:  # an unreadable example: the smoke test reports it
        return []
    if example is None:
        return []
    return example.astype(object).where(example.notna(), None).to_dict(orient="records")
