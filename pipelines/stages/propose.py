"""`mlpin propose`: after a merge to main, open or update one promotion PR per model
whose candidate passed.

For each model the merge affects: take the version registered for the current spec
hash with a recorded decision (train and judge one only if none exists), re-apply the
policy as it stands now, and if it passes, write branch `promote/<model>` whose only
change is that model's entry in `models/production.yaml`, and open or update its PR.
If it is blocked: no PR, a failing `mlpin/propose` status on the commit, and a comment
on the merged PR listing every failed gate. Open promotion PRs of other models are
rebuilt on the new main, so each keeps changing only its own entry.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

from pydantic import BaseModel

import pipelines
from pipelines.adapters import git, gitwrite, pinlog
from pipelines.adapters.forge import PROPOSE_CONTEXT, Forge
from pipelines.core.affected import affected_models
from pipelines.core.errors import InvalidInput
from pipelines.core.lineage import spec_hash, tag
from pipelines.core.markers import propose_marker
from pipelines.core.nextpin import pin_entry, render_pins, with_entry
from pipelines.core.outcome import Kind
from pipelines.core.policy import Decision
from pipelines.core.pullrequests import promotion_branch, promotion_title, render_blocked, render_promotion
from pipelines.core.schemas import ProductionPins
from pipelines.core.workspace import PIN_PATH
from pipelines.stages.candidate import REPORT_PATH, assess
from pipelines.stages.context import StageContext
from pipelines.stages.evidence import recorded_decision, registry_record
from pipelines.stages.failure import failure_of

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


class Proposal(BaseModel):
    """What propose did for one model."""

    model: str
    outcome: str  # proposed | unchanged | refreshed | blocked | in_production | error
    headline: str
    version: int | None = None
    branch: str | None = None
    pr: str | None = None
    url: str | None = None
    kind: Kind = Kind.DONE


class ProposeRun(BaseModel):
    """Every affected model's proposal."""

    commit: str
    base_branch: str
    changed: list[str]
    outcomes: list[Proposal]


def propose(ctx: StageContext, *, before: str | None = None, base_branch: str | None = None) -> ProposeRun:
    """Propose promotions for the models changed between `before` (default: HEAD's
    first parent) and HEAD. A failure in one model (even a bug) is reported for that
    model; the others are still proposed."""
    root, ws = ctx.root, ctx.workspace
    head = git.head_commit(root)
    if head is None:
        raise InvalidInput("this repository has no commits yet")
    branch = base_branch or git.current_branch(root)
    if not branch:
        raise InvalidInput("HEAD is detached; pass --base-branch, the branch promotion PRs merge into")
    changed = _changed(root, before=before, head=head)
    affected = affected_models(ws, changed)
    outcomes: list[Proposal | None] = []
    for model, reasons in affected.items():
        ctx.progress.note(f"propose {model}: {'; '.join(reasons)}")
        outcomes.append(_isolated(model, partial(_propose_one, ctx, model, reasons=reasons, head=head,
                                                 base_branch=branch)))
    for model in sorted(set(ws.specs) - set(affected)):
        outcomes.append(_isolated(model, partial(_refresh, ctx, model, head=head)))
    return ProposeRun(commit=head, base_branch=branch, changed=changed, outcomes=[o for o in outcomes if o])


def _isolated(model: str, work: Callable[[], Proposal | None]) -> Proposal | None:
    """Run one model's part; its failure, even a bug, becomes its outcome and the others go on."""
    try:
        return work()
    except Exception as exc:  # noqa: BLE001 - one model's failure must not stop the others
        failure = failure_of(exc, subject=model)
        return Proposal(model=model, outcome="error", headline=failure.message, kind=failure.kind)


