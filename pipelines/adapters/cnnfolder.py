"""A CNN (tasks/cnn.py) as an MLflow model folder, flavor `mlpin_cnn`:

    MLmodel              flavor mlpin_cnn {data: cnn, format_version: 1, input_example: ...},
                         a signature (float32 tensor (-1, H, W, C) in, string out) and
                         metadata (classes, input size and channels, and the spec's ISP
                         overrides when it has any: serving decodes raw uploads with them)
    cnn/                 cnnformat's cnn.json and weights.pt
    input_example.npy    the first images of the example (float32), when one is given

Every file is byte-identical for identical trainings (MLmodel up to the keys the artifact
digest leaves out), so two identical trainings have one digest. Reading follows only paths
inside the folder; the weights themselves are loaded by cnnformat, safely. Nothing here
imports torch until a CNN is actually saved or loaded.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from pipelines.adapters.modelformat import CNN_FLAVOR, UnsafeModel
from pipelines.adapters.modelregistry import CandidateLog

FLAVOR = CNN_FLAVOR
FORMAT_VERSION = 1
DATA = "cnn"
EXAMPLE = "input_example.npy"
EXAMPLE_IMAGES = 3  # enough for a smoke test, small enough to keep the folder light


def save_cnn_folder(entry: CandidateLog, folder: Path) -> None:
    """Write `entry`'s fitted CNN and its MLmodel into `folder` (created)."""
    from mlflow.models import Model

    from pipelines.adapters import cnnformat

    fitted = entry.fitted
    folder.mkdir(parents=True)
    cnnformat.save(fitted, folder / DATA)
    flavor: dict[str, Any] = {"data": DATA, "format_version": FORMAT_VERSION}
    if entry.example is not None:
        (folder / EXAMPLE).write_bytes(_npy(entry.example))
        flavor["input_example"] = EXAMPLE
    model = Model(signature=_signature(fitted), metadata=_metadata(fitted))
    model.add_flavor(FLAVOR, **flavor)
    model.save(str(folder / "MLmodel"))


def load_cnn_folder(folder: Path, flavor: dict[str, Any]) -> Any:
    """The FittedCnn in a folder whose MLmodel has `flavor`; UnsafeModel when the flavor is not
    one this mlpin wrote or its data lies outside the folder."""
    from pipelines.adapters import cnnformat

    if flavor.get("format_version") != FORMAT_VERSION or not isinstance(flavor.get("data"), str):
        raise UnsafeModel(f"{folder.name}: not a {FLAVOR} v{FORMAT_VERSION} model folder; not loaded: "
                          "retrain it with this mlpin")
    data = (folder / flavor["data"]).resolve()
    if not data.is_relative_to(folder.resolve()) or not data.is_dir():
        raise UnsafeModel(f"the model data {flavor['data']!r} is not inside the artifact; not loaded")
    return cnnformat.load(data)


def _npy(example: Any) -> bytes:
    import numpy as np

    buffer = io.BytesIO()
    np.save(buffer, np.asarray(example, dtype=np.float32)[:EXAMPLE_IMAGES], allow_pickle=False)
    return buffer.getvalue()


def _signature(fitted: Any) -> Any:
    import numpy as np
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema, TensorSpec

    height, width = fitted.params.input_size
    images = TensorSpec(np.dtype(np.float32), (-1, height, width, fitted.params.input_channels))
    return ModelSignature(inputs=Schema([images]), outputs=Schema([ColSpec("string")]))


def _metadata(fitted: Any) -> dict[str, Any]:
    found = {"classes": [str(c) for c in fitted.classes_], "input_size": list(fitted.params.input_size),
             "input_channels": fitted.params.input_channels}
    isp = getattr(fitted, "isp", None)  # only when the spec set any: earlier models keep their digest
    return found | ({"isp": dict(sorted(isp.items()))} if isp is not None else {})
