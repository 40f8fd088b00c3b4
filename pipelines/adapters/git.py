"""Reading the repository's git state through the `git` command.

Every git process mlpin starts goes through `_run`, which turns each way of failing
(git missing, a non-zero exit, a timeout) into an mlpin error with git's own message.
Stages call the named functions here and in `gitwrite`, never git itself.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pipelines.core.errors import InvalidInput, OutsideSystemError

# Local commands on a config repository finish in well under a second; 30 s only
# catches a git that hangs (a stuck filesystem, a hook waiting on input) so a CI job
# or a serving pass fails with a message instead of running until it is killed.
LOCAL_TIMEOUT_S = 30.0
# Network commands wait on a remote: a slow forge or a large first fetch may need a
# minute, but a dead connection must not hold a CI job or every later serving pass.
NETWORK_TIMEOUT_S = 120.0
NETWORK_COMMANDS = frozenset({"fetch", "push", "ls-remote", "clone", "pull"})
# Commands that run the user's hooks or check out a whole tree (a pre-commit hook may
# install its environments on first use; an LFS checkout downloads): generous, so a slow
# hook is not killed half-way, but still finite.
HOOK_TIMEOUT_S = 600.0
HOOK_COMMANDS = frozenset({"merge", "commit", "revert", "worktree", "checkout", "switch", "cherry-pick"})
# After a timeout kills git's process group, how long to drain its pipes: a descendant
# that left the group (an ssh ControlPersist master) may hold them open for good.
DRAIN_S = 5.0
# What git itself exports to hooks to point at *its* repository and index; inherited by
# mlpin run from a hook, they would make every command below act on the caller's index.
REPOSITORY_VARIABLES = (
    "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR", "GIT_PREFIX", "GIT_IMPLICIT_WORK_TREE", "GIT_GRAFT_FILE", "GIT_SHALLOW_FILE",
    "GIT_NO_REPLACE_OBJECTS", "GIT_REPLACE_REF_BASE", "GIT_NAMESPACE",
)
# A token for pushes and fetches (propose and rollback in Actions, whose checkout keeps no
# credential in .git/config): sent as the header actions/checkout itself would configure,
# scoped to the forge's URL, through environment-only git config so no command line shows it.
TOKEN_VARIABLE = "MLPIN_GIT_TOKEN"
_LIVE: set[int] = set()  # process groups of git processes still running, killed at exit
_LIVE_LOCK = threading.Lock()


class GitFailed(OutsideSystemError):
    """git ran and exited non-zero; keeps its output so callers can say what it means."""

    def __init__(self, args: tuple[str, ...], *, stdout: str, stderr: str) -> None:
        super().__init__("git", f"git {' '.join(args)} failed: {stderr or stdout}")
        self.stdout = stdout
        self.stderr = stderr


@dataclass(frozen=True)
class CommitInfo:
    """A commit, when it was committed (ISO 8601) and by whom."""

    sha: str
    time: str
    committer: str


def run_git(root: Path, *args: str, stdin: bytes | None = None, env: Mapping[str, str] | None = None,
            timeout_s: float | None = None) -> str:
    """stdout of `git args` in `root`, stripped; an mlpin error with git's message on failure."""
    return _run(root, args, stdin=stdin, env=env, timeout_s=timeout_s).decode(errors="replace").strip()


def git_bytes(root: Path, *args: str, timeout_s: float | None = None) -> bytes:
    """Raw stdout of `git args` (file contents at a revision); an mlpin error on failure."""
    return _run(root, args, timeout_s=timeout_s)


def _run(root: Path, args: tuple[str, ...], *, stdin: bytes | None = None, env: Mapping[str, str] | None = None,
         timeout_s: float | None = None) -> bytes:
    command = _subcommand(args)
    network = command in NETWORK_COMMANDS
    # A person at a terminal may be asked for a credential or an ssh passphrase (and can
    # press Ctrl-C); anywhere else a missing credential must fail, not wait on a prompt.
    interactive = network and stdin is None and sys.stdin is not None and sys.stdin.isatty()
    limit = timeout_s or (None if interactive else _limit(command))
    inherited = {k: v for k, v in os.environ.items() if k not in REPOSITORY_VARIABLES}
    prompt = {"GIT_TERMINAL_PROMPT": "0"} if network and not interactive else {}
    token = token_env(inherited) if network and "GIT_CONFIG_COUNT" not in (env or {}) else {}
    process = _start(root, args, env={**inherited, **token, **(env or {}), **prompt}, piped=stdin is not None,
                     detached=not interactive)
    with process:
        try:
            out, err = process.communicate(stdin, timeout=limit)
        except subprocess.TimeoutExpired:
            _kill(process)
            raise OutsideSystemError("git", f"git {' '.join(args)} failed: timed out after {limit:g} s") from None
        except BaseException:  # e.g. Ctrl-C or SIGTERM, which git in its own session never saw
            _kill(process)
            raise
        finally:
            with _LIVE_LOCK:
                _LIVE.discard(process.pid)
    if process.returncode != 0:
        raise GitFailed(args, stdout=out.decode(errors="replace").strip(), stderr=err.decode(errors="replace").strip())
    return out


