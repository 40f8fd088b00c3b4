"""What serving needs from a verified model folder's MLmodel file, read without importing MLflow.

A restart whose pinned versions are in the verified cache needs only the flavors, the
signature's columns, the metadata and the input example: reading them from the YAML and
JSON files MLflow wrote takes milliseconds, where importing MLflow takes seconds. A
layout this module does not know (another example format, a signature without column
names) is read by MLflow's own `Model.load`, as before. Nothing here loads a model.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass
from importlib.abc import MetaPathFinder
from pathlib import Path
from typing import Any

from pipelines.adapters.modelformat import CNN_FLAVOR
from pipelines.core.inputs import ACCEPTS, InputColumn


@dataclass(frozen=True)
class ModelMeta:
    """The parts of an MLmodel file serving uses (an image model has no columns and no records)."""

    flavors: dict[str, Any]
    metadata: dict[str, Any] | None
    columns: list[InputColumn]
    example: list[dict]  # the logged input example as records; empty when there is none or it is unreadable


def read_model_meta(path: Path) -> ModelMeta:
    """The MLmodel of the folder `path`, read directly where its layout is the one MLflow writes
    for mlpin's models, else by MLflow."""
    return _read_directly(path) or _read_with_mlflow(path)


def _read_directly(path: Path) -> ModelMeta | None:
    import yaml

    found = yaml.safe_load((path / "MLmodel").read_text())
    if not isinstance(found, dict) or not isinstance(found.get("flavors"), dict):
        return None
    metadata = found.get("metadata")
    if CNN_FLAVOR in found["flavors"]:
        return ModelMeta(flavors=found["flavors"], metadata=metadata, columns=[], example=[])
    columns = _columns((found.get("signature") or {}).get("inputs"))
    example = _example(path, found.get("saved_input_example_info"))
    if columns is None or example is None:
        return None
    return ModelMeta(flavors=found["flavors"], metadata=metadata, columns=columns, example=example)


def _columns(inputs: Any) -> list[InputColumn] | None:
    """The signature's columns, when every one is a named column of a type mlpin checks."""
    specs = json.loads(inputs) if isinstance(inputs, str) else None
    if not isinstance(specs, list) or not all(
        isinstance(s, dict) and isinstance(s.get("name"), str) and s.get("type") in ACCEPTS for s in specs
    ):
        return None
    return [InputColumn(name=s["name"], type=s["type"], required=s.get("required", True)) for s in specs]


def _example(path: Path, info: Any) -> list[dict] | None:
    """The input example as records (null for a missing value); [] when none was logged; None when
    its format is not a split-oriented data frame in a file of the folder (MLflow reads it then)."""
    if info is None:
        return []
    if not isinstance(info, dict) or info.get("type") != "dataframe" or info.get("pandas_orient") != "split":
        return None
    file = (path / str(info.get("artifact_path"))).resolve()
    if not file.is_relative_to(path.resolve()) or not file.is_file():
        return None
    try:
        frame = json.loads(file.read_text())
        columns, rows = frame["columns"], frame["data"]
        return [{c: (None if isinstance(v, float) and math.isnan(v) else v) for c, v in zip(columns, row, strict=True)}
                for row in rows]
    except (ValueError, KeyError, TypeError):
        return None


def _read_with_mlflow(path: Path) -> ModelMeta:
    from mlflow.models import Model

    meta = Model.load(str(path))
    if CNN_FLAVOR in meta.flavors:
        return ModelMeta(flavors=meta.flavors, metadata=meta.metadata, columns=[], example=[])
    columns = [InputColumn(name=c.name, type=c.type.name, required=c.required) for c in meta.signature.inputs.inputs]
    return ModelMeta(flavors=meta.flavors, metadata=meta.metadata, columns=columns, example=_mlflow_example(meta, path))


def _mlflow_example(meta: Any, path: Path) -> list[dict]:
    try:
        example = meta.load_input_example(str(path))
    except Exception:  # an unreadable example: the smoke test reports it
        return []
    if example is None:
        return []
    return example.astype(object).where(example.notna(), None).to_dict(orient="records")


# Imported by scikit-learn when present, needed by none of its estimators' predictions: torch
# (the array-API shim), rich (training progress bars) and pytest (its testing helpers).
OPTIONAL_DURING_SKOPS = ("torch", "rich", "pytest", "_pytest")


class _Refused(MetaPathFinder):
    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name.split(".", 1)[0] in OPTIONAL_DURING_SKOPS:
            raise ModuleNotFoundError(f"No module named {name!r} (not needed to load a scikit-learn model)", name=name)


def import_skops() -> None:
    """Import skops with `import torch`, `import rich` and `import pytest` failing fast meanwhile
    (~1 s saved at a cold start for torch, a few tenths for the other two).

    skops lists every scikit-learn estimator by importing every package of scikit-learn,
    and some of them import these when installed: the array-API shim torch (for image
    models), the progress bar rich, the testing helpers pytest. scikit-learn tolerates
    their absence, and each stays importable afterwards. Nothing to do once skops or torch
    is imported."""
    if "skops.io" in sys.modules or "torch" in sys.modules:
        return
    blocker = _Refused()
    sys.meta_path.insert(0, blocker)
    try:
        import skops.io  # noqa: F401
    finally:
        sys.meta_path.remove(blocker)
