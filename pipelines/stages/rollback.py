"""`mlpin rollback <model> [--to VERSION]`: open a PR that is the `git revert` of the
commit that last changed the model's pin (with `--to`, of every pin change of that
model since VERSION was pinned). Verify, merge and deploy then treat it like any other
pin change; a plain `git revert` pushed by hand works the same way.

The forge is asked for the open PR from the rollback branch before anything is pushed,
so an unreachable forge or a token that cannot read pull requests stops the run with
nothing published. A rerun reuses that PR; when its branch already holds exactly the
revert (the same files), the branch is left as it is (its reviews stay) and only the
PR's title and body are brought up to date.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from pipelines.adapters import git, gitwrite, pinlog
from pipelines.core.errors import InvalidInput, NotFound
from pipelines.core.history import PinEvent, pin_events
from pipelines.core.pullrequests import render_rollback, rollback_branch, rollback_title
from pipelines.stages.context import StageContext


class Rollback(BaseModel):
    """The revert PR that was opened or updated."""

    model: str
    reverts: list[str]
    from_version: int | None
    to_version: int | None
    branch: str
    pr: str
    url: str


def rollback(ctx: StageContext, model: str, *, to: int | None = None, base_branch: str | None = None) -> Rollback:
    """Revert the pin changes after the target version, on branch `rollback/<model>`."""
    root = ctx.root
    base = base_branch or git.current_branch(root)
    if not base:
        raise InvalidInput("HEAD is detached; pass --base-branch, the branch the rollback PR merges into")
    events = pin_events(model, pinlog.snapshots(root))
    if not events:
        raise NotFound(f"{model} was never pinned in models/production.yaml on this branch; nothing to roll back")
    reverts = _to_revert(model, events, to=to)
    current, target = events[-1].version, reverts[-1].previous
    title = rollback_title(model, current=current, target=target)
    shas = [e.commit for e in reverts]
    message = f"{title}\n\nReverts {', '.join(s[:12] for s in shas)}. Made by mlpin rollback."
    branch = rollback_branch(model)
    open_pull = ctx.forge.open_pull_for(branch)  # fails here, before any push, when the forge cannot answer
    commit = gitwrite.revert_commits(root, onto=git.head_commit(root), commits=shas, message=message)
    published = _published(root, branch, commit) if open_pull is not None else None
    gitwrite.set_branch(root, branch, published or commit)
    if published is None and gitwrite.has_remote(root):
        gitwrite.push_branch(root, branch)
    body = render_rollback(model, reverts=shas, current=current, target=target)
    pull = ctx.forge.open_pull(head=branch, base=base, title=title, body=body)
    return Rollback(
        model=model, reverts=shas, from_version=current, to_version=target, branch=branch, pr=pull.number, url=pull.url
    )


def _published(root: Path, branch: str, commit: str) -> str | None:
    """The remote's tip of `branch` when it holds the same files as `commit` (a rerun of the
    same rollback), fetched fresh; None when it differs or there is no remote copy."""
    if not gitwrite.has_remote(root):
        return None
    try:
        gitwrite.fetch_branch(root, branch, into=f"refs/remotes/origin/{branch}")
    except git.GitFailed:  # the remote has no such branch (yet): push it
        return None
    tip = gitwrite.remote_tip(root, branch)
    return tip if tip is not None and gitwrite.same_tree(root, tip, commit) else None


def _to_revert(model: str, events: list[PinEvent], *, to: int | None) -> list[PinEvent]:
    """Newest first: the last change, or every change after `to` was last pinned."""
    if events[-1].version is None and to is None:
        raise InvalidInput(f"{model} is not pinned now; pass --to VERSION to pin an earlier version again")
    if to is None:
        return [events[-1]]
    if events[-1].version == to:
        raise InvalidInput(f"{model} v{to} is already in production")
    pinned = [i for i, e in enumerate(events) if e.version == to]
    if not pinned:
        versions = sorted({e.version for e in events if e.version is not None})
        raise InvalidInput(
            f"{model} v{to} was never in production on this branch; it held {', '.join(f'v{v}' for v in versions)}"
        )
    return events[pinned[-1] + 1:][::-1]
