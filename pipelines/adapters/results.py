"""Result files under `.mlpin/results/<model>/`, for people and for later stages."""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import BaseModel


def write_result(root: Path, model: str, name: str, result: BaseModel) -> Path:
    """Write `result` as `<name>.json` atomically; returns the path."""
    folder = root / ".mlpin" / "results" / model
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result.model_dump(mode="json"), indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return path
