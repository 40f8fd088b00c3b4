"""Reading the repository's git state through the `git` command."""

from __future__ import annotations

import subprocess
from pathlib import Path

from pipelines.core.errors import InvalidInput, OutsideSystemError


def run_git(root: Path, *args: str) -> str:
    """stdout of `git args` in `root`; OutsideSystemError with git's message on failure."""
    try:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise OutsideSystemError("git", "the git command is not installed") from None
    if done.returncode != 0:
        raise OutsideSystemError("git", f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def git_bytes(root: Path, *args: str) -> bytes:
    """Raw stdout of `git args` (file contents at a revision); OutsideSystemError on failure."""
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, check=False)
    if done.returncode != 0:
        raise OutsideSystemError("git", f"git {' '.join(args)} failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def require_ref(root: Path, ref: str) -> str:
    """The commit `ref` names; InvalidInput saying how to get it when it does not exist."""
    try:
        return run_git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except OutsideSystemError:
        raise InvalidInput(f"git ref '{ref}' does not exist here; fetch it first (in Actions: actions/checkout with fetch-depth: 0)") from None


def changed_paths(root: Path, base: str) -> list[str]:
    """Paths changed between the merge base of `base` and HEAD, plus uncommitted changes."""
    require_ref(root, base)
    committed = run_git(root, "diff", "--name-only", f"{base}...HEAD").splitlines()
    pending = run_git(root, "status", "--porcelain", "--untracked-files=all").splitlines()
    return sorted(set(committed) | {line[3:].split(" -> ")[-1] for line in pending})


def commits_touching(root: Path, path: str) -> list[str]:
    """Commits that changed anything under `path`, newest first."""
    return run_git(root, "log", "--format=%H", "--", path).splitlines()


def current_branch(root: Path) -> str | None:
    """The checked-out branch name, or None when HEAD is detached."""
    try:
        name = run_git(root, "symbolic-ref", "--short", "-q", "HEAD")
    except OutsideSystemError:
        return None
    return name or None


def toplevel(start: Path) -> Path | None:
    """The root of the git work tree containing `start`, or None outside one."""
    try:
        return Path(run_git(start, "rev-parse", "--show-toplevel"))
    except OutsideSystemError:
        return None


def head_commit(root: Path) -> str | None:
    """The full sha of HEAD, or None in a repository with no commits or no repository."""
    try:
        return run_git(root, "rev-parse", "--verify", "HEAD")
    except OutsideSystemError:
        return None


def is_dirty(root: Path) -> bool:
    """Whether tracked or untracked, non-ignored files differ from HEAD."""
    try:
        return bool(run_git(root, "status", "--porcelain"))
    except OutsideSystemError:
        return True
