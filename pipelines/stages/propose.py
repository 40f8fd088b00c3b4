"""`mlpin propose`: make the open promotion PRs match main (level-triggered).

For every model, compare the spec hash at main (spec, data pointer, mlpin version) with
what the pin records and what its open promotion PR (branch `promote/<model>`) proposes:

- pinned at this spec: nothing to propose; an open promotion PR is closed with a comment.
- this spec was pinned before and was rolled back since: not proposed again.
- an open promotion PR already proposes this spec: kept, rebuilt on the new main if main
  moved, so it keeps changing only its own entry.
- otherwise: the candidate for this spec (one propose judged before, or trained,
  registered and judged now, from the merged commit, by this trusted code) is judged by
  the policy as it stands; if it passes, `promote/<model>` is written and its PR opened
  or updated (a stale PR for an older spec is updated in place); if it is blocked, a
  failing `mlpin/propose/<model>` status and a comment on the merged PR, and a stale
  promotion PR is closed with a comment.

The push's `--before` only says why a model changed; it never limits what is checked, so
a run that was skipped or cancelled loses nothing: the next one converges.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from pydantic import BaseModel

import pipelines
from pipelines.adapters import git, gitwrite, pinlog
from pipelines.adapters.forge import PROPOSE_CONTEXT, Forge, Merge, PullRef, status_context
from pipelines.core.affected import affected_models
from pipelines.core.errors import InvalidInput
from pipelines.core.lineage import spec_hash, tag
from pipelines.core.markers import candidate_marker, propose_marker
from pipelines.core.nextpin import pin_entry, render_pins, with_entry
from pipelines.core.outcome import Kind
from pipelines.core.policy import Decision
from pipelines.core.pullrequests import (
    promotion_branch,
    promotion_title,
    render_blocked,
    render_promotion,
    render_superseded,
)
from pipelines.core.rebuild import parse_reported, rebuild_line
from pipelines.core.schemas import PinnedModel, ProductionPins
from pipelines.core.workspace import PIN_PATH
from pipelines.stages.candidate import REPORT_PATH, assess
from pipelines.stages.context import StageContext
from pipelines.stages.evidence import recorded_decision, registry_record
from pipelines.stages.failure import failure_of

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
JUDGED_BY = tag("judged_by")


class Proposal(BaseModel):
    """What propose did for one model."""

    model: str
    # proposed | unchanged | refreshed | pending | blocked | still_blocked | in_production | rolled_back | no_spec
    # | error
    outcome: str
    headline: str
    version: int | None = None
    branch: str | None = None
    pr: str | None = None
    url: str | None = None
    closed: str | None = None  # a stale promotion PR this run closed
    kind: Kind = Kind.DONE


class ProposeRun(BaseModel):
    """Every model's proposal."""

    commit: str
    base_branch: str
    changed: list[str]
    outcomes: list[Proposal]


@dataclass(frozen=True)
class _Model:
    """One model's desired and actual state, read once."""

    name: str
    want: str  # the spec hash at main
    pinned: PinnedModel | None
    pull: PullRef | None  # its open promotion PR
    proposed: PinnedModel | None  # the entry that PR's branch pins
    reasons: list[str]
    changed: bool  # whether this push changed the model's spec, data or policy


def propose(ctx: StageContext, *, before: str | None = None, base_branch: str | None = None) -> ProposeRun:
    """Reconcile every model's promotion PR with main. A failure in one model (even a bug)
    is reported for that model; the others are still reconciled."""
    root, ws = ctx.root, ctx.workspace
    head = git.head_commit(root)
    if head is None:
        raise InvalidInput("this repository has no commits yet")
    branch = base_branch or git.current_branch(root)
    if not branch:
        raise InvalidInput("HEAD is detached; pass --base-branch, the branch promotion PRs merge into")
    changed = _changed(root, before=before, head=head)
    hinted = affected_models(ws, changed)
    merged = _Lazy(lambda: ctx.forge.merged_pull(head))
    outcomes = [
        _isolated(model, partial(_reconcile, ctx, model, reasons=hinted.get(model, []), head=head,
                                 base_branch=branch, merged=merged))
        for model in sorted(ws.specs)
    ]
    retired = [_isolated(model, partial(_retire, ctx, model)) for model in _without_spec(ctx)]
    outcomes += [o for o in retired if o.outcome != "no_spec" or o.closed]  # nothing left to close: nothing to say
    _rollup(ctx.forge, head, outcomes)
    return ProposeRun(commit=head, base_branch=branch, changed=changed, outcomes=outcomes)


