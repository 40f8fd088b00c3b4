"""Writing to the repository through `git`: branches made without touching the work
tree, pushes, merges and reverts.

Promotion and rollback branches are built with plumbing (a private index, `commit-tree`,
`update-ref`) so the user's checkout, index and uncommitted files are never touched.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from pipelines.adapters.git import current_branch, is_dirty, run_git
from pipelines.core.errors import InvalidInput, OutsideSystemError


def commit_file(root: Path, *, parent: str, path: str, content: str, message: str) -> str:
    """A new commit on `parent` whose only change is `path` set to `content`; its sha."""
    blob = subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=root, input=content.encode(),
                          capture_output=True, check=True).stdout.decode().strip()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "GIT_INDEX_FILE": str(Path(tmp) / "index")}
        for args in (("read-tree", parent), ("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}")):
            subprocess.run(["git", *args], cwd=root, env=env, capture_output=True, check=True)
        tree = subprocess.run(["git", "write-tree"], cwd=root, env=env, capture_output=True, check=True).stdout.decode().strip()
    return run_git(root, "commit-tree", tree, "-p", parent, "-m", message)


def branch_tip(root: Path, branch: str) -> str | None:
    """The commit a local branch points at, or None when it does not exist."""
    try:
        return run_git(root, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}")
    except OutsideSystemError:
        return None


def remote_tip(root: Path, branch: str, *, remote: str = "origin") -> str | None:
    """The commit `remote`'s copy of a branch points at (as last fetched), or None."""
    try:
        return run_git(root, "rev-parse", "--verify", "--quiet", f"refs/remotes/{remote}/{branch}")
    except OutsideSystemError:
        return None


def same_tree(root: Path, a: str, b: str) -> bool:
    """Whether two commits hold exactly the same files."""
    return run_git(root, "rev-parse", f"{a}^{{tree}}") == run_git(root, "rev-parse", f"{b}^{{tree}}")


def set_branch(root: Path, branch: str, sha: str) -> None:
    """Point a branch at `sha` (created or moved); refuses the checked-out branch."""
    if current_branch(root) == branch:
        raise InvalidInput(f"branch {branch} is checked out here; switch to another branch so mlpin can rewrite it")
    run_git(root, "update-ref", f"refs/heads/{branch}", sha)


def has_remote(root: Path, name: str = "origin") -> bool:
    """Whether the repository has a remote called `name`."""
    return name in run_git(root, "remote").split()


def push_branch(root: Path, branch: str, *, remote: str = "origin") -> None:
    """Publish a branch mlpin owns (promote/*, rollback/*), replacing what the remote has."""
    run_git(root, "push", "--quiet", "--force", remote, f"refs/heads/{branch}:refs/heads/{branch}")


def user_name(root: Path) -> str:
    """The local git user: the approver when a merge happens on this machine."""
    try:
        return run_git(root, "config", "user.name") or "unknown"
    except OutsideSystemError:
        return "unknown"


def merge_branch(root: Path, *, head: str, base: str, message: str) -> str:
    """Merge `head` into the checked-out `base` with a merge commit; returns its sha."""
    if current_branch(root) != base:
        raise InvalidInput(f"check out {base} first (git switch {base}): the merge lands on the checked-out branch")
    if is_dirty(root):
        raise InvalidInput("the work tree has uncommitted changes; commit or stash them before merging")
    done = subprocess.run(["git", "merge", "--no-ff", "--quiet", "-m", message, head], cwd=root, capture_output=True, text=True)
    if done.returncode != 0:
        subprocess.run(["git", "merge", "--abort"], cwd=root, capture_output=True)
        raise InvalidInput(f"{head} does not merge cleanly into {base}: {done.stdout.strip() or done.stderr.strip()}; "
                           "rebase the branch or rerun the command that made it")
    return run_git(root, "rev-parse", "HEAD")


def revert_commits(root: Path, *, onto: str, commits: list[str], message: str) -> str:
    """One commit on `onto` that reverts `commits` (newest first), made in a scratch
    worktree; merge commits are reverted against their first parent."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "revert"
        run_git(root, "worktree", "add", "--quiet", "--detach", str(work), onto)
        try:
            for sha in commits:
                parents = run_git(root, "rev-list", "--parents", "-n", "1", sha).split()[1:]
                mainline = ["-m", "1"] if len(parents) > 1 else []
                done = subprocess.run(["git", "revert", "--no-commit", *mainline, sha], cwd=work, capture_output=True, text=True)
                if done.returncode != 0:
                    raise InvalidInput(f"reverting {sha[:12]} conflicts with later changes: {done.stderr.strip()}; revert by hand")
            run_git(work, "commit", "--quiet", "--allow-empty", "-m", message)
            return run_git(work, "rev-parse", "HEAD")
        finally:
            run_git(root, "worktree", "remove", "--force", str(work))
