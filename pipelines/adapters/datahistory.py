"""Finding a dataset by its digest: the bytes a past pointer named, verified.

Production's training data is whatever its pin's `data_sha256` names, which may be an
older version of a data file. The stage context looks at the current pointers first;
this module then tries a local cache keyed by digest and every pointer in git history
(read with the working tree's strict loader). What is found is verified against the
digest before use and cached. (CI must check out full history: fetch-depth 0.)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipelines.adapters import git
from pipelines.adapters.atomic import write_atomic
from pipelines.adapters.datastore import read_bytes
from pipelines.adapters.digest import sha256_bytes
from pipelines.adapters.yamlfile import parse_document
from pipelines.core.errors import MlpinError
from pipelines.core.schemas import DataPointer


@dataclass(frozen=True)
class FoundData:
    """Verified content for a digest, with the pointer that described it."""

    pointer: DataPointer
    content: bytes
    where: str


def cache_dir(root: Path) -> Path:
    return root / ".mlpin" / "cache" / "data"


def find_in_history(root: Path, sha256: str) -> FoundData | None:
    """The data whose content has `sha256` as some past pointer named it (cached by
    digest once found), or None. Callers look at the current pointers first."""
    cached = cache_dir(root) / sha256
    for commit in git.commits_touching(root, "data"):
        for path, pointer in _pointers_at(root, commit):
            if pointer.sha256 != sha256:
                continue
            if cached.is_file():
                return FoundData(pointer, cached.read_bytes(), f"{path} at {commit[:12]} (cached)")
            found = _at_commit(root, commit, path=path, pointer=pointer, sha256=sha256)
            if found is not None:
                return found
    return None


def _pointers_at(root: Path, commit: str) -> list[tuple[str, DataPointer]]:
    listing = git.list_files(root, commit, "data")
    found = []
    for path in listing:
        if not path.endswith(".yaml"):
            continue
        try:  # the same strict loader as the working tree: duplicate keys, unknown fields rejected
            found.append((path, parse_document(git.file_at(root, commit, path).decode(), path, schema=DataPointer)))
        except (MlpinError, UnicodeDecodeError):
            continue  # an old pointer that does not parse today cannot be the one we want
    return found


def _at_commit(root: Path, commit: str, *, path: str, pointer: DataPointer, sha256: str) -> FoundData | None:
    try:
        if "://" in pointer.uri:
            content = read_bytes(root, Path(path).stem, uri=pointer.uri)
        else:
            content = git.file_at(root, commit, pointer.uri)
    except MlpinError:
        return None
    if sha256_bytes(content) != sha256:
        return None
    _cache(root, sha256, content=content)
    return FoundData(pointer, content, f"{path} at {commit[:12]}")


def _cache(root: Path, sha256: str, *, content: bytes) -> None:
    write_atomic(cache_dir(root) / sha256, content)