def _rollup(forge: Forge, head: str, outcomes: list[Proposal]) -> None:
    """`mlpin/propose` on the commit: failure if any model judged here was blocked or failed;
    each model's own context says which. Nothing when no model was judged on this commit."""
    judged = [o for o in outcomes if o.outcome in ("proposed", "unchanged", "blocked", "error")]
    if not judged:
        return
    bad = [o.model for o in judged if o.outcome in ("blocked", "error")]
    state = "failure" if bad else "success"
    description = f"not proposed: {', '.join(bad)}" if bad else f"proposed: {', '.join(o.model for o in judged)}"
    forge.set_status(head, context=PROPOSE_CONTEXT, state=state, description=description[:140])


class _Lazy:
    """A forge answer read at most once per run, and only if some model needs it."""

    def __init__(self, read: Callable[[], Merge | None]) -> None:
        self._read, self._done, self._value = read, False, None

    def get(self) -> Merge | None:
        if not self._done:
            self._value, self._done = self._read(), True
        return self._value


def _isolated(model: str, work: Callable[[], Proposal]) -> Proposal:
    """Run one model's part; its failure, even a bug, becomes its outcome and the others go on."""
    try:
        return work()
    except Exception as exc:  # noqa: BLE001 - one model's failure must not stop the others
        failure = failure_of(exc, subject=model)
        return Proposal(model=model, outcome="error", headline=failure.message, kind=failure.kind)


def _changed(root: Path, *, before: str | None, head: str) -> list[str]:
    if before is None:
        parents = git.parents(root, head)
        before = parents[0] if parents else EMPTY_TREE
    elif set(before) == {"0"}:  # a push that created the branch
        before = EMPTY_TREE
    else:
        try:
            before = git.require_ref(root, before)
        except InvalidInput:  # e.g. history rewritten by a force push: only the reasons are lost
            return []
    return git.diff_names(root, before, head)


def _state(ctx: StageContext, model: str, *, reasons: list[str]) -> _Model:
    ws, root = ctx.workspace, ctx.root
    spec = ws.spec(model)
    want = spec_hash(spec, ws.data_for(spec), mlpin_version=pipelines.__version__, holdout=ws.holdout_for(spec))
    branch = promotion_branch(model)
    pull = ctx.forge.open_pull_for(branch)
    proposed = None
    if pull is not None:
        tip = gitwrite.branch_tip(root, branch) or gitwrite.remote_tip(root, branch)
        proposed = (pinlog.pins_at(root, tip) or ProductionPins()).models.get(model) if tip else None
    return _Model(name=model, want=want, pinned=ws.pins.models.get(model), pull=pull, proposed=proposed,
                  reasons=reasons or ["the spec at main is not the one production pins"], changed=bool(reasons))


def _reconcile(ctx: StageContext, model: str, *, reasons: list[str], head: str, base_branch: str,
               merged: _Lazy) -> Proposal:
    state = _state(ctx, model, reasons=reasons)
    if state.pinned is not None and state.pinned.spec_hash == state.want:
        closed = _close(ctx.forge, state, why=f"production already pins `{model}` v{state.pinned.version}, "
                                              f"trained from the spec at main")
        return Proposal(model=model, outcome="in_production", headline=f"v{state.pinned.version} is in production",
                        version=state.pinned.version, closed=closed)
    rolled_back = _rolled_back_at(ctx.root, model, want=state.want)
    if rolled_back is not None:
        closed = _close(ctx.forge, state, why=f"the spec at main was rolled back at {rolled_back[:12]}, so "
                                              "nothing is proposed for it")
        return Proposal(model=model, outcome="rolled_back", closed=closed, headline=(
            f"the spec at main was in production until {rolled_back[:12]} and was rolled back; not proposed "
            "again (change the spec or data for a new candidate)"))
    if state.proposed is not None and state.pull is not None and state.proposed.spec_hash == state.want:
        return _keep(ctx, state, head=head)
    ctx.progress.note(f"propose {model}: {'; '.join(state.reasons)}")
    return _judge_and_propose(ctx, state, head=head, base_branch=base_branch, merged=merged)