def _refresh(ctx: StageContext, model: str, *, head: str) -> Proposal | None:
    """Rebuild an open promotion PR's branch on the new main (e.g. after another model's
    promotion merged), so it keeps changing only its own entry and merges cleanly."""
    root, ws = ctx.root, ctx.workspace
    branch = promotion_branch(model)
    tip = gitwrite.branch_tip(root, branch) or gitwrite.remote_tip(root, branch)
    if tip is None or git.first_parent(root, tip) == head:
        return None
    entry = (pinlog.pins_at(root, tip) or ProductionPins()).models.get(model)
    if entry is None or entry == ws.pins.models.get(model):
        return None
    pull = ctx.forge.open_pull_for(branch)
    if pull is None:  # merged, closed or never opened: nothing to keep current
        return None
    title = promotion_title(model, entry)
    _write_branch(root, branch, parent=head, content=render_pins(with_entry(ws.pins, model, entry=entry)), title=title)
    return Proposal(
        model=model,
        outcome="refreshed",
        headline=f"{title}: rebuilt on {head[:12]}",
        version=entry.version,
        branch=branch,
        pr=pull.number,
        url=pull.url,
    )


def _changed(root: Path, *, before: str | None, head: str) -> list[str]:
    if before is None:
        parents = git.parents(root, head)
        before = parents[0] if parents else EMPTY_TREE
    elif set(before) == {"0"}:  # a push that created the branch
        before = EMPTY_TREE
    else:
        before = git.require_ref(root, before)
    return git.diff_names(root, before, head)


def _propose_one(ctx: StageContext, model: str, *, reasons: list[str], head: str, base_branch: str) -> Proposal:
    root, ws, forge, registry = ctx.root, ctx.workspace, ctx.forge, ctx.registry
    version, report = _candidate(ctx, model, reasons=reasons)
    record = registry_record(registry, model, version=version)
    metrics = registry.run_metrics(record.run_id) if record.run_id else {}
    decision = recorded_decision(registry, ws, model=model, record=record, metrics=metrics)
    if decision is None:
        raise InvalidInput(f"{model} v{version} has no recorded decision; run mlpin candidate on it")
    current = ws.pins.models.get(model)
    if current is not None and current.version == version:
        return Proposal(
            model=model, outcome="in_production", headline=f"v{version} is already in production", version=version
        )
    if decision.outcome != "passed":
        return _blocked(forge, decision, model=model, version=version, head=head)
    entry = pin_entry(model, version, run_id=record.run_id, tags=record.tags, metrics=metrics)
    title = promotion_title(model, entry)
    branch = promotion_branch(model)
    created = _write_branch(
        root, branch, parent=head, content=render_pins(with_entry(ws.pins, model, entry=entry)), title=title
    )
    body = render_promotion(
        model, old=current, new=entry, report=report or registry.read_text(record.run_id, REPORT_PATH)
    )
    pull = forge.open_pull(head=branch, base=base_branch, title=title, body=body)
    forge.set_status(head, context=PROPOSE_CONTEXT, state="success", description=f"{model}: {title} (PR {pull.number})")
    outcome = "proposed" if created or pull.changed else "unchanged"
    return Proposal(
        model=model, outcome=outcome, headline=title, version=version, branch=branch, pr=pull.number, url=pull.url
    )


def _candidate(ctx: StageContext, model: str, *, reasons: list[str]) -> tuple[int, str | None]:
    """The judged version for the current spec, trained and judged now only if none exists."""
    ws, registry, progress = ctx.workspace, ctx.registry, ctx.progress
    spec = ws.spec(model)
    digest = spec_hash(spec, ws.pointers[spec.data], mlpin_version=pipelines.__version__)
    version = registry.newest_version(model, spec_hash=digest, with_tag=tag("verdict"))
    if version is not None:
        progress.note(f"{model}: using v{version}, judged for spec {digest[:12]}")
        return version, None
    progress.note(f"{model}: no judged candidate for spec {digest[:12]}; training one")
    from pipelines.adapters.registry import state_dir
    from pipelines.core.report import render_candidate

    report = assess(ctx, model, reasons=reasons, pr="main", out_dir=state_dir(ctx.root) / "propose" / model)
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


def _blocked(forge: Forge, decision: Decision, *, model: str, version: int, head: str) -> Proposal:
    failed = ", ".join(g.gate for g in decision.failed)
    forge.set_status(
        head, context=PROPOSE_CONTEXT, state="failure", description=f"{model} v{version} blocked: {failed}"
    )
    merged = forge.merged_pull(head)
    if merged is not None:
        forge.upsert_comment(merged.pr, propose_marker(model), render_blocked(model, decision, version=version))
    return Proposal(
        model=model, outcome="blocked", headline=f"v{version} blocked: {failed}", version=version, kind=Kind.BLOCKED
    )
