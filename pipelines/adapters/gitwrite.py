"""Writing to the repository through `git`: branches made without touching the work
tree, fetches, pushes, merges and reverts.

Promotion and rollback branches are built with plumbing (a private index, `commit-tree`,
`update-ref`) so the user's checkout, index and uncommitted files are never touched.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

from pipelines.adapters.git import GitFailed, current_branch, is_dirty, parents, run_git
from pipelines.core.errors import InvalidInput, MlpinError


def commit_file(root: Path, *, parent: str, path: str, content: str, message: str) -> str:
    """A new commit on `parent` whose only change is `path` set to `content`; its sha."""
    return commit_files(root, parent=parent, files={path: content.encode()}, message=message)


def commit_files(root: Path, *, parent: str, files: dict[str, bytes], message: str) -> str:
    """A new commit on `parent` whose only changes are `files` (path -> bytes) set; its sha."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}  # a private index: the user's stays as it is
        run_git(root, "read-tree", parent, env=env)
        for path, content in files.items():
            blob = run_git(root, "hash-object", "-w", "--stdin", stdin=content)
            run_git(root, "update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=env)
        tree = run_git(root, "write-tree", env=env)
    return run_git(root, "commit-tree", tree, "-p", parent, "-m", message)


def is_branch_name(root: Path, branch: str) -> bool:
    """Whether git accepts `branch` as a branch name."""
    try:
        run_git(root, "check-ref-format", f"refs/heads/{branch}")
    except GitFailed:
        return False
    return True


def uncommitted(root: Path, paths: list[str]) -> list[str]:
    """Those of `paths` that differ from HEAD (staged, unstaged, untracked or deleted)."""
    lines = run_git(root, "status", "--porcelain", "--", *paths).splitlines() if paths else []
    return [line.strip().split(maxsplit=1)[-1] for line in lines]


def create_branch(root: Path, branch: str, sha: str) -> None:
    """Create a branch at `sha`; InvalidInput when it exists (checked by git itself, atomically)."""
    try:
        run_git(root, "update-ref", f"refs/heads/{branch}", sha, "")
    except GitFailed:
        raise InvalidInput(f"branch {branch} already exists; pass --branch NAME, or delete it "
                           f"(git branch -D {branch})") from None


def branch_tip(root: Path, branch: str) -> str | None:
    """The commit a local branch points at, or None when it does not exist."""
    try:
        return run_git(root, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}")
    except GitFailed:
        return None


def remote_tip(root: Path, branch: str, *, remote: str = "origin") -> str | None:
    """The commit `remote`'s copy of a branch points at (as last fetched), or None."""
    try:
        return run_git(root, "rev-parse", "--verify", "--quiet", f"refs/remotes/{remote}/{branch}")
    except GitFailed:
        return None


def branches_under(root: Path, prefix: str, *, remote: str = "origin") -> list[str]:
    """Local and `remote`-tracking branch names that start with `prefix` (e.g. `promote/`), once each."""
    refs = run_git(root, "for-each-ref", "--format=%(refname)", f"refs/heads/{prefix}",
                   f"refs/remotes/{remote}/{prefix}").splitlines()
    names = {ref.removeprefix("refs/heads/").removeprefix(f"refs/remotes/{remote}/") for ref in refs if ref}
    return sorted(names)


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


# The reason a non-bare repository gives for refusing to move the branch it has checked
# out (receive.denyCurrentBranch, git's default); receive-pack sends it untranslated.
CHECKED_OUT_THERE = "(branch is currently checked out)"


def push_branch(root: Path, branch: str, *, remote: str = "origin") -> None:
    """Publish a branch mlpin owns (promote/*, rollback/*), replacing what the remote has.
    Any remote takes it unless it has that very branch checked out: then a person must act."""
    try:
        push_ref(root, f"refs/heads/{branch}", f"refs/heads/{branch}", remote=remote, force=True)
    except GitFailed as exc:
        if CHECKED_OUT_THERE not in exc.stderr:
            raise
        raise InvalidInput(f"{remote} is a non-bare repository with {branch} checked out, so git will not update "
                           f"it there; switch that work tree to another branch and rerun") from None


def publish_branch(root: Path, branch: str, *, remote: str = "origin") -> bool:
    """Push a local branch to `remote` as a fast-forward; False (nothing pushed) when the
    remote is a non-bare repository with that branch checked out, which git will not update."""
    try:
        push_ref(root, f"refs/heads/{branch}", f"refs/heads/{branch}", remote=remote)
    except GitFailed as exc:
        if CHECKED_OUT_THERE in exc.stderr:
            return False
        raise
    return True



def push_ref(root: Path, src: str, dst: str, *, remote: str = "origin", force: bool = False) -> None:
    """Set `remote`'s `dst` to the local `src`; without `force`, only as a fast-forward."""
    run_git(root, "push", "--quiet", *(["--force"] if force else []), remote, f"{src}:{dst}")


def fetch_branch(root: Path, branch: str, *, remote: str = "origin", into: str | None = None) -> None:
    """Fetch `remote`'s branch; with `into`, force that local ref to it (remote-tracking
    refs follow the remote even when it was rewritten, as promotion branches are)."""
    refspec = f"+refs/heads/{branch}:{into}" if into else branch
    run_git(root, "fetch", "--quiet", remote, refspec)


def fast_forward(root: Path, ref: str) -> None:
    """Move the checked-out branch forward to `ref`; InvalidInput when it has diverged
    or local changes are in the way, which only a person can sort out."""
    try:
        run_git(root, "merge", "--quiet", "--ff-only", ref)
    except GitFailed as exc:
        raise InvalidInput(f"cannot fast-forward the checked-out branch to {ref}: {exc.stderr or exc.stdout}; "
                           f"rebase it onto {ref} or commit your changes") from None


def user_name(root: Path) -> str:
    """The local git user: the approver when a merge happens on this machine."""
    try:
        return run_git(root, "config", "user.name") or "unknown"
    except GitFailed:
        return "unknown"


def require_checked_out(root: Path, branch: str) -> None:
    """InvalidInput unless `branch` is checked out: a merge lands on the checked-out branch."""
    if current_branch(root) != branch:
        raise InvalidInput(f"check out {branch} first (git switch {branch}): the merge lands on the checked-out branch")


def merge_branch(root: Path, *, head: str, base: str, message: str) -> str:
    """Merge `head` into the checked-out `base` with a merge commit; returns its sha."""
    require_checked_out(root, base)
    if is_dirty(root):
        raise InvalidInput("the work tree has uncommitted changes; commit or stash them before merging")
    before = run_git(root, "rev-parse", "HEAD")
    try:
        run_git(root, "merge", "--no-ff", "--quiet", "-m", message, head)
    except MlpinError as exc:  # a conflict, a failing hook, a timeout: never leave a merge half-done
        # The tree was clean, so going back to where it was loses nothing; unlike `merge
        # --abort` this also works when git was stopped before it wrote MERGE_HEAD.
        with contextlib.suppress(MlpinError):
            run_git(root, "reset", "--quiet", "--merge", before)
        if not isinstance(exc, GitFailed):
            raise
        raise InvalidInput(f"{head} does not merge cleanly into {base}: {exc.stdout or exc.stderr}; "
                           "rebase the branch or rerun the command that made it") from None
    after = run_git(root, "rev-parse", "HEAD")
    if after == before:  # "Already up to date": HEAD is some other commit, not a merge of `head`
        raise InvalidInput(f"{head} is already part of {base}, but not through a merge commit of its own; "
                           "there is nothing to merge")
    return after


def undo_merge(root: Path, *, merge_commit: str, previous: str) -> None:
    """Move the checked-out branch from `merge_commit` back to `previous`, as if the merge
    never happened; nothing when HEAD is no longer that merge (someone moved on since)."""
    if run_git(root, "rev-parse", "HEAD") == merge_commit:
        run_git(root, "reset", "--quiet", "--keep", previous)


def revert_commits(root: Path, *, onto: str, commits: list[str], message: str) -> str:
    """One commit on `onto` that reverts `commits` (newest first), made in a scratch
    worktree; merge commits are reverted against their first parent."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "revert"
        run_git(root, "worktree", "add", "--quiet", "--detach", str(work), onto)
        try:
            for sha in commits:
                _revert(work, sha)
            run_git(work, "commit", "--quiet", "--allow-empty", "-m", message)
            return run_git(work, "rev-parse", "HEAD")
        finally:
            run_git(root, "worktree", "remove", "--force", str(work))


def _revert(work: Path, sha: str) -> None:
    mainline = ["-m", "1"] if len(parents(work, sha)) > 1 else []
    try:
        run_git(work, "revert", "--no-commit", *mainline, sha)
    except GitFailed as exc:
        raise InvalidInput(f"reverting {sha[:12]} conflicts with later changes: {exc.stderr}; revert by hand") from None
