"""The next pin: the entry a passing candidate gets, the pin file text, and the
promotion pull request (branch, title, body).

Pure: callers read the registry and git, and write what this returns.
"""

from __future__ import annotations

import yaml

from pipelines.core.errors import InvalidInput
from pipelines.core.lineage import tag
from pipelines.core.policy import Decision
from pipelines.core.schemas import PinnedModel, ProductionPins
from pipelines.core.schemas.pin import PinSource

PIN_HEADER = (
    "# What serves in production. Changed only by promotion pull requests; merging one is\n"
    "# the approval, and `git revert` of it is the rollback.\n"
)
PRODUCTION_PREFIX = "production."
PROMOTE_MARKER = "<!-- mlpin:promote:{model} -->"


def promotion_branch(model: str) -> str:
    """The one branch a model's promotion PR lives on: reruns update it, never add another."""
    return f"promote/{model}"


def rollback_branch(model: str) -> str:
    """The one branch a model's rollback PR lives on."""
    return f"rollback/{model}"


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
        source=PinSource(pr=int(pr) if pr.isdigit() else None, commit=None if commit in (None, "none") else commit),
    )


def with_entry(pins: ProductionPins, model: str, entry: PinnedModel) -> ProductionPins:
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


def promotion_title(model: str, entry: PinnedModel) -> str:
    """`promote <model> v<N>`, the title GitHub lists."""
    return f"promote {model} v{entry.version}"


def render_promotion(model: str, *, old: PinnedModel | None, new: PinnedModel, report: str | None) -> str:
    """The promotion PR body: what merging changes, then the candidate's full report."""
    before = f"v{old.version}" if old else "nothing (first promotion)"
    source = f"#{new.source.pr}" if new.source.pr else "no PR recorded"
    lines = [
        PROMOTE_MARKER.format(model=model),
        f"## Promote `{model}` v{new.version}",
        "",
        f"Merging this PR puts **{model} v{new.version}** in production (now: {before}). "
        "This PR changes only `models/production.yaml`; reviewing and merging it is the approval, "
        "and `git revert` of the merge commit is the rollback.",
        "",
        "| | |",
        "|---|---|",
        f"| registered version | `{model}` v{new.version} |",
        f"| MLflow run | `{new.run_id}` |",
        f"| artifact sha256 | `{new.artifact_sha256}` |",
        f"| spec hash | `{new.spec_hash}` |",
        f"| data sha256 | `{new.data_sha256}` |",
        f"| candidate PR | {source} |",
        f"| candidate commit | `{(new.source.commit or 'unknown')[:12]}` |",
        "",
        "| metric | candidate |" + (" production |" if old else ""),
        "|---|---:|" + ("---:|" if old else ""),
    ]
    for name, value in new.metrics.items():
        prod = f" {old.metrics[name]:.4f} |" if old and name in old.metrics else (" – |" if old else "")
        lines.append(f"| {name} | {value:.4f} |{prod}")
    lines += ["", "---", "", report.strip() if report else "_The candidate's report was not stored with its run._", ""]
    return "\n".join(lines)


def render_blocked(model: str, version: int, decision: Decision) -> str:
    """The comment on the merged PR when its candidate may not be promoted."""
    lines = [
        f"<!-- mlpin:propose:{model} -->",
        f"## `{model}` v{version} was not proposed for production",
        "",
        "The policy as it stands on main blocks this candidate, so no promotion PR was opened. Failed gates:",
        "",
        *(f"- **{g.gate}**: {g.reason}" for g in decision.failed),
        "",
        "Change the spec or data in a new PR to get a new candidate; a policy change needs its own review.",
    ]
    return "\n".join(lines) + "\n"
