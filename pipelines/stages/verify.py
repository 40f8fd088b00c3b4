"""`mlpin verify --base <ref>`: the required check on a PR that changes the pin.

Only entries that change are checked: the version exists, its run, lineage tags and
stored artifact match the pin, and its recorded candidate evidence passes the policy as
it stands at this commit (a version that was in production before, i.e. a rollback,
is exempt from the policy re-check but not from the integrity checks). A pin change
must also be the only change in its PR; one that comes with changes under .github/ (the workflows
that run this check, CODEOWNERS) is refused with its own message.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from pipelines.adapters import git, pinlog
from pipelines.core.errors import Problem
from pipelines.core.pin import PinChange, check_entry, pin_changes
from pipelines.core.schemas import PinnedModel, ProductionPins
from pipelines.core.workspace import PIN_PATH
from pipelines.stages.context import StageContext
from pipelines.stages.evidence import recorded_decision, registry_record

GITHUB_DIR = ".github/"


class VerifyReport(BaseModel):
    """What changed in the pin and every problem found."""

    base: str
    changes: list[str]
    notes: list[str]
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(ctx: StageContext, *, base: str) -> VerifyReport:
    """Check the pin change between the merge base of `base` and HEAD."""
    root, ws = ctx.root, ctx.workspace
    merge_base = git.merge_base(root, git.require_ref(root, base), "HEAD")
    changes = pin_changes(pinlog.pins_at(root, merge_base) or ProductionPins(), ws.pins)
    problems: list[Problem] = []
    others = sorted(p for p in git.committed_paths(root, base) if p != PIN_PATH)
    workflows = [p for p in others if p.startswith(GITHUB_DIR)]
    rest = [p for p in others if not p.startswith(GITHUB_DIR)]
    if changes and workflows:
        problems.append(Problem(PIN_PATH, (
            f"a pin change must not come with changes under {GITHUB_DIR} (workflows, CODEOWNERS): a PR could edit "
            f"the check that judges it; this PR also changes {workflows}. Merge those on their own first"
        )))
    if changes and rest:
        problems.append(
            Problem(PIN_PATH, f"a pin change must be the only change in its PR; this PR also changes {rest}")
        )
    notes, lines = [], []
    for change in changes:
        lines.append(_describe(change))
        if change.new is None:
            notes.append(f"{change.model} leaves production (entry removed)")
            continue
        with ctx.progress.step(f"verifying {change.model} v{change.new.version}"):
            record = registry_record(ctx.registry, change.model, version=change.new.version)
            earlier = previously_pinned(root, change.model, entry=change.new, until=merge_base)
            if earlier:
                notes.append(
                    f"{change.model} v{change.new.version} was in production at {earlier[:12]}: "
                    "a rollback, policy re-check skipped"
                )
            decision = (
                recorded_decision(ctx.registry, ws, model=change.model, record=record)
                if record.exists and not earlier
                else None
            )
            problems += check_entry(
                change.model, change.new, record=record, decision=decision, previously_pinned_at=earlier
            )
    return VerifyReport(base=base, changes=lines, notes=notes, problems=[f"{PIN_PATH}: {p}" for p in problems])


def previously_pinned(root: Path, model: str, *, entry: PinnedModel, until: str) -> str | None:
    """The newest commit of `until`'s production history (first parents) whose pin had
    this exact version and artifact for `model`."""
    for snap in reversed(pinlog.snapshots(root, until)):
        old = snap.pins.models.get(model) if snap.pins else None
        if old is not None and (old.version, old.artifact_sha256) == (entry.version, entry.artifact_sha256):
            return snap.commit
    return None


def _describe(change: PinChange) -> str:
    model, kind, old, new = change.model, change.kind, change.old, change.new
    if kind == "added":
        return f"{model}: pinned v{new.version}"
    if kind == "removed":
        return f"{model}: unpinned (was v{old.version})"
    if old.version == new.version:
        return f"{model}: v{new.version} entry edited" + (" (suspend)" if old.suspend != new.suspend else "")
    return f"{model}: v{old.version} -> v{new.version}"