def token_env(environ: Mapping[str, str]) -> dict[str, str]:
    """`MLPIN_GIT_TOKEN` as an Authorization header for the forge (`GITHUB_SERVER_URL`, else
    github.com), in environment-only git config; {} when no token is set."""
    token = environ.get(TOKEN_VARIABLE, "")
    if not token:
        return {}
    import base64

    server = environ.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    count = environ.get("GIT_CONFIG_COUNT", "0")
    index = int(count) if count.isdigit() else 0  # after any environment-only config already set
    return {"GIT_CONFIG_COUNT": str(index + 1), f"GIT_CONFIG_KEY_{index}": f"http.{server}/.extraHeader",
            f"GIT_CONFIG_VALUE_{index}": f"Authorization: Basic {basic}"}


def _limit(command: str | None) -> float:
    if command in NETWORK_COMMANDS:
        return NETWORK_TIMEOUT_S
    return HOOK_TIMEOUT_S if command in HOOK_COMMANDS else LOCAL_TIMEOUT_S


def _start(root: Path, args: tuple[str, ...], *, env: dict[str, str], piped: bool,
           detached: bool) -> subprocess.Popen[bytes]:
    # Detached: its own session, so a timeout can end the whole group (helpers such as
    # git-remote-https would otherwise keep the pipes open), and no stdin unless we feed
    # it. Its group is remembered until it ends, and killed if mlpin exits first.
    stdin = subprocess.PIPE if piped else (subprocess.DEVNULL if detached else None)
    try:
        process = subprocess.Popen(["git", *args], cwd=root, env=env, start_new_session=detached, stdin=stdin,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except FileNotFoundError as exc:
        if exc.filename == "git":
            raise OutsideSystemError("git", "the git command is not installed") from None
        raise OutsideSystemError("git", f"cannot run git in {root}: {exc.strerror}") from None
    except OSError as exc:
        raise OutsideSystemError("git", f"cannot run git in {root}: {exc.strerror or exc}") from None
    if detached:
        with _LIVE_LOCK:
            _LIVE.add(process.pid)
    return process


def _kill(process: subprocess.Popen[bytes]) -> None:
    _kill_group(process.pid)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.communicate(timeout=DRAIN_S)  # then the `with` closes the pipes and reaps git


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # the group may have ended on its own
        os.killpg(pgid, signal.SIGKILL)


@atexit.register
def _kill_live_groups() -> None:
    """git started in its own session does not get the signals that end mlpin (a CI job
    cancelled, `timeout`): end whatever is still running when mlpin exits."""
    with _LIVE_LOCK:
        for pgid in list(_LIVE):
            _kill_group(pgid)
        _LIVE.clear()


def _subcommand(args: tuple[str, ...]) -> str | None:
    """The git command in `args`, past global options such as `-c key=value`."""
    rest = iter(args)
    for arg in rest:
        if arg in ("-c", "-C"):
            next(rest, None)
        elif not arg.startswith("-"):
            return arg
    return None


def require_ref(root: Path, ref: str) -> str:
    """The commit `ref` names; InvalidInput saying how to get it when it does not exist."""
    try:
        return run_git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except GitFailed:
        raise InvalidInput(
            f"git ref '{ref}' does not exist here; fetch it first (in Actions: actions/checkout with fetch-depth: 0)"
        ) from None


def merge_base(root: Path, a: str, b: str) -> str:
    """The best common ancestor of two commits (where a branch left the other)."""
    try:
        return run_git(root, "merge-base", a, b)
    except GitFailed as exc:
        if exc.stderr:  # git itself failed; a silent exit 1 means there is no common ancestor
            raise
        raise InvalidInput(
            f"{a} and {b} have no common ancestor here; fetch the full history (in Actions: fetch-depth: 0)"
        ) from None


def parents(root: Path, commit: str) -> list[str]:
    """A commit's parents, first parent first; empty for a root commit."""
    return run_git(root, "rev-list", "--parents", "-n", "1", commit).split()[1:]


def first_parent(root: Path, commit: str) -> str | None:
    """The commit `commit` was made on (a merge's base side), or None for a root commit."""
    found = parents(root, commit)
    return found[0] if found else None


def is_ancestor(root: Path, ancestor: str, descendant: str) -> bool:
    """Whether `ancestor` is `descendant` or in its history."""
    try:
        run_git(root, "merge-base", "--is-ancestor", ancestor, descendant)
    except GitFailed as exc:
        if exc.stderr:  # git itself failed; a silent exit 1 means "no"
            raise
        return False
    return True


def merge_commit_of(root: Path, head: str, *, on: str = "HEAD") -> str | None:
    """The newest commit on `on`'s first-parent line whose second parent is `head`: the
    merge commit that merging `head` into that branch made; None when there is none."""
    tip = require_ref(root, head)
    for line in run_git(root, "rev-list", "--first-parent", "--merges", "--parents", on, f"^{tip}").splitlines():
        merge, *merged = line.split()
        if merged[1:2] == [tip]:
            return merge
    return None


def diff_names(root: Path, a: str, b: str) -> list[str]:
    """Paths that differ between two commits (or trees), both sides of a rename, unquoted."""
    return _paths(root, "diff", "--name-only", "--no-renames", "-z", a, b)


def committed_paths(root: Path, base: str) -> list[str]:
    """Paths the commits since the merge base of `base` and HEAD change: what a pull request
    holds, whatever else lies in the work tree (e.g. CI's own checkout of a tool)."""
    require_ref(root, base)
    return diff_names(root, merge_base(root, base, "HEAD"), "HEAD")


def changed_paths(root: Path, base: str) -> list[str]:
    """Paths the work tree changes against the merge base of `base` and HEAD: committed,
    staged, unstaged and deleted files, both sides of a rename, and untracked files."""
    require_ref(root, base)
    since = merge_base(root, base, "HEAD")
    # The work tree against a commit covers every state a tracked file can be in; without
    # rename detection a renamed file's old path (which something may still name) counts too.
    tracked = _paths(root, "diff", "--name-only", "--no-renames", "-z", since)
    untracked = _paths(root, "ls-files", "--others", "--exclude-standard", "-z")
    return sorted(set(tracked) | set(untracked))


def _paths(root: Path, *args: str) -> list[str]:
    """NUL-separated paths from raw output: no quoting to undo, no whitespace stripped."""
    return [p for p in git_bytes(root, *args).decode(errors="replace").split("\0") if p]


def _log(root: Path, path: str, *options: str) -> list[str]:
    return run_git(root, "log", *options, "--", path).splitlines()


def commits_touching(root: Path, path: str) -> list[str]:
    """Commits that changed anything under `path`, newest first."""
    return _log(root, path, "--format=%H")


def last_commit_touching(root: Path, path: str, *, ref: str = "HEAD", first_parent: bool = True) -> str | None:
    """The newest commit of `ref` that changed `path`, or None; with `first_parent`, the
    merge that brought a change in rather than the commit on the merged branch."""
    found = _log(root, path, "-1", *(["--first-parent"] if first_parent else []), "--format=%H", ref)
    return found[0] if found else None


def path_history(root: Path, path: str, *, ref: str = "HEAD", first_parent: bool = True) -> list[CommitInfo]:
    """Every commit of `ref` that changed `path`, oldest first, with time and committer."""
    lines = _log(
        root, path, *(["--first-parent"] if first_parent else []), "--reverse", "--format=%H%x1f%cI%x1f%cn", ref
    )
    return [CommitInfo(*line.split("\x1f")) for line in lines]


def committer_name(root: Path, commit: str) -> str:
    """Who committed `commit` (for a push, who pushed it)."""
    return run_git(root, "log", "-1", "--format=%cn", commit)


def file_at(root: Path, commit: str, path: str) -> bytes:
    """A file's bytes as committed at `commit`; GitFailed when it did not exist there."""
    return git_bytes(root, "show", f"{commit}:{path}")


def list_files(root: Path, commit: str, folder: str) -> list[str]:
    """Paths directly inside `folder` at `commit`, with the folder prefix."""
    return run_git(root, "ls-tree", "--name-only", commit, f"{folder.rstrip('/')}/").splitlines()


def remote_has_branch(root: Path, branch: str, *, remote: str = "origin") -> bool:
    """Whether `remote` has the branch now (asks the remote, not the last fetch)."""
    return remote_branch_tip(root, branch, remote=remote) is not None


def remote_branch_tip(root: Path, branch: str, *, remote: str = "origin") -> str | None:
    """The commit `remote`'s branch points at now (asks the remote), or None when it has none."""
    found = run_git(root, "ls-remote", "--heads", remote, f"refs/heads/{branch}").split()
    return found[0] if found else None


def current_branch(root: Path) -> str | None:
    """The checked-out branch name, or None when HEAD is detached."""
    try:
        name = run_git(root, "symbolic-ref", "--short", "-q", "HEAD")
    except GitFailed:
        return None
    return name or None


def toplevel(start: Path) -> Path | None:
    """The root of the git work tree containing `start`, or None outside one (or without git:
    commands that do not need git then work on the folder as it is)."""
    try:
        return Path(run_git(start, "rev-parse", "--show-toplevel"))
    except OutsideSystemError:
        return None


def head_commit(root: Path) -> str | None:
    """The full sha of HEAD, or None in a repository with no commits or no repository."""
    try:
        return run_git(root, "rev-parse", "--verify", "HEAD")
    except GitFailed:
        return None


def is_dirty(root: Path) -> bool:
    """Whether tracked or untracked, non-ignored files differ from HEAD."""
    try:
        return bool(run_git(root, "status", "--porcelain"))
    except GitFailed:
        return True
