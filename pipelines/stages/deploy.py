"""`mlpin deploy`: make MLflow mirror the pin on the checked-out branch.

The deployment is attributed to the commit that last changed the pin (first-parent),
so a deploy that runs after unrelated commits still names the right PR and approver.

For each pinned model the `production` alias is moved to the pinned version, after
checking that the version's run and stored artifact match the pin; the version is
tagged with the commit, PR, approver and time. Models no longer pinned lose the alias;
suspended ones are left as they are. A deployment of the commit is recorded on the
forge, and an optional HMAC-signed webhook tells serving to reconcile now. A second
run on the same commit changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel

from pipelines.adapters import git
from pipelines.adapters.forge import ENVIRONMENT, Merge
from pipelines.adapters.webhook import notify
from pipelines.adapters.yamlfile import load_document
from pipelines.core.errors import InvalidInput
from pipelines.core.lineage import tag
from pipelines.core.outcome import Kind
from pipelines.core.pin import check_integrity
from pipelines.core.rollout import ALIAS, AliasMove, plan_rollout
from pipelines.core.schemas import ProductionPins
from pipelines.core.workspace import PIN_PATH
from pipelines.stages.context import StageContext
from pipelines.stages.evidence import registry_record


class DeployRun(BaseModel):
    """What deploy did on one commit."""

    commit: str
    pr: str | None
    approver: str
    outcomes: list[AliasMove]
    deployment: str
    deployment_created: bool
    webhook: str


def deploy(ctx: StageContext) -> DeployRun:
    """Mirror the pin at HEAD into the registry and record the deployment."""
    root, forge, environ = ctx.root, ctx.forge, ctx.environ
    if git.head_commit(root) is None:
        raise InvalidInput("this repository has no commits yet")
    commit = _pin_commit(root)
    pins = load_document(root, PIN_PATH, schema=ProductionPins) if (root / PIN_PATH).exists() else ProductionPins()
    moves = plan_rollout(pins, ctx.registry.models_with_alias(ALIAS))
    merge = forge.merged_pull(commit) or _direct_push(root, commit, environ=environ)
    moves = [_apply(ctx, move, pins=pins, commit=commit, merge=merge) for move in moves]
    payload = {"models": {m: e.version for m, e in sorted(pins.models.items())}, "pr": merge.pr or None}
    described = ", ".join(f"{m} v{v}" for m, v in payload["models"].items()) or "nothing pinned"
    record = forge.record_deployment(
        sha=commit, environment=ENVIRONMENT, description=f"production: {described}", payload=payload
    )
    changed = record.created or any(m.outcome in ("moved", "removed") for m in moves)
    webhook = notify(environ, event={"commit": commit, **payload}) if changed else "not sent: nothing changed"
    return DeployRun(commit=commit, pr=merge.pr or None, approver=merge.approver, outcomes=moves,
                     deployment=record.id, deployment_created=record.created, webhook=webhook)


def _pin_commit(root: Path) -> str:
    """The commit that set the pin now checked out: later commits that left the pin
    alone (merged before this deploy ran) must not take the credit or the approval."""
    found = git.last_commit_touching(root, PIN_PATH)
    return found or git.head_commit(root)


def _direct_push(root: Path, commit: str, *, environ: Mapping[str, str]) -> Merge:
    """A pin change that did not come through a PR (e.g. a `git revert` pushed by hand)."""
    who = environ.get("GITHUB_ACTOR") or git.committer_name(root, commit)
    return Merge(pr="", approver=f"{who} (direct push)", merged_at="")


def _apply(ctx: StageContext, move: AliasMove, *, pins: ProductionPins, commit: str, merge: Merge) -> AliasMove:
    registry = ctx.registry
    if move.outcome == "removed":
        registry.delete_alias(move.model, ALIAS)
        return move
    if move.outcome != "moved":
        return move
    entry = pins.models[move.model]
    with ctx.progress.step(f"deploying {move.model} v{entry.version}"):
        problems = check_integrity(
            move.model, entry, record=registry_record(registry, move.model, version=entry.version)
        )
        if problems:
            reason = "; ".join(str(p) for p in problems)
            return move.model_copy(
                update={"outcome": "error", "kind": Kind.INVALID_INPUT, "headline": f"not deployed: {reason}"}
            )
        registry.set_alias(move.model, ALIAS, entry.version)
        registry.tag_version(move.model, entry.version, {
            tag("deployed_commit"): commit, tag("deployed_pr"): merge.pr or "none",
            tag("approver"): merge.approver, tag("deployed_at"): ctx.clock().isoformat(),
        })
    return move
