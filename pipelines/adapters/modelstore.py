"""Registered model versions as verified local folders, cached by artifact sha256.

A folder is only ever handed out after its digest equals the one the caller expects,
whether it was just downloaded or found in the cache: nothing unverified reaches an
unpickler. Nothing here loads a model.
"""

from __future__ import annotations

import errno
import json
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pipelines.adapters.artifact import artifact_digest
from pipelines.adapters.atomic import write_atomic
from pipelines.core.errors import ArtifactMismatch, OutsideSystemError


class VersionSource(Protocol):
    """The part of the registry serving needs (pipelines.adapters.registry.Registry)."""

    def version_tags(self, model: str, version: int) -> dict[str, str]:
        """Tags of a registered version; NotFound when it does not exist."""
        ...

    def download_version(self, model: str, version: int, dst: Path) -> Path:
        """The version's folder downloaded under `dst`."""
        ...


@dataclass(frozen=True)
class Fetched:
    """A verified model folder and the registry's tags of its version."""

    path: Path
    tags: dict[str, str]


class ModelStore:
    """Downloads versions once per artifact digest and verifies them on every fetch."""

    def __init__(self, registry: VersionSource, cache_dir: Path) -> None:
        self.registry = registry
        self.cache_dir = cache_dir

    def fetch(self, model: str, version: int, *, expected_sha256: str) -> Fetched:
        """The folder of `model` v`version`, whose digest is `expected_sha256`, or an error.

        A version fetched before is served from the cache without asking the registry
        (its tags are kept beside the folder, keyed by model, version and digest), so a
        restart during a registry outage still serves what was verified; the digest is
        checked again either way. A cached folder another version brought is used for
        this one only after the registry's copy of this version shows the same digest.
        """
        folder = self.cache_dir / expected_sha256
        tags_path = self.cache_dir / f"{expected_sha256}.{model}.v{version}.tags.json"
        hashed = _inode(folder)  # placed whole by a rename, by this process or another sharing the cache
        if hashed is not None and artifact_digest(folder) == expected_sha256:
            tags = _read_tags(tags_path)
            if tags is None:
                # The folder was verified for another version (the cache is keyed by digest, the
                # pin names a version): serve it as this one only once the registry's own bytes
                # of this version have the same digest, or a pin pairing v1 with v2's digest
                # would serve v2 labelled v1.
                tags = self.registry.version_tags(model, version)
                self._verify_version(model, version, expected_sha256=expected_sha256)
                _write_tags(tags_path, tags)
            return Fetched(path=folder, tags=tags)
        # Not cached, or the cached copy went bad on disk: drop it and download again, so
        # only bytes the registry itself serves wrong count as a digest mismatch. Only a folder
        # seen bad is dropped: one that was missing may have been placed by another worker since.
        if hashed is not None:
            self._discard(folder, tags_path, inode=hashed)
        tags = self.registry.version_tags(model, version)  # NotFound before any download
        self._download(model, version, folder)
        hashed = _inode(folder)
        actual = artifact_digest(folder)
        if actual != expected_sha256:
            self._discard(folder, tags_path, inode=hashed)  # never keep bytes that fail their digest
            raise ArtifactMismatch(model, version, expected=expected_sha256, actual=actual)
        _write_tags(tags_path, tags)
        return Fetched(path=folder, tags=tags)

    def _verify_version(self, model: str, version: int, *, expected_sha256: str) -> None:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.cache_dir, prefix=".verify-") as tmp:
            actual = artifact_digest(self._download_into(model, version, Path(tmp)))
        if actual != expected_sha256:
            raise ArtifactMismatch(model, version, expected=expected_sha256, actual=actual)

    def _discard(self, folder: Path, tags_path: Path | None, *, inode: int | None) -> None:
        """Remove the folder that was hashed (`inode`) by first renaming it aside: a process sharing the
        cache (another worker) sees the folder whole or not at all, never half deleted. A folder another
        worker placed since the hash is a different inode: it is left alone (or put back)."""
        if inode is None or _inode(folder) != inode:
            return  # gone, or replaced since it was hashed: not ours to judge
        aside = self.cache_dir / f".discard-{secrets.token_hex(8)}"
        try:
            folder.rename(aside)
        except FileNotFoundError:
            return  # already gone (another process discarded it)
        if _inode(aside) != inode:  # replaced between the look and the rename: put the newcomer back
            try:
                aside.rename(folder)
                return
            except OSError:
                pass  # yet another one is in place: this one goes
        shutil.rmtree(aside, ignore_errors=True)
        if tags_path is not None:
            tags_path.unlink(missing_ok=True)

    def _download(self, model: str, version: int, folder: Path) -> None:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.cache_dir, prefix=".download-") as tmp:
            local = self._download_into(model, version, Path(tmp))
            self._place(local, folder)

    def _place(self, local: Path, folder: Path) -> None:
        """Rename the download into place (same file system: it appears whole or not at all). When
        another process placed the same digest first, its folder is kept and the download dropped;
        a folder there with other bytes is discarded once and the rename tried again."""
        for attempt in range(2):
            try:
                local.rename(folder)
                return
            except OSError as exc:
                if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                    raise
            hashed = _inode(folder)
            if attempt == 0 and artifact_digest(folder) != folder.name:
                self._discard(folder, None, inode=hashed)
            else:
                return  # the caller checks the digest of what is in place either way

    def _download_into(self, model: str, version: int, dst: Path) -> Path:
        local = self.registry.download_version(model, version, dst)
        if not any(p.is_file() for p in local.rglob("*")):
            # MLflow's local artifact store "downloads" a vanished folder as an empty one.
            raise OutsideSystemError(
                "mlflow", f"the artifact store returned no files for {model} v{version}; is it reachable?"
            )
        return local


def _inode(path: Path) -> int | None:
    """The folder's inode (a new one each time a worker renames a download into place), None if absent."""
    try:
        found = path.stat()
    except FileNotFoundError:
        return None
    return found.st_ino if path.is_dir() else None


def _read_tags(path: Path) -> dict[str, str] | None:
    try:
        found = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def _write_tags(path: Path, tags: dict[str, str]) -> None:
    write_atomic(path, json.dumps(tags, sort_keys=True))
