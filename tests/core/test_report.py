"""The PR comment, checked against reviewed markdown snapshots (tests/core/__snapshots__/).

Run `scripts/test tests/core/test_report.py --snapshot-update` after an intended
change, and review the diff of the .md files.
"""

from __future__ import annotations

import pytest

from pipelines.core.markers import NO_MODEL_MARKER, candidate_marker
from pipelines.core.outcome import Kind
from pipelines.core.report import render_candidate, render_error, render_no_models, render_superseded
from tests.core.helpers import DRIFT, PROD, report


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


def test_sampled_html_report_says_its_plots_are_a_sample() -> None:
    sampled = DRIFT.model_copy(update={"html_sample": 50_000})
    text = render_candidate(report({"accuracy": 0.9}, production=PROD, drift=sampled))
    assert "drawn on a sample of 50000 rows per table; the scores above use every row." in text
    assert "sample of" not in render_candidate(report({"accuracy": 0.9}, production=PROD, drift=DRIFT))


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


def test_candidate_with_a_drift_holdout_shows_production_before_and_candidate_after(md) -> None:
    from pipelines.core.compare import compare_metrics
    from pipelines.core.stage_results import HoldoutEvaluation, ScoredVersion

    base = report({"accuracy": 0.9649, "f1_weighted": 0.9645, "roc_auc": 0.9940, "log_loss": 0.1147},
                  production=PROD, drift=None)
    before, after = {"accuracy": 0.7500, "f1_weighted": 0.7321}, {"accuracy": 0.9167, "f1_weighted": 0.9150}
    held = HoldoutEvaluation(
        dataset="breast_cancer-20261130-holdout", rows=12, candidate=ScoredVersion(version=2, metrics=after),
        production=ScoredVersion(version=1, metrics=before),
        production_note="production v1 scored on the same 12 drift holdout rows",
        comparison=compare_metrics(after, before),
    )
    text = render_candidate(base.model_copy(update={"evaluation": base.evaluation.model_copy(
        update={"drift_holdout": held})}))
    assert "| accuracy | 0.7500 | 0.9167 | +0.1667 ▲ better |" in text
    assert text == md
