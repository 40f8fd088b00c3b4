"""Builders shared by the core tests: a candidate report as `mlpin candidate` makes it."""

from __future__ import annotations

from pipelines.core.compare import compare_metrics
from pipelines.core.drift import DriftReport, FeatureDrift
from pipelines.core.policy import evaluate_gates
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
