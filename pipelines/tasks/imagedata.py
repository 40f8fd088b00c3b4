"""An image dataset, verified and decoded: what image tasks train and score on.

The folder of a `format: image_folder` (PNG/JPG) or `format: raw_folder` (DNG) pointer is
checked against the pointer's digest and contract before a pixel is decoded; raw files go
through the seven-stage ISP (`tasks/isp.py`), the same code serving runs. Images come back
as one float32 array (N, H, W, C) in [0, 1], with their labels and relative paths, in the
folder's listing order (so a split by seed is the same on every machine).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.adapters.imagefolder import SUFFIXES, check_contract, folder_digest, list_images
from pipelines.core.errors import DataError
from pipelines.core.schemas import ImageFolderPointer
from pipelines.core.workspace import pointer_path


@dataclass(frozen=True)
class ImageSet:
    """Decoded images with their labels and relative paths."""

    images: np.ndarray  # (N, H, W, C) float32 in [0, 1]
    labels: list[str]
    paths: list[str]


def kind_of(pointer: ImageFolderPointer) -> str:
    """`raw` for a raw_folder, `image` for an image_folder (imagefolder's names)."""
    return "raw" if pointer.format == "raw_folder" else "image"


def verify_folder(root: Path, name: str, pointer: ImageFolderPointer) -> int:
    """Check the folder's digest and contract; DataError with every problem otherwise.
    Returns the number of images."""
    folder = (root / pointer.uri).resolve()
    where = pointer_path(name)
    if not folder.is_relative_to(root.resolve()) or not folder.is_dir():
        raise DataError(f"{where}: uri {pointer.uri!r} is not a folder inside the repository", dataset=name)
    kind = kind_of(pointer)
    actual = folder_digest(folder, suffixes=SUFFIXES[kind])
    if actual != pointer.sha256:
        raise DataError(f"{where}: the folder {pointer.uri} has sha256 {actual}, the pointer says {pointer.sha256}; "
                        "if the change is intended, write the new digest into the pointer", dataset=name)
    contract = pointer.contract
    problems = check_contract(folder, kind=kind, min_per_class=contract.min_per_class,  # type: ignore[arg-type]
                              allowed_sizes=contract.sizes, allowed_modes=contract.modes, labels=contract.labels)
    if problems:
        raise DataError(f"{where}: {len(problems)} contract problem(s) in {pointer.uri}", dataset=name,
                        problems=problems)
    return len(list_images(folder, suffixes=SUFFIXES[kind]))


def load_images(root: Path, name: str, pointer: ImageFolderPointer, *, isp: dict[str, Any] | None = None) -> ImageSet:
    """The verified folder, decoded: PNG/JPG as grayscale (mode L) or RGB, DNG through the ISP."""
    verify_folder(root, name, pointer)
    folder = (root / pointer.uri).resolve()
    files = list_images(folder, suffixes=SUFFIXES[kind_of(pointer)])
    decode = _raw if pointer.format == "raw_folder" else _picture
    arrays = [decode(folder / f.path, isp=isp) for f in files]
    shapes = sorted({a.shape for a in arrays})
    if len(shapes) != 1:
        raise DataError(f"{pointer_path(name)}: images of different shapes {shapes}; resize them to one size "
                        "(and set contract.sizes)", dataset=name)
    return ImageSet(np.stack(arrays).astype(np.float32), [f.label for f in files], [f.path for f in files])


def _picture(path: Path, *, isp: dict[str, Any] | None) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as opened:
        mode = "L" if opened.mode in ("1", "L", "I", "I;16", "F") else "RGB"
        pixels = np.asarray(opened.convert(mode), dtype=np.float32) / 255.0
    return pixels[:, :, None] if pixels.ndim == 2 else pixels


def _raw(path: Path, *, isp: dict[str, Any] | None) -> np.ndarray:
    from pipelines.tasks.isp import process_dng

    return np.asarray(process_dng(path, isp), dtype=np.float32)
