"""Result files under `.mlpin/results/<model>/`, for people and for later stages."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from pipelines.adapters.atomic import write_atomic


def write_result(root: Path, model: str, *, name: str, result: BaseModel) -> Path:
    """Write `result` as `<name>.json` atomically; returns the path."""
    path = root / ".mlpin" / "results" / model / f"{name}.json"
    write_atomic(path, json.dumps(result.model_dump(mode="json"), indent=2, sort_keys=True) + "\n")
    return path
