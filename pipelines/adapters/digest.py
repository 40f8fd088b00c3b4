"""sha256 of bytes, files and folders, streamed so large artifacts never sit in memory."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

CHUNK = 1 << 20


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of `data`."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's content; equal to `sha256sum path`."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_tree(
    folder: Path, *, exclude: Iterable[str] = (), normalize: Mapping[str, Callable[[bytes], bytes]] | None = None
) -> str:
    """Digest over every file's relative path and bytes, in sorted path order.

    Names in `exclude` (relative POSIX paths) are skipped; a file named in `normalize`
    is hashed as what its function returns for its bytes (e.g. metadata without the
    run id and time, so two identical trainings get the same digest).
    """
    skip, normalize = set(exclude), normalize or {}
    digest = hashlib.sha256()
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    for path in files:
        rel = path.relative_to(folder).as_posix()
        if rel in skip:
            continue
        digest.update(rel.encode() + b"\0")
        content = sha256_bytes(normalize[rel](path.read_bytes())) if rel in normalize else sha256_file(path)
        digest.update(content.encode() + b"\n")
    return digest.hexdigest()
