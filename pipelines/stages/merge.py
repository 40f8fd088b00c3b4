"""`mlpin forge merge <pr>`: merge a pull request of the local forge, as a reviewer
pressing "Merge" on GitHub would. The merge commit lands on the checked-out base
branch (and on `origin` when there is one); the local git user is the approver."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from pipelines.adapters import git, gitwrite
from pipelines.adapters.localforge import LocalForge
from pipelines.core.errors import InvalidInput
from pipelines.stages.context import StageContext


class MergeResult(BaseModel):
    """The merged pull request."""

    pr: int
    head: str
    base: str
    merge_commit: str
    approver: str
    pushed: bool


def merge_pull(ctx: StageContext, pr: str) -> MergeResult:
    """Merge PR `pr` of the local forge into its base with a merge commit and record who approved it."""
    root, forge = ctx.root, ctx.forge
    if not isinstance(forge, LocalForge):
        raise InvalidInput("mlpin forge merge merges pull requests of the local forge only; on GitHub, merge in its UI")
    pull = forge.pull(pr)
    if pull.state != "open":
        raise InvalidInput(f"pull request #{pull.number} is {pull.state}; only open ones merge")
    remote = gitwrite.has_remote(root)
    head = _sync(root, base=pull.base, head=pull.head) if remote else pull.head
    message = f"Merge pull request #{pull.number} from {pull.head}\n\n{pull.title}"
    sha = gitwrite.merge_branch(root, head=head, base=pull.base, message=message)
    if remote:
        gitwrite.push_ref(root, pull.base, pull.base)
    approver = gitwrite.user_name(root)
    forge.record_merge(str(pull.number), merge_commit=sha, approver=approver)
    return MergeResult(
        pr=pull.number, head=pull.head, base=pull.base, merge_commit=sha, approver=approver, pushed=remote
    )


def _sync(root: Path, *, base: str, head: str) -> str:
    """Bring the checked-out base up to origin's, and name the head to merge: origin's
    copy when the branch was pushed (e.g. by propose in CI), else the local branch."""
    gitwrite.fetch_branch(root, base)
    if git.current_branch(root) == base:
        gitwrite.fast_forward(root, f"origin/{base}")
    if git.remote_has_branch(root, head):
        gitwrite.fetch_branch(root, head, into=f"refs/remotes/origin/{head}")
        return f"origin/{head}"
    return head
