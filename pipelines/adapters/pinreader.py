"""Where serving reads the pin from: a local file, a branch of a git remote, or a
branch of a GitHub repository through its contents API.

Each reader returns the pin's raw text and the revision it was read at; parsing and
deciding stay with the caller. Failures to reach the source are OutsideSystemError.
"""

from __future__ import annotations

import base64
import fcntl
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote

from pipelines.adapters.digest import sha256_bytes
from pipelines.adapters.git import git_bytes, run_git
from pipelines.core.errors import OutsideSystemError

# A stalled fetch would hold the reconcile pass (and every later one) forever: give up on
# a connection that moves under 1 KB/s for 30 s (HTTP) or answers nothing for 30 s (SSH).
STALL_LIMITS = (
    "-c", "http.lowSpeedLimit=1000", "-c", "http.lowSpeedTime=30",
    "-c", "core.sshCommand=ssh -o ConnectTimeout=15 -o ServerAliveInterval=10 -o ServerAliveCountMax=3",
)


@dataclass(frozen=True)
class PinDocument:
    """The pin file's text as read, where from, and at which revision."""

    text: str
    path: str
    revision: str


class PinReader(Protocol):
    """Anything that can read the current pin."""

    def read(self) -> PinDocument:
        """The pin as it is now; OutsideSystemError when the source cannot be read."""
        ...


class FilePinReader:
    """A pin file on local disk; its revision is the content's sha256 (no git here)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> PinDocument:
        """Read the file; a missing or unreadable file is an outside failure (retried)."""
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise OutsideSystemError("pin file", f"cannot read {self.path}: {exc.strerror or exc}") from None
        return PinDocument(
            text=data.decode("utf-8", errors="replace"), path=str(self.path), revision=f"sha256:{sha256_bytes(data)}"
        )


class GitPinReader:
    """A branch of a git remote, fetched into a private bare mirror on every read."""

    def __init__(self, remote: str, *, branch: str, pin_path: str, mirror_path: Path) -> None:
        self.remote = remote
        self.branch = branch
        self.pin_path = pin_path
        self.mirror_path = mirror_path

    def read(self) -> PinDocument:
        """Fetch the branch's tip, then read the pin at that commit. One reader at a time per
        mirror: worker processes sharing it (--workers) would otherwise fail on git's ref locks."""
        self.mirror_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.mirror_path.parent / f"{self.mirror_path.name}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if this process dies
            return self._read()

    def _read(self) -> PinDocument:
        self._ensure_mirror()
        ref = f"refs/mlpin/{self.branch}"
        secret = credential_env(self.remote)
        try:
            run_git(
                self.mirror_path,
                *STALL_LIMITS,
                "fetch",
                "--quiet",
                "--depth=1",
                "--no-tags",
                redacted(self.remote) if secret else self.remote,  # an ssh user name stays
                f"+refs/heads/{self.branch}:{ref}",
                env=secret,
            )
        except OutsideSystemError as exc:  # git's message repeats the URL, token and all
            reason = exc.message.split(" failed: ", 1)[-1].replace(self.remote, redacted(self.remote))
            raise OutsideSystemError(
                "git", f"git fetch of {self.branch} from {redacted(self.remote)} failed: {reason}"
            ) from None
        commit = run_git(self.mirror_path, "rev-parse", "--verify", f"{ref}^{{commit}}")
        try:
            data = git_bytes(self.mirror_path, "show", f"{commit}:{self.pin_path}")
        except OutsideSystemError:
            raise OutsideSystemError(
                "git", f"{self.pin_path} does not exist on {self.branch} at {commit[:12]}"
            ) from None
        return PinDocument(
            text=data.decode("utf-8", errors="replace"), path=f"{self.branch}:{self.pin_path}", revision=commit
        )

    def _ensure_mirror(self) -> None:
        if (self.mirror_path / "HEAD").exists():
            return
        self.mirror_path.mkdir(parents=True, exist_ok=True)
        run_git(self.mirror_path, "init", "--quiet", "--bare")


class GitHubPinReader:
    """A branch of a GitHub repository read through the REST API (no git, no clone)."""

    def __init__(self, repository: str, *, branch: str, pin_path: str, token: str | None, base_url: str) -> None:
        from github import Auth, Github

        auth = Auth.Token(token) if token else None
        self._client = Github(auth=auth, base_url=base_url, retry=None)
        self.repository = repository
        self.branch = branch
        self.pin_path = pin_path

    def read(self) -> PinDocument:
        """The branch's tip commit, then the pin's content at exactly that commit."""
        from github import GithubException
        from requests import RequestException

        where = f"{self.pin_path} on {self.repository}@{self.branch}"
        try:
            repo = self._client.get_repo(self.repository)  # not lazy: a lazy repo answers get_commit without asking
            commit = repo.get_commit(self.branch).sha
            content = repo.get_contents(self.pin_path, ref=commit)
        except GithubException as exc:
            raise OutsideSystemError("github", f"reading {where} failed: {exc.status} {_message(exc)}") from None
        except RequestException as exc:  # PyGithub lets connection errors and timeouts through untranslated
            raise OutsideSystemError("github", f"reading {where} failed: {type(exc).__name__}") from None
        if isinstance(content, list):
            raise OutsideSystemError("github", f"{self.pin_path} on {self.repository} is a folder, not the pin file")
        text = content.decoded_content.decode("utf-8", errors="replace")
        return PinDocument(text=text, path=f"{self.repository}@{self.branch}:{self.pin_path}", revision=commit)


def _message(exc: Exception) -> str:
    data = getattr(exc, "data", None)
    return data.get("message", "") if isinstance(data, dict) else str(data or "")


def credential_env(url: str) -> dict[str, str]:
    """The user and password (or token) of an http(s) `url` as environment-only git config: an
    Authorization header scoped to the URL without them, so no credential is on a command line
    (`ps` shows every argument of every process to anyone on the machine); {} when there are none."""
    found = re.match(r"^(https?://)([^/@]*)@(.*)$", url, flags=re.IGNORECASE)
    if found is None:
        return {}
    user, _, password = found[2].partition(":")
    basic = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode()
    return {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": f"http.{found[1]}{found[3]}.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}"}


def redacted(url: str) -> str:
    """`url` without the user and password (or token) part, for messages and status pages."""
    return re.sub(r"^([a-z][a-z0-9+.-]*://)[^/@]*@", r"\1", url, flags=re.IGNORECASE)
