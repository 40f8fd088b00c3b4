"""`mlpin deploy`: make MLflow mirror the pin on the checked-out branch.

The deployment is attributed to the commit that last changed the pin (first-parent),
so a deploy that runs after unrelated commits still names the right PR and approver.

Every run checks every pinned (not suspended) entry: the version's run, lineage tags and
stored artifact digest must match the pin, also when the alias already points at it.
Then the pinned version is tagged with the commit that set it (first-parent; later pin
changes of other models take no credit), that commit's PR and approver and the time, and
only then is the `production` alias moved to it, so an alias that moved always says who
deployed it. An alias already at the pinned version gets those tags when they are
missing or credit another commit (a run that stopped half-way); the same tags are not
written twice. An entry that fails the check leaves the alias where it was (exit 2): a
pin change is "not deployed", and an alias that does not move but whose artifact changed
behind it is reported as such and left, because the alias records what was deployed and
every reader (serving included) checks the digest against the pin before loading. Models
no longer pinned lose the alias; suspended ones are left alone.

Each model is settled on its own: the registry failing on one (an outage: exit 3), even
a bug, is that model's outcome and the others still deploy. What each model came to is
then recorded on the forge (`core/deployment.py`), also after such a failure: one
deployment per commit and result, `success` only when no model failed. A second run with
the same result changes nothing; a rerun after the registry was fixed records the
success. An optional HMAC-signed webhook tells every serving replica to reconcile now
(a malformed replica list is refused before anything is written).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

from pydantic import BaseModel

from pipelines.adapters import git, pinlog
from pipelines.adapters.forge import ENVIRONMENT, Merge
from pipelines.adapters.webhook import WebhookCall, notify, webhook_urls
from pipelines.adapters.yamlfile import load_document
from pipelines.core.deployment import deployment_description, deployment_payload, deployment_state
from pipelines.core.errors import InvalidInput, Problem
from pipelines.core.lineage import tag
from pipelines.core.outcome import Kind
from pipelines.core.pin import check_integrity
from pipelines.core.rollout import ALIAS, AliasMove, entry_commit, plan_rollout
from pipelines.core.schemas import ProductionPins
from pipelines.core.workspace import PIN_PATH
from pipelines.stages.context import StageContext
from pipelines.stages.evidence import registry_record
from pipelines.stages.failure import failure_of

DEPLOY_TAGS = tuple(tag(name) for name in ("deployed_commit", "deployed_pr", "approver", "deployed_at"))


class DeployRun(BaseModel):
    """What deploy did on one commit."""

    commit: str
    pr: str | None
    approver: str
    outcomes: list[AliasMove]
    deployment: str
    deployment_created: bool
    deployment_state: str  # success | failure: whether every model is where the pin wants it
    webhooks: list[WebhookCall]  # one per replica in MLPIN_DEPLOY_WEBHOOK_URL (or one saying none was sent)


def deploy(ctx: StageContext) -> DeployRun:
    """Mirror the pin at HEAD into the registry and record the deployment."""
    root, forge, environ = ctx.root, ctx.forge, ctx.environ
    if git.head_commit(root) is None:
        raise InvalidInput("this repository has no commits yet")
    webhook_urls(environ)  # a malformed replica list is refused before anything is written
    commit = _pin_commit(root)
    pins = load_document(root, PIN_PATH, schema=ProductionPins) if (root / PIN_PATH).exists() else ProductionPins()
    moves = plan_rollout(pins, ctx.registry.models_with_alias(ALIAS))
    merge = forge.merged_pull(commit) or _direct_push(root, commit, environ=environ)
    credit = _Credit(ctx, commit=commit, merge=merge)
    moves = [_settle(ctx, move, pins=pins, credit=credit) for move in moves]
    pr = merge.pr or None
    record = forge.record_deployment(
        sha=commit, environment=ENVIRONMENT, description=deployment_description(moves),
        payload=deployment_payload(moves, pr=pr), state=deployment_state(moves),
    )
    changed = record.created or any(m.outcome in ("moved", "removed") for m in moves)
    event = {"commit": commit, "models": {m: e.version for m, e in sorted(pins.models.items())}, "pr": pr}
    webhooks = notify(environ, event=event) if changed else [WebhookCall(url=None, result="not sent: nothing changed")]
    return DeployRun(commit=commit, pr=pr, approver=merge.approver, outcomes=moves, deployment=record.id,
                     deployment_created=record.created, deployment_state=record.state, webhooks=webhooks)


def _pin_commit(root: Path) -> str:
    """The commit that set the pin now checked out: later commits that left the pin
    alone (merged before this deploy ran) must not take the credit or the approval."""
    found = git.last_commit_touching(root, PIN_PATH)
    return found or git.head_commit(root)


def _direct_push(root: Path, commit: str, *, environ: Mapping[str, str]) -> Merge:
    """A pin change that did not come through a PR (e.g. a `git revert` pushed by hand)."""
    who = environ.get("GITHUB_ACTOR") or git.committer_name(root, commit)
    return Merge(pr="", approver=f"{who} (direct push)", merged_at="")


class _Credit:
    """Who deploying a model's pinned version is credited to: the commit that set that
    version, its PR and approver. The pin's history and the forge are read once per run,
    and only as far as asked."""

    def __init__(self, ctx: StageContext, *, commit: str, merge: Merge) -> None:
        self._ctx = ctx
        self._commit = commit
        self._unread = pinlog.pins_newest_first(ctx.root, commit)
        self._read: list[tuple[str, ProductionPins | None]] = []
        self._merges = {commit: merge}

    def commit_of(self, model: str) -> str:
        """The commit that set the version `model` has in the pin being deployed."""
        return entry_commit(self._history(), model) or self._commit

    def tags(self, commit: str) -> dict[str, str]:
        """The deploy tags crediting `commit`, stamped now."""
        if commit not in self._merges:  # an older commit: this run's actor did not push it
            ctx = self._ctx
            self._merges[commit] = ctx.forge.merged_pull(commit) or _direct_push(ctx.root, commit, environ={})
        merge = self._merges[commit]
        values = (commit, merge.pr or "none", merge.approver, self._ctx.clock().isoformat())
        return dict(zip(DEPLOY_TAGS, values, strict=True))

    def _history(self) -> Iterator[tuple[str, ProductionPins | None]]:
        index = 0
        while index < len(self._read) or self._more():
            yield self._read[index]
            index += 1

    def _more(self) -> bool:
        found = next(self._unread, None)
        if found is not None:
            self._read.append(found)
        return found is not None


def _settle(ctx: StageContext, move: AliasMove, *, pins: ProductionPins, credit: _Credit) -> AliasMove:
    """Apply one model's move; its failure (the registry down, even a bug) becomes its
    outcome, so the others still deploy and the deployment records what happened to each."""
    try:
        return _apply(ctx, move, pins=pins, credit=credit)
    except Exception as exc:  # noqa: BLE001 - one model's failure must not stop the others or the record
        failure = failure_of(exc, subject=move.model)
        prefix = {"moved": "not deployed: ", "removed": "alias not removed: "}.get(move.outcome, "")
        return move.model_copy(update={"outcome": "error", "kind": failure.kind, "reason": failure.message,
                                       "headline": prefix + failure.message})


def _apply(ctx: StageContext, move: AliasMove, *, pins: ProductionPins, credit: _Credit) -> AliasMove:
    registry = ctx.registry
    if move.outcome == "removed":
        registry.delete_alias(move.model, ALIAS)
        return move
    if move.outcome not in ("moved", "unchanged"):
        return move
    entry = pins.models[move.model]
    with ctx.progress.step(f"checking {move.model} v{entry.version} (run, lineage, artifact sha256)"):
        record = registry_record(registry, move.model, version=entry.version)
        problems = check_integrity(move.model, entry, record=record)
    if problems:
        changed = record.exists and record.artifact_sha256 != entry.artifact_sha256
        return _refused(move, problems, artifact_changed=changed)
    deployed = credit.commit_of(move.model)
    if move.outcome == "moved":
        with ctx.progress.step(f"deploying {move.model} v{entry.version}"):
            # Tags first: should the run stop between the two, the alias has not moved, and
            # the retry moves it; the other way round the retry would find it "unchanged".
            registry.tag_version(move.model, entry.version, credit.tags(deployed))
            registry.set_alias(move.model, ALIAS, entry.version)
        return move
    if _credits(record.tags, deployed):
        return move
    registry.tag_version(move.model, entry.version, credit.tags(deployed))
    return move.model_copy(update={"headline": f"{move.headline}; deploy tags written"})


def _credits(tags: Mapping[str, str], commit: str) -> bool:
    """Whether a version's tags say it was deployed by `commit` (all of them present)."""
    return all(name in tags for name in DEPLOY_TAGS) and tags[DEPLOY_TAGS[0]] == commit


def _refused(move: AliasMove, problems: list[Problem], *, artifact_changed: bool) -> AliasMove:
    """The alias stays where it was; the reason says whether a pin change was refused or
    what the alias already points at no longer matches the pin."""
    reason = "; ".join(str(p) for p in problems)
    if move.outcome != "moved":
        reason = f"{'artifact' if artifact_changed else 'registry'} changed behind the alias: {reason}"
    headline = f"not deployed: {reason}" if move.outcome == "moved" else reason
    return move.model_copy(update={"outcome": "error", "kind": Kind.INVALID_INPUT, "reason": reason,
                                   "headline": headline})
