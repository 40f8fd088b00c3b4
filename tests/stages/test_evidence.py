"""The evidence verify, propose and deploy read from the registry (a version's record
and its recorded candidate decision), as table tests on the in-memory registry: no git,
no MLflow, no training. The project's own specs and policies are the workspace."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pipelines.adapters.workspace import load_workspace
from pipelines.core.lineage import tag
from pipelines.core.pin import RegistryRecord
from pipelines.stages.evidence import recorded_decision, registry_record
from tests.fakes.registry import sample_candidate
from tests.helpers import PROJECT

MODEL = "wine_logreg"  # judged by policies/promotion.yaml
GOOD = {"accuracy": 0.97, "roc_auc": 0.99, "f1_weighted": 0.96}


@pytest.fixture(scope="module")
def ws():
    return load_workspace(PROJECT)


def test_the_record_of_an_unregistered_version_says_so(registry) -> None:
    assert registry_record(registry, MODEL, version=1) == RegistryRecord(exists=False)


def test_the_record_carries_run_tags_and_the_stored_digest(registry) -> None:
    logged = registry.log_candidate(sample_candidate(MODEL))
    record = registry_record(registry, MODEL, version=1)
    assert (record.exists, record.run_id, record.artifact_sha256) == (True, logged.run_id, logged.artifact_sha256)
    assert record.tags[tag("task")] == "classification"
    (registry.artifact_path(MODEL, 1) / "model.skops").write_bytes(b"swapped")
    assert registry_record(registry, MODEL, version=1).artifact_sha256 != logged.artifact_sha256, (
        "the digest is of the stored bytes"
    )


@pytest.mark.parametrize(
    ("metrics", "production", "evidence", "failed"),
    [
        (GOOD, {}, {"eval_rows": "45", "drifted_share": "none"}, []),
        (GOOD, {}, {"eval_rows": "10", "drifted_share": "none"}, ["evaluation rows"]),
        ({**GOOD, "accuracy": 0.8}, {}, {"eval_rows": "45", "drifted_share": "none"}, ["accuracy >= 0.9"]),
        (
            GOOD,
            {"production.f1_weighted": 0.99},
            {"eval_rows": "45", "drifted_share": "0.0"},
            ["f1_weighted vs production"],
        ),
        (
            GOOD,
            {"production.f1_weighted": 0.96},
            {"eval_rows": "45", "drifted_share": "0.5"},
            ["drifted feature share"],
        ),
        (GOOD, {}, {"eval_rows": "45"}, None),
        (GOOD, {}, {}, None),
    ],
    ids=["passes", "too-few-rows", "below-floor", "worse-than-production", "drifted", "half-judged", "never-judged"],
)
def test_recorded_evidence_is_judged_by_the_workspace_policy(
    registry, ws, metrics, production, evidence, failed
) -> None:
    logged = registry.log_candidate(replace(sample_candidate(MODEL), metrics=metrics))
    registry.log_metrics(logged.run_id, production)
    registry.tag_version(MODEL, 1, {tag(key): value for key, value in evidence.items()})
    decision = recorded_decision(registry, ws, model=MODEL, record=registry_record(registry, MODEL, version=1))
    if failed is None:
        assert decision is None, "a version that never went through mlpin candidate has no decision"
    else:
        assert ([g.gate for g in decision.failed], decision.outcome) == (failed, "blocked" if failed else "passed")