def _without_spec(ctx: StageContext) -> list[str]:
    """Models that have a promotion branch but no spec any more (models/<m>.yaml was deleted)."""
    prefix = promotion_branch("")
    return [b.removeprefix(prefix) for b in gitwrite.branches_under(ctx.root, prefix)
            if b.removeprefix(prefix) and b.removeprefix(prefix) not in ctx.workspace.specs]


def _retire(ctx: StageContext, model: str) -> Proposal:
    """Close the open promotion PR of a model whose spec is gone: merging it would pin a model
    nothing defines any more."""
    pull = ctx.forge.open_pull_for(promotion_branch(model))
    if pull is None:
        return Proposal(model=model, outcome="no_spec", headline=f"models/{model}.yaml does not exist")
    ctx.forge.close_pull(pull.number, comment=render_superseded(
        model, why=f"models/{model}.yaml no longer exists on main"))
    return Proposal(model=model, outcome="no_spec", closed=pull.number,
                    headline=f"models/{model}.yaml does not exist; its promotion PR {pull.number} is closed")


def _rolled_back_at(root: Path, model: str, *, want: str) -> str | None:
    """The commit that took spec `want` out of production, if it was ever pinned on this
    branch and is not now (a revert of its promotion, or a later pin edit)."""
    later = None
    for commit, pins in pinlog.pins_newest_first(root):
        entry = (pins or ProductionPins()).models.get(model)
        if entry is not None and entry.spec_hash == want:
            return later
        later = commit
    return None


def _keep(ctx: StageContext, state: _Model, *, head: str) -> Proposal:
    """The open promotion PR already proposes the spec at main: rebuild its branch on the
    new main if main moved (e.g. another model's promotion merged)."""
    assert state.proposed is not None and state.pull is not None
    root, ws, branch = ctx.root, ctx.workspace, promotion_branch(state.name)
    title = promotion_title(state.name, state.proposed)
    tip = gitwrite.branch_tip(root, branch) or gitwrite.remote_tip(root, branch)
    rebuilt = tip is None or git.first_parent(root, tip) != head
    if rebuilt:
        content = render_pins(with_entry(ws.pins, state.name, entry=state.proposed))
        _write_branch(root, branch, parent=head, content=content, title=title)
    return Proposal(
        model=state.name, outcome="refreshed" if rebuilt else "pending",
        headline=f"{title}: {'rebuilt on ' + head[:12] if rebuilt else 'awaiting review'}",
        version=state.proposed.version, branch=branch, pr=state.pull.number, url=state.pull.url,
    )


def _judge_and_propose(ctx: StageContext, state: _Model, *, head: str, base_branch: str,
                       merged: _Lazy) -> Proposal:
    root, ws, forge, registry, model = ctx.root, ctx.workspace, ctx.forge, ctx.registry, state.name
    version, report = _candidate(ctx, state, merged=merged)
    record = registry_record(registry, model, version=version)
    metrics = registry.run_metrics(record.run_id) if record.run_id else {}
    decision = recorded_decision(registry, ws, model=model, record=record, metrics=metrics)
    if decision is None:
        raise InvalidInput(f"{model} v{version} has no recorded decision; rerun mlpin propose")
    context = status_context("propose", model)
    if decision.outcome != "passed":
        return _blocked(forge, state, decision, version=version, head=head, context=context, merged=merged)
    entry = pin_entry(model, version, run_id=record.run_id, tags=record.tags, metrics=metrics)
    title = promotion_title(model, entry)
    branch = promotion_branch(model)
    created = _write_branch(root, branch, parent=head, content=render_pins(with_entry(ws.pins, model, entry=entry)),
                            title=title)
    source = merged.get()
    body = render_promotion(
        model, old=state.pinned, new=entry,
        report=report or registry.read_text(record.run_id, REPORT_PATH),
        rebuild=rebuild_line(_reported(forge, source, model), entry=entry, pr=source.pr if source else None),
    )
    pull = forge.open_pull(head=branch, base=base_branch, title=title, body=body)
    forge.set_status(head, context=context, state="success", description=f"{title} (PR {pull.number})")
    outcome = "proposed" if created or pull.changed else "unchanged"
    return Proposal(model=model, outcome=outcome, headline=title, version=version, branch=branch, pr=pull.number,
                    url=pull.url)


