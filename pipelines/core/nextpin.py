"""The next pin: the entry a passing candidate gets, and the pin file's text.

Pure: callers read the registry and git, and write what this returns. The pull
requests that carry a pin change are in `pullrequests`.
"""

from __future__ import annotations

import yaml

from pipelines.core.errors import InvalidInput
from pipelines.core.lineage import tag
from pipelines.core.schemas import PinnedModel, ProductionPins
from pipelines.core.schemas.pin import PinOrigin

PIN_HEADER = (
    "# What serves in production. Changed only by promotion pull requests; merging one is\n"
    "# the approval, and `git revert` of it is the rollback.\n"
)
PRODUCTION_PREFIX = "production."


def candidate_metrics(metrics: dict[str, float]) -> dict[str, float]:
    """A run's own metrics, without production's scores logged beside them."""
    return {k: v for k, v in sorted(metrics.items()) if not k.startswith(PRODUCTION_PREFIX)}


def production_metrics(metrics: dict[str, float]) -> dict[str, float]:
    """Production's scores on the candidate's rows, as logged on the candidate's run."""
    return {k.removeprefix(PRODUCTION_PREFIX): v for k, v in sorted(metrics.items()) if k.startswith(PRODUCTION_PREFIX)}


def pin_entry(model: str, version: int, *, run_id: str, tags: dict[str, str], metrics: dict[str, float]) -> PinnedModel:
    """The pin entry for a registered version, from its lineage tags and run metrics."""
    missing = [key for key in ("spec_hash", "data_sha256", "artifact_sha256") if not tags.get(tag(key))]
    if missing:
        raise InvalidInput(f"{model} v{version} lacks the lineage tags {missing}; it was not registered by mlpin train")
    pr = tags.get(tag("pr"), "")
    commit = tags.get(tag("candidate_commit")) or tags.get(tag("git_commit"))
    return PinnedModel(
        version=version, run_id=run_id, artifact_sha256=tags[tag("artifact_sha256")],
        spec_hash=tags[tag("spec_hash")], data_sha256=tags[tag("data_sha256")],
        metrics=candidate_metrics(metrics),
        source=PinOrigin(pr=int(pr) if pr.isdigit() else None, commit=None if commit in (None, "none") else commit),
    )


def with_entry(pins: ProductionPins, model: str, *, entry: PinnedModel) -> ProductionPins:
    """The pins with one model's entry set; every other entry untouched."""
    return pins.model_copy(update={"models": {**pins.models, model: entry}})


def render_pins(pins: ProductionPins) -> str:
    """The pin file as mlpin writes it: header comment, then models in name order."""
    models = {}
    for name in sorted(pins.models):
        entry = pins.models[name].model_dump(mode="json", exclude_none=True)
        if not entry.get("suspend"):
            entry.pop("suspend", None)
        if not entry.get("source"):
            entry.pop("source", None)
        models[name] = entry
    doc = {"schema_version": pins.schema_version, "models": models}
    return PIN_HEADER + yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)
