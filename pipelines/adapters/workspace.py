"""Reading every committed file of a repository into a `Workspace` snapshot.

Collects the problems of all files before raising, so one run of `mlpin validate`
shows everything that needs fixing; `read_workspace` also keeps the files that loaded,
so validate can go on to check their data.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from pipelines.adapters.yamlfile import load_document
from pipelines.core.consistency import check_workspace
from pipelines.core.errors import ConfigError, Problem
from pipelines.core.schemas import (
    DataPointer,
    DriftPolicy,
    ImageFolderPointer,
    ModelSpec,
    ProductionPins,
    PromotionPolicy,
)
from pipelines.core.workspace import DRIFT_POLICY_PATH, PIN_PATH, Workspace

RESERVED_MODEL_FILES = {"production"}
RESERVED_POLICY_FILES = {"drift"}


def load_workspace(root: Path) -> Workspace:
    """Parse specs, data pointers, policies and the pin; ConfigError lists every problem."""
    ws, problems = read_workspace(root)
    if problems:
        raise ConfigError(problems)
    return ws


def read_workspace(root: Path) -> tuple[Workspace, dict[str, list[Problem]]]:
    """Every file that loads, and the problems of all files: their own, and cross-file ones
    among those that loaded (a reference to a file that exists but does not load is not one)."""
    problems: dict[str, list[Problem]] = {}
    specs = _load_dir(root, "models", schema=ModelSpec, reserved=RESERVED_MODEL_FILES, problems=problems)
    pointers = _load_dir(root, "data", schema=DataPointer, reserved=set(), problems=problems, skip=_is_image_pointer)
    images = _load_dir(root, "data", schema=ImageFolderPointer, reserved=set(), problems=problems,
                       skip=lambda path: not _is_image_pointer(path))
    policies = _load_dir(root, "policies", schema=PromotionPolicy, reserved=RESERVED_POLICY_FILES, problems=problems)
    pins = _load_optional(root, PIN_PATH, schema=ProductionPins, problems=problems) or ProductionPins()
    drift = _load_optional(root, DRIFT_POLICY_PATH, schema=DriftPolicy, problems=problems)
    ws = Workspace(specs=specs, pointers=pointers, images=images, policies=policies, pins=pins, drift=drift)
    unloaded = frozenset(problems)
    for path, found in check_workspace(ws, unloaded=unloaded).items():
        problems.setdefault(path, []).extend(found)
    return ws, problems


def _is_image_pointer(path: Path) -> bool:
    """Whether a data pointer file declares an image or raw folder (read by its `format`
    line only; the schema check proper happens when it is loaded)."""
    from pipelines.core.schemas.data import IMAGE_FORMATS

    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    found = re.search(r"^format:\s*['\"]?([A-Za-z_]+)", text, re.MULTILINE)
    return found is not None and found.group(1) in IMAGE_FORMATS


def _load_dir(root: Path, folder: str, *, schema: type, reserved: set[str], problems: dict,
              skip: Callable[[Path], bool] | None = None) -> dict:
    loaded = {}
    for path in sorted((root / folder).glob("*.y*ml")):
        if path.stem in reserved or (skip is not None and skip(path)):
            continue
        rel = f"{folder}/{path.name}"
        if path.suffix == ".yml":
            problems.setdefault(rel, []).append(
                Problem("", f"rename to {folder}/{path.stem}.yaml; mlpin reads .yaml files")
            )
            continue
        try:
            loaded[path.stem] = load_document(root, rel, schema=schema)
        except ConfigError as exc:
            _merge(problems, exc)
    return loaded


def _load_optional(root: Path, rel: str, *, schema: type, problems: dict):
    if not (root / rel).exists():
        return None
    try:
        return load_document(root, rel, schema=schema)
    except ConfigError as exc:
        _merge(problems, exc)
        return None


def _merge(problems: dict[str, list[Problem]], exc: ConfigError) -> None:
    for path, found in exc.problems_by_path.items():
        problems.setdefault(path, []).extend(found)