def _reported(forge: Forge, source: Merge | None, model: str):
    """What the merged PR's candidate comment reported, if there is one (shown, never trusted)."""
    if source is None:
        return None
    body = forge.own_comment(source.pr, candidate_marker(model))
    return parse_reported(body) if body else None


def _candidate(ctx: StageContext, state: _Model, *, merged: _Lazy) -> tuple[int, str | None]:
    """The version propose judged for the spec at main; trained, registered and judged now
    if there is none. Versions registered by anything else (a developer's `mlpin train`,
    an older pull-request job) are never picked."""
    registry, progress, model = ctx.registry, ctx.progress, state.name
    version = registry.newest_version(model, spec_hash=state.want, with_tag=JUDGED_BY)
    if version is not None:
        progress.note(f"{model}: using v{version}, judged for spec {state.want[:12]}")
        return version, None
    progress.note(f"{model}: training the candidate for spec {state.want[:12]} from the merged commit")
    from pipelines.adapters.registry import state_dir
    from pipelines.core.report import render_candidate

    source = merged.get()
    report = assess(ctx, model, reasons=state.reasons, pr=source.pr if source else "main",
                    out_dir=state_dir(ctx.root) / "propose" / model, register=True)
    assert report.train.version is not None
    return report.train.version, render_candidate(report)


def _write_branch(root: Path, branch: str, *, parent: str, content: str, title: str) -> bool:
    """Point `branch` at one commit on `parent` that sets the pin; False when it already does."""
    tip = gitwrite.branch_tip(root, branch)
    commit = gitwrite.commit_file(
        root, parent=parent, path=PIN_PATH, content=content, message=f"{title}\n\nMade by mlpin propose."
    )
    current = tip is not None and git.first_parent(root, tip) == parent and gitwrite.same_tree(root, tip, commit)
    if not current:
        gitwrite.set_branch(root, branch, commit)
    if gitwrite.has_remote(root):  # a forced push of a branch only mlpin writes: safe to repeat
        gitwrite.push_branch(root, branch)
    return not current


def _close(forge: Forge, state: _Model, *, why: str) -> str | None:
    """Close the model's open promotion PR, saying why; None when there is none."""
    if state.pull is None:
        return None
    forge.close_pull(state.pull.number, comment=render_superseded(state.name, why=why))
    return state.pull.number


def _blocked(forge: Forge, state: _Model, decision: Decision, *, version: int, head: str, context: str,
             merged: _Lazy) -> Proposal:
    model = state.name
    failed = ", ".join(g.gate for g in decision.failed)
    forge.set_status(head, context=context, state="failure", description=f"{model} v{version} blocked: {failed}")
    source = merged.get() if state.changed else None  # said on the PR that changed it, not on every later one
    if source is not None:
        forge.upsert_comment(source.pr, propose_marker(model), render_blocked(model, decision, version=version))
    closed = None
    if state.proposed is not None and state.proposed.spec_hash != state.want:
        closed = _close(forge, state, why=f"the spec at main changed, and its candidate v{version} is blocked "
                                          f"({failed})")
    return Proposal(model=model, outcome="blocked" if state.changed else "still_blocked",
                    headline=f"v{version} blocked: {failed}", version=version, closed=closed,
                    kind=Kind.BLOCKED if state.changed else Kind.DONE)
