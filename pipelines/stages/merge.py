"""`mlpin forge merge <pr>`: merge a pull request of the local forge, as a reviewer
pressing "Merge" on GitHub would. The merge commit lands on the checked-out base
branch; the local git user is the approver.

With an `origin`, the base is first brought up to origin's, and the merge is pushed when
origin takes it. A non-bare origin with the base checked out (a clone of someone's
ordinary repository) never does: the merge stays local and the result says so. Any other
failed push undoes the merge, so the PR stays open and "retry later" is true. Either the
PR is recorded merged together with its merge commit, or nothing changed, except when
recording fails after origin took the merge: that cannot be taken back, so the error
says to retry.

A retry never merges twice: when the base's first-parent line already has a merge
commit of the PR's head (a try that pushed but did not record, or whose push reply was
lost), that commit is the one recorded, however far origin has moved on since.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from pydantic import BaseModel

from pipelines.adapters import git, gitwrite
from pipelines.adapters.localforge import LocalForge, LocalPull
from pipelines.core.errors import InvalidInput, MlpinError, OutsideSystemError
from pipelines.stages.context import StageContext

KEPT_LOCAL = ("origin is a non-bare repository with {base} checked out, which git does not push to; "
              "to share the merge, pull it from this clone there")


class MergeResult(BaseModel):
    """The merged pull request."""

    pr: int
    head: str
    base: str
    merge_commit: str
    approver: str
    pushed: bool
    kept_local: str = ""  # why an origin did not get the merge; empty when pushed or there is no origin


def merge_pull(ctx: StageContext, pr: str) -> MergeResult:
    """Merge PR `pr` of the local forge into its base with a merge commit and record who approved it."""
    root, forge = ctx.root, ctx.forge
    if not isinstance(forge, LocalForge):
        raise InvalidInput("mlpin forge merge merges pull requests of the local forge only; on GitHub, merge in its UI")
    pull = forge.pull(pr)
    if pull.state != "open":
        raise InvalidInput(f"pull request #{pull.number} is {pull.state}; only open ones merge")
    gitwrite.require_checked_out(root, pull.base)
    remote = gitwrite.has_remote(root)
    head = _sync(root, base=pull.base, head=pull.head) if remote else pull.head
    sha, previous, on_origin = _merge(root, pull, head=head, remote=remote)
    merged, pushed, kept_local = _publish_and_record(root, forge, pull, merge_commit=sha, previous=previous,
                                                     remote=remote, on_origin=on_origin)
    return MergeResult(pr=pull.number, head=pull.head, base=pull.base, merge_commit=sha,
                       approver=merged.merged_by or "unknown", pushed=pushed, kept_local=kept_local)


def _merge(root: Path, pull: LocalPull, *, head: str, remote: bool) -> tuple[str, str, bool]:
    """(the merge commit, the base before it, whether origin has it): the one an earlier
    try made when the base's first-parent line has it (pushed, or kept, but not recorded),
    else a new one. HEAD is never taken for it: origin may have moved on since."""
    found = git.merge_commit_of(root, head)
    if found is not None:
        on_origin = remote and git.is_ancestor(root, found, f"origin/{pull.base}")
        return found, git.first_parent(root, found) or "", on_origin
    previous = git.head_commit(root) or ""
    message = f"Merge pull request #{pull.number} from {pull.head}\n\n{pull.title}"
    return gitwrite.merge_branch(root, head=head, base=pull.base, message=message), previous, False


def _publish_and_record(root: Path, forge: LocalForge, pull: LocalPull, *, merge_commit: str, previous: str,
                        remote: bool, on_origin: bool) -> tuple[LocalPull, bool, str]:
    """Push the merge when there is an origin that lacks it, then record the PR merged;
    when anything fails before the merge left this machine, the merge is undone and the
    PR stays open. Once origin has it, a failure to record says to retry."""
    pushed, kept_local = on_origin, ""
    try:
        if remote and not on_origin:
            pushed, kept_local = _publish(root, pull, merge_commit=merge_commit)
        merged = forge.record_merge(str(pull.number), merge_commit=merge_commit, approver=gitwrite.user_name(root))
    except BaseException as exc:
        if not pushed:
            gitwrite.undo_merge(root, merge_commit=merge_commit, previous=previous)
        elif isinstance(exc, OSError | MlpinError):
            raise _unrecorded(pull, merge_commit, exc) from exc
        raise
    return merged, pushed, kept_local


def _unrecorded(pull: LocalPull, merge_commit: str, exc: OSError | MlpinError) -> OutsideSystemError:
    detail = exc.message if isinstance(exc, MlpinError) else str(exc)
    return OutsideSystemError(
        "forge",
        f"PR #{pull.number} is merged as {merge_commit[:12]} and that merge is on origin, but recording it on the "
        f"forge failed: {detail}; retry (mlpin forge merge {pull.number}) to record it",
    )


def _sync(root: Path, *, base: str, head: str) -> str:
    """Bring the base (checked out) up to origin's, and name the head to merge: origin's
    copy when the branch was pushed (e.g. by propose in CI), else the local branch."""
    gitwrite.fetch_branch(root, base)
    gitwrite.fast_forward(root, f"origin/{base}")
    if git.remote_has_branch(root, head):
        gitwrite.fetch_branch(root, head, into=f"refs/remotes/origin/{head}")
        return f"origin/{head}"
    return head


def _publish(root: Path, pull: LocalPull, *, merge_commit: str) -> tuple[bool, str]:
    """Push the merge to origin: (True, "") when it got there, (False, why) when origin is
    a repository git does not push to; OutsideSystemError when the push failed otherwise."""
    try:
        if gitwrite.publish_branch(root, pull.base):
            return True, ""
        return False, KEPT_LOCAL.format(base=pull.base)
    except OutsideSystemError as exc:
        if _landed(root, pull.base, merge_commit):  # e.g. timed out after origin took it
            return True, ""
        raise OutsideSystemError(
            "git",
            f"pushing {pull.base} to origin failed, so the merge was undone and PR #{pull.number} is still open; "
            f"retry later (mlpin forge merge {pull.number}): {exc.message.removeprefix('git: ')}",
        ) from None


def _landed(root: Path, branch: str, sha: str) -> bool:
    """Whether origin's branch is `sha` now; False when origin cannot even be asked."""
    with contextlib.suppress(OutsideSystemError):
        return git.remote_branch_tip(root, branch) == sha
    return False
