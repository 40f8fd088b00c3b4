"""What one run of `mlpin deploy` records on the forge, per model, and how a record is
read back: the version actually behind the alias after the run and why, never a
summary of the pin that can hide a model that failed.

The payload of a deployment (one per commit and result) is
    {"pr": "12" | null,
     "models": {"<model>": {"pinned": 3, "live": 2 | null,
                            "state": "deployed" | "failed" | "suspended",
                            "reason": "..."}}}            # reason: only when failed
with every model that is pinned or behind the alias after the run: `deployed` (the
alias is at the pinned version and its run, lineage and artifact digest were checked by
this run), `failed` (the check or the registry failed: the alias stayed at `live`), `suspended` (frozen
by the pin, left at `live`). A model unpinned and removed from the alias is not in
production, so it is not listed. These are states after the run, not what the run did
(moved, unchanged): a rerun that finds everything in place records the same payload,
which the forge recognises, so it adds nothing.

The status is `success` only when no model failed (a suspended model is where the pin
wants it), else `failure`, described by the failed models first.

Reading a record back trusts nothing in it: the `production` environment is shared with
other tools, so a record without `models` is someone else's and says nothing, and a
record or model entry that does not fit the payload above is unreadable, which also says
nothing about its model (never "removed"), with why.

Pure: the stage applies the moves and hands them in; the forge stores the result.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from pydantic import BaseModel, Field, ValidationError

from pipelines.core.outcome import Kind, is_error
from pipelines.core.rollout import AliasMove

DeploymentState = Literal["success", "failure"]
DESCRIPTION_LIMIT = 140  # GitHub's limit for a status description
Version = Annotated[int, Field(ge=1)]


class ModelDeployment(BaseModel):
    """One model in one deployment record: what the pin asked, what was live after the run."""

    pinned: Version | None  # None: not pinned (history's reading of a model left out after its removal)
    live: Version | None
    state: Literal["deployed", "failed", "suspended", "removed"]  # removed: history's reading only
    reason: str | None = None

    @property
    def at_pin(self) -> bool:
        """Whether the alias held exactly what the pin asked after the run (nothing, when unpinned)."""
        return self.state in ("deployed", "removed") and self.live == self.pinned


REMOVED = ModelDeployment(pinned=None, live=None, state="removed")


def model_deployment(move: AliasMove) -> ModelDeployment | None:
    """What a move came to once applied (a failed move leaves the alias where it was);
    None for a model that is no longer in production."""
    if is_error(move.kind):
        return ModelDeployment(pinned=move.desired, live=move.live, state="failed", reason=move.reason or move.headline)
    if move.outcome == "removed":
        return None
    if move.outcome == "suspended":
        return ModelDeployment(pinned=move.desired, live=move.live, state="suspended")
    return ModelDeployment(pinned=move.desired, live=move.desired, state="deployed")


def deployment_payload(moves: list[AliasMove], *, pr: str | None) -> dict:
    """The payload recorded with the deployment (see the module docstring)."""
    states = {m.model: model_deployment(m) for m in moves}
    return {"pr": pr, "models": {m: s.model_dump(exclude_none=True) for m, s in sorted(states.items()) if s}}


def deployment_state(moves: list[AliasMove]) -> DeploymentState:
    """`success` only when no model failed."""
    return "failure" if any(is_error(m.kind) for m in moves) else "success"


def deployment_description(moves: list[AliasMove]) -> str:
    """One line for the deployment status: failed models first, so a cut never hides them."""
    failed = [_failed(m) for m in moves if is_error(m.kind)]
    done = [_in_production(m) for m in moves if not is_error(m.kind) and m.outcome != "removed"]
    parts = [f"{label}: {', '.join(names)}" for label, names in (("failed", failed), ("production", done))
             if names]
    text = "; ".join(parts) or "production: nothing pinned"
    return text if len(text) <= DESCRIPTION_LIMIT else text[:DESCRIPTION_LIMIT - 1] + "…"


class RecordedModels(BaseModel):
    """A recorded payload read back: the model entries it holds (None: it says nothing about
    any model) and what could not be read, by location (`payload`, `models`, `models.<name>`)."""

    models: dict[str, ModelDeployment] | None = None
    unreadable: dict[str, str] = {}

    def about(self, model: str) -> ModelDeployment | None:
        """What the record says about `model`: its entry, REMOVED when a readable record leaves
        it out (it lists every model in production), None when it says nothing about it."""
        if self.models is None or f"models.{model}" in self.unreadable:
            return None
        return self.models.get(model, REMOVED)

    def problems(self, model: str) -> list[str]:
        """Why the record could not be read for `model` (empty: it could, or it is someone else's)."""
        return [f"{where}: {why}" for where, why in self.unreadable.items()
                if where in ("payload", "models", f"models.{model}")]


def state_matters(payload: object) -> bool:
    """Whether `read_payload` needs the record's status to read `payload`: only an old-format
    record (bare versions) does, so a forge can skip fetching the others' statuses."""
    models = payload.get("models") if isinstance(payload, dict) else None
    return isinstance(models, dict) and any(type(value) is int for value in models.values())


def read_payload(payload: object, *, state: str) -> RecordedModels:
    """The models of a recorded payload, each entry read on its own. Records written before
    deploy recorded per-model results only name the pinned versions: they count as
    deployed when their status was a success (all they could say), else say nothing."""
    if not isinstance(payload, dict):
        return RecordedModels(unreadable={"payload": "not a JSON object"})
    models = payload.get("models")
    if models is None:
        return RecordedModels()  # another tool's deployment to the same environment
    if not isinstance(models, dict):
        return RecordedModels(unreadable={"models": "not a mapping of model names to entries"})
    if state_matters(payload):
        if state not in ("success", "inactive"):
            return RecordedModels()
        return _entries(models, _old_entry)
    return _entries(models, _entry)


def _entries(models: dict, read: Callable[[object], ModelDeployment]) -> RecordedModels:
    found, unreadable = {}, {}
    for name, value in models.items():
        try:
            found[name] = read(value)
        except ValueError as exc:  # pydantic's ValidationError is one
            unreadable[f"models.{name}"] = str(exc)
    return RecordedModels(models=found, unreadable=unreadable)


def _old_entry(value: object) -> ModelDeployment:
    if type(value) is not int or value < 1:
        raise ValueError("not a version (a positive integer)")
    return ModelDeployment(pinned=value, live=value, state="deployed")


def _entry(value: object) -> ModelDeployment:
    if not isinstance(value, dict):
        raise ValueError("not a mapping with pinned, live and state")
    try:
        return ModelDeployment.model_validate(value, strict=True)
    except ValidationError as exc:  # its own text repeats the input: name each field and what is wrong
        raise ValueError("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())) from None


def _failed(move: AliasMove) -> str:
    if move.kind != Kind.INVALID_INPUT:  # the registry (or mlpin) failed before the check could tell
        target = _v(move.desired) if move.desired is not None else "unpinning"
        return f"{move.model} {target} interrupted (alias at {_v(move.live)})"
    if move.live == move.desired:
        return f"{move.model} v{move.desired} changed behind the alias"
    return f"{move.model} v{move.desired} not deployed (alias at {_v(move.live)})"


def _in_production(move: AliasMove) -> str:
    if move.outcome == "suspended":
        return f"{move.model} {_v(move.live)} (suspended)"
    return f"{move.model} v{move.desired}"


def _v(version: int | None) -> str:
    return "nothing" if version is None else f"v{version}"
