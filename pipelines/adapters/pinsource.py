"""Where serving reads the pin from: a local file, or a branch of a git remote.

Each source returns the pin's raw text and the revision it was read at; parsing and
deciding stay with the caller. Failures to reach the source are OutsideSystemError.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pipelines.adapters.digest import sha256_bytes
from pipelines.adapters.git import git_bytes, run_git
from pipelines.core.errors import OutsideSystemError


@dataclass(frozen=True)
class PinSnapshot:
    """The pin file's text as read, where from, and at which revision."""

    text: str
    path: str
    revision: str


class PinSource(Protocol):
    """Anything that can read the current pin."""

    def read(self) -> PinSnapshot:
        """The pin as it is now; OutsideSystemError when the source cannot be read."""
        ...


class FilePinSource:
    """A pin file on local disk; its revision is the content's sha256 (no git here)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> PinSnapshot:
        """Read the file; a missing or unreadable file is an outside failure (retried)."""
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise OutsideSystemError("pin file", f"cannot read {self.path}: {exc.strerror or exc}") from None
        return PinSnapshot(text=data.decode("utf-8", errors="replace"), path=str(self.path), revision=f"sha256:{sha256_bytes(data)}")


class GitPinSource:
    """A branch of a git remote, fetched into a private bare mirror on every read."""

    def __init__(self, remote: str, *, branch: str, pin_path: str, mirror_path: Path) -> None:
        self.remote = remote
        self.branch = branch
        self.pin_path = pin_path
        self.mirror_path = mirror_path

    def read(self) -> PinSnapshot:
        """Fetch the branch's tip, then read the pin at that commit."""
        self._ensure_mirror()
        ref = f"refs/mlpin/{self.branch}"
        try:
            run_git(self.mirror_path, "fetch", "--quiet", "--depth=1", "--no-tags", self.remote, f"+refs/heads/{self.branch}:{ref}")
        except OutsideSystemError as exc:  # git's message repeats the URL, token and all
            raise OutsideSystemError("git", exc.message.removeprefix("git: ").replace(self.remote, redacted(self.remote))) from None
        commit = run_git(self.mirror_path, "rev-parse", "--verify", f"{ref}^{{commit}}")
        try:
            data = git_bytes(self.mirror_path, "show", f"{commit}:{self.pin_path}")
        except OutsideSystemError:
            raise OutsideSystemError("git", f"{self.pin_path} does not exist on {self.branch} at {commit[:12]}") from None
        return PinSnapshot(text=data.decode("utf-8", errors="replace"), path=f"{self.branch}:{self.pin_path}", revision=commit)

    def _ensure_mirror(self) -> None:
        if (self.mirror_path / "HEAD").exists():
            return
        self.mirror_path.mkdir(parents=True, exist_ok=True)
        run_git(self.mirror_path, "init", "--quiet", "--bare")


def redacted(url: str) -> str:
    """`url` without the user and password (or token) part, for messages and status pages."""
    return re.sub(r"^([a-z][a-z0-9+.-]*://)[^/@]*@", r"\1", url, flags=re.IGNORECASE)
