"""How a CNN (tasks/cnn.py) is stored and loaded back without running code mlpin did not choose.

A model folder holds two files, both byte-identical for identical trainings, so the
artifact digest of two identical trainings is the same:
- `cnn.json`: format, params (architecture, input size, normalisation) and classes;
- `weights.pt`: the state dict alone (layer name -> tensor), written by torch.save.
Loading builds the architecture from mlpin's own code and reads the weights with
`torch.load(weights_only=True)`, whose unpickler builds tensors and plain containers
only: a file naming any other callable is refused before anything in it runs. The
weights must then match the architecture tensor for tensor. (Callers still check the
artifact's sha256 first.)
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

from pipelines.adapters.atomic import write_atomic
from pipelines.adapters.modelformat import UnsafeModel
from pipelines.core.errors import InvalidInput
from pipelines.tasks.cnn import CnnParams, FittedCnn, build_network, checked_state, cnn_params

FORMAT = "mlpin-cnn"
FORMAT_VERSION = 1
META_FILE = "cnn.json"
WEIGHTS_FILE = "weights.pt"


def save(fitted: FittedCnn, folder: Path) -> None:
    """Write `fitted` into `folder` (created) as cnn.json and weights.pt."""
    import torch

    meta = {"format": FORMAT, "format_version": FORMAT_VERSION,
            "params": fitted.params.model_dump(mode="json"), "classes": [str(c) for c in fitted.classes_]}
    buffer = io.BytesIO()  # not the path: torch names the archive's root folder after the file
    torch.save(fitted.state_dict(), buffer)
    write_atomic(folder / WEIGHTS_FILE, buffer.getvalue())
    write_atomic(folder / META_FILE, json.dumps(meta, indent=2, sort_keys=True) + "\n")


def load(folder: Path) -> FittedCnn:
    """The CNN saved in `folder`; UnsafeModel if its files are not what `save` writes."""
    import numpy as np

    params, classes = _read_meta(folder / META_FILE)
    network = build_network(params, len(classes))
    state = _read_weights(folder / WEIGHTS_FILE)
    try:
        network.load_state_dict(checked_state(state, network, what=WEIGHTS_FILE))
    except InvalidInput as exc:
        raise UnsafeModel(f"{folder.name}: {exc.message}; not loaded", problems=exc.problems) from None
    network.eval()
    return FittedCnn(params, np.array(classes), network)


def _read_meta(path: Path) -> tuple[CnnParams, list[str]]:
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UnsafeModel(f"{path.name}: cannot read it ({exc}); not loaded") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("format_version") != FORMAT_VERSION:
        raise UnsafeModel(f"{path.name}: not a {FORMAT} v{FORMAT_VERSION} description; not loaded")
    classes = meta.get("classes")
    if not isinstance(classes, list) or len(classes) < 2 or not all(isinstance(c, str) for c in classes):
        raise UnsafeModel(f"{path.name}: 'classes' must list at least two class names; not loaded")
    params = meta.get("params")
    try:
        return cnn_params(params if isinstance(params, dict) else {"params": params}), classes
    except InvalidInput as exc:
        raise UnsafeModel(f"{path.name}: its params do not validate; not loaded", problems=exc.problems) from None


def _read_weights(path: Path) -> Any:
    import pickle

    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        # torch's own text suggests weights_only=False: keep only the refused global it names.
        found = re.search(r"WeightsUnpickler error: (.*?)(?: was not an allowed global|$)", str(exc), re.M)
        what = f" ({found.group(1).strip()})" if found and found.group(1).strip() else ""
        raise UnsafeModel(f"{path.name} holds more than tensors, and loading it could run code{what}; "
                          "not loaded: retrain it with this mlpin") from None
    except (OSError, RuntimeError, ValueError, EOFError) as exc:
        raise UnsafeModel(f"{path.name}: cannot read the weights ({exc}); not loaded") from None
