"""Image datasets as folders of class subfolders: `<root>/<label>/<file>`.

The dataset is every file directly inside a label folder whose suffix (any case) is one
of `suffixes`. Not part of it, so neither listed nor hashed: hidden entries (a name
starting with '.', e.g. .DS_Store, at either level), files of other suffixes, files
directly in the root, and folders nested inside a label folder; `check_contract`
reports all but the hidden ones, since a person probably meant them to count.
A symlink is followed when its target lies inside the root (it counts under the link's
own path); one that leaves the root, or leads nowhere, is refused: `list_images` and
`folder_digest` raise DataError, `check_contract` reports it.

This module reads the folder; it never writes or deletes anything in it.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pipelines.adapters.digest import sha256_file
from pipelines.adapters.imageheader import HeaderError, read_header
from pipelines.core.errors import DataError, Problem

Kind = Literal["image", "raw"]
SUFFIXES: dict[str, tuple[str, ...]] = {"image": (".png", ".jpg", ".jpeg"), "raw": (".dng",)}


@dataclass(frozen=True)
class ImageFile:
    """One image: its path relative to the root (POSIX, `<label>/<name>`), label and size."""

    path: str
    label: str
    size_bytes: int


@dataclass
class Scan:
    """A folder read once: the images, every label folder (even empty), the entries that
    make it unusable (`refused`) and those left out that a person may have meant (`ignored`)."""

    files: list[ImageFile] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    refused: list[Problem] = field(default_factory=list)
    ignored: list[Problem] = field(default_factory=list)


def list_images(root: Path, *, suffixes: tuple[str, ...] | list[str]) -> list[ImageFile]:
    """Every image of the dataset, sorted by label, then name (code point order; as Paths sort)."""
    scan = scan_folder(root, suffixes=suffixes)
    if scan.refused:
        raise DataError(f"{root}: cannot read the image folder", dataset=root.name, problems=scan.refused)
    return scan.files


def folder_digest(root: Path, *, suffixes: tuple[str, ...] | list[str]) -> str:
    """sha256 over each image's relative path and the sha256 of its bytes, in listing order.

    Framed as `path NUL sha256-hex LF` per file (a path holds no NUL), the same framing
    as `digest.sha256_tree`, so for a folder holding only images both agree.
    """
    digest = hashlib.sha256()
    for image in list_images(root, suffixes=suffixes):
        digest.update(image.path.encode() + b"\0")
        digest.update(sha256_file(root / image.path).encode() + b"\n")
    return digest.hexdigest()


def scan_folder(root: Path, *, suffixes: tuple[str, ...] | list[str]) -> Scan:
    """Read the folder's layout once (no file contents)."""
    wanted = {s.lower() for s in suffixes}
    scan, real_root = Scan(), root.resolve()
    if not root.is_dir():
        scan.refused.append(Problem(str(root), "is not a folder; point uri at a folder of class subfolders"))
        return scan
    for entry in _visible(root):
        if _refused(entry, entry.name, real_root=real_root, scan=scan):
            continue
        if not entry.is_dir():
            scan.ignored.append(Problem(entry.name, "is not in a label folder and is not read; move it into one"))
            continue
        scan.labels.append(entry.name)
        for item in _visible(entry):
            _add_item(item, entry.name, wanted=wanted, real_root=real_root, scan=scan)
    scan.files.sort(key=lambda f: (f.label, f.path[len(f.label) + 1:]))
    return scan


def _visible(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if not p.name.startswith(".")), key=lambda p: p.name)


def _refused(entry: Path, rel: str, *, real_root: Path, scan: Scan) -> bool:
    """Whether `entry` (at `rel`) is a symlink leaving the root or leading nowhere; recorded in scan."""
    if not entry.is_symlink():
        return False
    target = entry.resolve()
    if not target.is_relative_to(real_root):
        scan.refused.append(Problem(rel, f"is a symlink to {target}, outside the dataset folder; "
                                         "copy the file in or remove the link"))
        return True
    if not target.exists():
        scan.refused.append(Problem(rel, "is a symlink to nothing; fix its target or remove it"))
        return True
    return False


def _add_item(item: Path, label: str, *, wanted: set[str], real_root: Path, scan: Scan) -> None:
    rel = f"{label}/{item.name}"
    if _refused(item, rel, real_root=real_root, scan=scan):
        return
    if item.is_dir():
        scan.ignored.append(Problem(rel + "/", "nested folders are not read; move its files up into the label folder"))
    elif item.suffix.lower() not in wanted:
        scan.ignored.append(Problem(rel, f"is not read (suffix '{item.suffix}' is not one of "
                                         f"{sorted(wanted)}); remove it or convert it"))
    else:
        scan.files.append(ImageFile(rel, label, item.stat().st_size))


def check_contract(
    root: Path, *, kind: Kind, min_per_class: int = 1, allowed_sizes: list[tuple[int, int]] | None = None,
    allowed_modes: list[str] | None = None, labels: list[str] | None = None,
) -> list[Problem]:
    """Every problem of the folder against its contract, each saying what to fix: refused
    and ignored entries, label folders, class counts, then each file's header."""
    scan = scan_folder(root, suffixes=SUFFIXES[kind])
    problems = [*scan.refused, *scan.ignored, *_class_problems(scan, min_per_class=min_per_class, labels=labels)]
    for image in scan.files:
        problems += _header_problems(root, image, sizes=allowed_sizes, modes=allowed_modes)
    return problems


def _class_problems(scan: Scan, *, min_per_class: int, labels: list[str] | None) -> list[Problem]:
    problems = []
    if labels is not None:
        declared = [str(label) for label in labels]
        problems += [Problem(f"{name}/", f"label folder '{name}' is not in contract.labels {declared}; "
                                         "remove the folder or add the label") for name in scan.labels
                     if name not in declared]
        problems += [Problem(f"{name}/", f"no folder for label '{name}'; add it with at least {min_per_class} "
                                         "image(s) or remove the label from contract.labels")
                     for name in declared if name not in scan.labels]
    counts = Counter(f.label for f in scan.files)
    problems += [Problem(f"{name}/", f"class '{name}' has {counts[name]} image(s), the contract needs at least "
                                     f"{min_per_class}; add images or lower contract.min_per_class")
                 for name in scan.labels if counts[name] < min_per_class]
    return problems


def _header_problems(root: Path, image: ImageFile, *, sizes: list[tuple[int, int]] | None,
                     modes: list[str] | None) -> list[Problem]:
    try:
        header = read_header(root / image.path)
    except HeaderError as exc:
        return [Problem(image.path, f"unreadable: {exc}; replace or remove the file")]
    problems = []
    allowed = [tuple(s) for s in sizes] if sizes is not None else None
    if allowed is not None and (header.width, header.height) not in allowed:
        shown = ", ".join(f"{w}x{h}" for w, h in allowed)
        problems.append(Problem(image.path, f"is {header.width}x{header.height} pixels, allowed: {shown}; "
                                            "resize it or add its size to contract.sizes"))
    if modes is not None and header.mode not in modes:
        problems.append(Problem(image.path, f"has mode {header.mode}, allowed: {', '.join(modes)}; "
                                            "convert it or add the mode to contract.modes"))
    return problems
