"""What the registry holds as evidence for a version: its record (run, lineage tags,
stored artifact digest) and its candidate decision re-applied under today's policy.

Shared by verify, propose and deploy.
"""

from __future__ import annotations

from pipelines.adapters.modelregistry import ModelRegistry
from pipelines.core.errors import NotFound
from pipelines.core.lineage import tag
from pipelines.core.nextpin import candidate_metrics, production_metrics
from pipelines.core.pin import RegistryRecord
from pipelines.core.policy import Decision, evaluate_gates
from pipelines.core.workspace import Workspace


def registry_record(registry: ModelRegistry, model: str, *, version: int) -> RegistryRecord:
    """The version's run, tags and artifact digest (downloads the artifact; unpickles nothing)."""
    try:
        tags = registry.version_tags(model, version)
    except NotFound:
        return RegistryRecord(exists=False)
    return RegistryRecord(exists=True, run_id=registry.run_id(model, version), tags=tags,
                          artifact_sha256=registry.version_digest(model, version))


def recorded_decision(registry: ModelRegistry, ws: Workspace, *, model: str, record: RegistryRecord,
                      metrics: dict[str, float] | None = None) -> Decision | None:
    """The candidate's recorded evidence judged by the policy as it stands in `ws`;
    None when the version never went through `mlpin candidate`. Pass the run's
    `metrics` when already read."""
    rows = record.tags.get(tag("eval_rows"))
    share = record.tags.get(tag("drifted_share"))
    if rows is None or share is None or record.run_id is None:
        return None
    metrics = metrics if metrics is not None else registry.run_metrics(record.run_id)
    production = production_metrics(metrics)
    return evaluate_gates(
        ws.policy_for(ws.spec(model)), candidate=candidate_metrics(metrics), production=production or None,
        eval_rows=int(rows), drifted_share=None if share == "none" else float(share),
    )
