"""The PR comment, checked against reviewed markdown snapshots (tests/core/__snapshots__/).

Run `scripts/test tests/core/test_report.py --snapshot-update` after an intended
change, and review the diff of the .md files.
"""

from __future__ import annotations

import pytest

from pipelines.core.compare import compare_metrics
from pipelines.core.drift import DriftReport, FeatureDrift
from pipelines.core.markers import NO_MODEL_MARKER, candidate_marker
from pipelines.core.outcome import Kind
from pipelines.core.policy import evaluate_gates
from pipelines.core.report import render_candidate, render_error, render_no_models, render_superseded
from pipelines.core.schemas import PromotionPolicy
from pipelines.core.stage_results import CandidateReport, EvaluationResult, ScoredVersion, TrainResult

POLICY = PromotionPolicy.model_validate({
    "min_eval_rows": 30, "metrics": [{"metric": "accuracy", "min": 0.9}, {"metric": "roc_auc", "min": 0.95}],
    "regression": [{"metric": "f1_weighted", "max_drop": 0.01}], "max_drifted_share": 0.3,
})
PROD = {"accuracy": 0.9561, "f1_weighted": 0.9558, "roc_auc": 0.9931, "log_loss": 0.1264}
DRIFT = DriftReport(
    reference="production v1 data fefd0594fe43",
    current="candidate data 1c2d3e4f5a6b",
    reference_rows=569,
    current_rows=569,
    drift_share=0.5,
    features=[
        FeatureDrift(
            column="mean_radius", method="K-S p_value", kind="p_value", score=0.0004, threshold=0.05, drifted=True
        ),
        FeatureDrift(column="mean_texture", method="psi", kind="distance", score=0.31, threshold=0.1, drifted=True),
        FeatureDrift(
            column="mean_area", method="K-S p_value", kind="p_value", score=0.62, threshold=0.05, drifted=False
        ),
        FeatureDrift(column="mean_smoothness", method="psi", kind="distance", score=0.02, threshold=0.1, drifted=False),
    ],
)


def report(
    candidate: dict[str, float], *, production: dict[str, float] | None, drift: DriftReport | None
) -> CandidateReport:
    train = TrainResult(
        model="breast_cancer_rf", version=2, run_id="0123456789abcdef0123456789abcdef", artifact_sha256="a" * 64,
        spec_hash="b" * 64, data_sha256="c" * 64, git_commit="d" * 40, git_dirty=False, task="classification",
        estimator="random_forest", train_rows=455, eval_rows=114, metrics=candidate, tracking_uri="sqlite:///x.db",
    )
    prod = ScoredVersion(version=1, metrics=production) if production else None
    evaluation = EvaluationResult(
        model="breast_cancer_rf",
        spec_hash="b" * 64,
        eval_rows=114,
        candidate=ScoredVersion(version=2, metrics=candidate),
        production=prod,
        production_note="production v1 scored on the same 114 held-out rows"
        if prod
        else "no production model is pinned for breast_cancer_rf yet",
        comparison=compare_metrics(candidate, production),
        tracking_uri="sqlite:///x.db",
    )
    decision = evaluate_gates(
        POLICY, candidate=candidate, production=production, eval_rows=114, drifted_share=drift.share if drift else None
    )
    note = (
        "compared with data/breast_cancer.yaml at 0123456789ab"
        if drift
        else "no production model is pinned yet, so there is no production training data to compare with"
    )
    return CandidateReport(
        model="breast_cancer_rf", task="classification", policy="promotion", pr="12", reasons=["training spec changed"],
        train=train, evaluation=evaluation, decision=decision, drift=drift, drift_note=note,
        drift_html="/out/breast_cancer_rf/drift.html" if drift else None,
    )


def test_passing_candidate(md) -> None:
    calm = DRIFT.model_copy(
        update={
            "features": [
                f.model_copy(update={"drifted": False, "score": 0.5 if f.kind == "p_value" else 0.01})
                for f in DRIFT.features
            ]
        }
    )
    text = render_candidate(
        report(
            {"accuracy": 0.9649, "f1_weighted": 0.9645, "roc_auc": 0.9940, "log_loss": 0.1147},
            production=PROD,
            drift=calm,
        )
    )
    assert text.startswith(candidate_marker("breast_cancer_rf") + "\n")
    assert text == md


def test_blocked_candidate_lists_every_failed_gate(md) -> None:
    text = render_candidate(
        report(
            {"accuracy": 0.8772, "f1_weighted": 0.8701, "roc_auc": 0.9391, "log_loss": 0.3012},
            production=PROD,
            drift=DRIFT,
        )
    )
    assert "4 gates failed" in text
    assert text == md


def test_first_model_without_production(md) -> None:
    text = render_candidate(
        report(
            {"accuracy": 0.9649, "f1_weighted": 0.9645, "roc_auc": 0.9940, "log_loss": 0.1147},
            production=None,
            drift=None,
        )
    )
    assert "➖ n/a" in text
    assert text == md


def test_no_model_affected(md) -> None:
    assert render_no_models(3) == md


def test_model_that_could_not_be_evaluated(md) -> None:
    lines = ["models/wine_logreg.yaml: 1 problem", "  - estimator.params.depth: unknown hyperparameter"]
    assert render_error("wine_logreg", candidate_marker("wine_logreg"), lines=lines, kind=Kind.INVALID_INPUT) == md


@pytest.mark.parametrize(
    ("marker", "assessed", "loaded"),
    [(NO_MODEL_MARKER, ["diabetes_hgb", "wine_logreg"], True), (candidate_marker("wine_logreg"), [], False),
     (candidate_marker("wine_logreg"), ["diabetes_hgb"], True)],
    ids=["pull-request-comment-after-models-were-assessed", "model-comment-after-files-stopped-loading",
         "model-comment-of-a-model-no-longer-affected"],
)
def test_superseded_comment(md, marker: str, assessed: list[str], loaded: bool) -> None:
    assert render_superseded(marker, sha="e" * 40, assessed=assessed, loaded=loaded) == md
