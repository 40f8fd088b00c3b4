"""Promotion gates: every gate reported; missing evidence fails or is marked not applicable."""

from __future__ import annotations

import pytest

from pipelines.core.policy import evaluate_gates
from pipelines.core.schemas import PromotionPolicy

POLICY = PromotionPolicy.model_validate({
    "min_eval_rows": 30,
    "metrics": [{"metric": "accuracy", "min": 0.9}, {"metric": "log_loss", "max": 0.3}],
    "regression": [{"metric": "f1_weighted", "max_drop": 0.01}, {"metric": "log_loss", "max_drop": 0.05}],
    "max_drifted_share": 0.3,
})
GOOD = {"accuracy": 0.95, "log_loss": 0.2, "f1_weighted": 0.95}


def decide(candidate=GOOD, production=GOOD, rows=100, drift=0.0):
    return evaluate_gates(POLICY, candidate=candidate, production=production, eval_rows=rows, drifted_share=drift)


def statuses(decision) -> dict[str, str]:
    return {g.gate: g.status for g in decision.gates}


def test_all_gates_pass() -> None:
    decision = decide()
    assert decision.outcome == "passed"
    assert decision.headline() == "passed: all 6 applicable gates passed"


@pytest.mark.parametrize(
    ("kwargs", "failed_gate", "reason"),
    [
        ({"rows": 10}, "evaluation rows", "10 evaluation rows, fewer than the 30 required"),
        ({"candidate": {**GOOD, "accuracy": 0.85}}, "accuracy >= 0.9", "accuracy 0.8500 misses >= 0.9"),
        (
            {"candidate": {**GOOD, "log_loss": 0.31}, "production": {**GOOD, "log_loss": 0.3}},
            "log_loss <= 0.3",
            "log_loss 0.3100 misses <= 0.3",
        ),
        (
            {"candidate": {**GOOD, "f1_weighted": 0.93}},
            "f1_weighted vs production",
            "f1_weighted 0.0200 worse than production (allowed 0.01)",
        ),
        (
            {"candidate": {**GOOD, "log_loss": 0.29}, "production": {**GOOD, "log_loss": 0.2}},
            "log_loss vs production",
            "log_loss 0.0900 worse than production (allowed 0.05)",
        ),
        ({"drift": 0.5}, "drifted feature share", "50% of features drifted (allowed 30%)"),
        (
            {"candidate": {"log_loss": 0.2, "f1_weighted": 0.95}},
            "accuracy >= 0.9",
            "accuracy was not reported for this candidate",
        ),
    ],
    ids=[
        "too-few-rows",
        "below-floor",
        "above-ceiling",
        "higher-better-regressed",
        "lower-better-regressed",
        "drift",
        "missing-metric",
    ],
)
def test_each_failing_gate_blocks_with_its_reason(kwargs: dict, failed_gate: str, reason: str) -> None:
    decision = decide(**kwargs)
    assert decision.outcome == "blocked"
    assert [(g.gate, g.reason) for g in decision.failed] == [(failed_gate, reason)]


def test_every_failed_gate_is_listed_not_only_the_first() -> None:
    decision = decide(candidate={"accuracy": 0.5, "log_loss": 0.9, "f1_weighted": 0.5}, rows=5, drift=1.0)
    assert len(decision.failed) == 6
    assert decision.headline().startswith("blocked: 6 gates failed: 5 evaluation rows")


def test_without_production_regression_and_drift_gates_are_not_applicable() -> None:
    decision = decide(production=None, drift=None)
    assert decision.outcome == "passed"
    assert statuses(decision)["f1_weighted vs production"] == "not_applicable"
    assert statuses(decision)["drifted feature share"] == "not_applicable"
    assert decision.headline() == "passed: all 3 applicable gates passed"


def test_regression_gate_fails_when_production_lacks_the_metric() -> None:
    decision = decide(production={"accuracy": 0.9})
    assert [g.reason for g in decision.failed] == [
        "f1_weighted was not reported for production",
        "log_loss was not reported for production",
    ]


def test_equal_metric_reads_as_equal_not_better() -> None:
    decision = decide(candidate={**GOOD, "f1_weighted": 0.95 + 1e-15})
    gate = next(g for g in decision.gates if g.gate == "f1_weighted vs production")
    assert (gate.status, gate.shown, gate.reason) == ("passed", "+0.0000", "f1_weighted equal to production")


@pytest.mark.parametrize(
    ("metric", "candidate", "shown", "threshold"),
    [("f1_weighted", 0.93, "-0.0200", ">= -0.01"), ("log_loss", 0.26, "+0.0600", "<= +0.05")],
    ids=["higher-is-better-dropped", "lower-is-better-rose"],
)
def test_the_regression_gate_shows_the_change_signed_as_the_metrics_table_does(
    metric: str, candidate: float, shown: str, threshold: str
) -> None:
    decision = decide(candidate={**GOOD, metric: candidate})
    gate = next(g for g in decision.gates if g.gate == f"{metric} vs production")
    assert (gate.value, gate.shown, gate.threshold, gate.status) == (
        pytest.approx(candidate - GOOD[metric]), shown, threshold, "failed"
    )
