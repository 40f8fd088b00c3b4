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
from typing import Any, BinaryIO

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
    folder: Path | None = None  # where `paths` are relative to


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
    return ImageSet(np.stack(arrays).astype(np.float32), [f.label for f in files], [f.path for f in files], folder)


def _picture(path: Path, *, isp: dict[str, Any] | None) -> np.ndarray:
    return decode_picture(path)


def _raw(path: Path, *, isp: dict[str, Any] | None) -> np.ndarray:
    return decode_raw(path, isp=isp)


def decode_picture(source: Path | BinaryIO, *, channels: int | None = None) -> np.ndarray:
    """A PNG/JPG as float32 (H, W, C) in [0, 1]: grayscale (mode L) or RGB, by the file's mode or, given
    `channels`, by the model's (1: L, 3: RGB). Training and serving both decode through here."""
    from PIL import Image

    with Image.open(source) as opened:
        if channels is None:
            mode = "L" if opened.mode in ("1", "L", "I", "I;16", "F") else "RGB"
        else:
            mode = "L" if channels == 1 else "RGB"
        pixels = np.asarray(opened.convert(mode), dtype=np.float32) / 255.0
    return pixels[:, :, None] if pixels.ndim == 2 else pixels


def decode_raw(source: Path | bytes, *, isp: dict[str, Any] | None,
               expected_size: tuple[int, int] | None = None) -> np.ndarray:
    """A DNG through the seven-stage ISP with the spec's `isp` overrides, as float32 (H, W, 3);
    training and serving both decode through here."""
    from pipelines.tasks.isp import process_dng

    return np.asarray(process_dng(source, isp, expected_size=expected_size), dtype=np.float32)


@dataclass(frozen=True)
class ImageSplit:
    """Training and held-out images with their labels, split by the spec's seed (stratified
    by class when the spec asks), shaped like the tabular split where stages look."""

    x_train: np.ndarray
    y_train: Any  # pd.Series of labels
    x_test: np.ndarray
    y_test: Any
    test_files: tuple[Path, ...] = ()  # the held-out images' files (raw robustness decodes them again)

    @property
    def train(self) -> Any:
        return self.y_train

    @property
    def test(self) -> Any:
        return self.x_test


def split_images(found: ImageSet, *, test_fraction: float, seed: int, stratify: bool, name: str) -> ImageSplit:
    """The deterministic split of a decoded folder (the same on every machine: listing order, seed)."""
    import pandas as pd
    from sklearn.model_selection import train_test_split

    labels = np.asarray(found.labels)
    index = np.arange(len(labels))
    try:
        train, test = train_test_split(index, test_size=test_fraction, random_state=seed,
                                       stratify=labels if stratify else None)
    except ValueError as exc:
        raise DataError(f"models/{name}.yaml: split: cannot split {len(labels)} images: {exc}", dataset=name) from exc
    train, test = np.sort(train), np.sort(test)
    files = tuple(found.folder / found.paths[i] for i in test) if found.folder is not None else ()
    return ImageSplit(found.images[train], pd.Series(labels[train], name="label"),
                      found.images[test], pd.Series(labels[test], name="label"), files)
