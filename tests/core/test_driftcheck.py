"""The drift check's issue plan: opened once, commented on only when the findings change,
closed after clean checks in a row, reopened when drift returns."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipelines.core.drift import DriftReport, FeatureDrift
from pipelines.core.driftcheck import DriftCheck, IssueState, drift_marker, plan_issue, read_state, with_state
from pipelines.core.schemas.policy import IssueSettings

SETTINGS = IssueSettings(labels=["drift"], close_after_clean_checks=3)
RETRAIN = "mlpin drift prepare-retrain --model wine_logreg --labeled recent.csv"


def feature(column: str, drifted: bool) -> FeatureDrift:
    return FeatureDrift(column=column, method="K-S p_value", kind="p_value", score=0.001 if drifted else 0.6,
                        threshold=0.05, drifted=drifted)


def check(*drifted: str, rows: int = 500, prediction: bool | None = None) -> DriftCheck:
    columns = ["alcohol", "hue", "proline", "magnesium"]
    report = DriftReport(reference="train", current="logs", reference_rows=178, current_rows=rows,
                         features=[feature(c, c in drifted) for c in columns], drift_share=0.5)
    return DriftCheck(
        model="wine_logreg", version=3, window_start=datetime(2026, 11, 23, tzinfo=UTC),
        window_end=datetime(2026, 11, 30, tzinfo=UTC), reference="data/wine.yaml", reference_rows=178,
        rows=rows, requests=rows // 2, min_rows=100, report=report if rows >= 100 else None,
        prediction=None if prediction is None else feature("prediction", prediction),
    )


def run(checks: list[DriftCheck]) -> list[str]:
    """Play checks in a row against one issue, as the stage does; the actions taken."""
    state, body, actions = None, None, []
    for c in checks:
        plan = plan_issue(c, issue_state=state, issue_body=body, settings=SETTINGS, retrain=RETRAIN)
        actions.append(plan.action)
        if plan.action in ("open", "comment", "update"):
            state, body = "open", plan.body
        elif plan.action == "close":
            state = "closed"
    return actions


def test_verdicts() -> None:
    assert check("alcohol", "hue").verdict == "drifted" and check("alcohol").verdict == "clean"
    assert check(rows=50).verdict == "not_enough_data", "too few rows is not 'no drift'"
    assert check(prediction=True).verdict == "drifted" and check(prediction=True).findings == ["prediction"]
    assert "not enough data: 50 logged rows of v3" in check(rows=50).headline()


def test_opened_once_commented_only_on_change_closed_after_clean_checks_reopened_on_return() -> None:
    drifted, other, clean = check("alcohol", "hue"), check("alcohol", "proline"), check()
    assert run([drifted, drifted, drifted, other, other, clean, clean, clean, clean, drifted]) == [
        "open", "none", "none", "comment", "none", "comment", "update", "close", "none", "open"]


def test_not_enough_data_never_touches_the_issue() -> None:
    assert run([check(rows=10), check("alcohol", "hue"), check(rows=10), check(rows=10)]) == [
        "none", "open", "none", "none"]


def test_drift_between_clean_checks_resets_the_count() -> None:
    drifted, clean = check("alcohol", "hue"), check()
    assert run([drifted, clean, clean, drifted, clean, clean, clean]) == [
        "open", "comment", "update", "comment", "comment", "update", "close"]


def test_the_issue_body_carries_the_evidence_and_its_state() -> None:
    plan = plan_issue(check("alcohol", "hue"), issue_state=None, issue_body=None, settings=SETTINGS, retrain=RETRAIN)
    assert plan.body.startswith(drift_marker("wine_logreg") + "\n")
    assert plan.title == "Drift in wine_logreg v3: alcohol, hue"
    assert read_state(plan.body) == IssueState(verdict="drifted", findings=["alcohol", "hue"])
    table = plan.body[plan.body.index("| feature |"):]
    assert table.index("`alcohol`") < table.index("`proline`"), "drifted features first"
    assert RETRAIN in plan.body and "2 of 4 features drifted" in plan.body


def test_a_reopened_issue_says_drift_returned() -> None:
    plan = plan_issue(check("alcohol", "hue"), issue_state="closed", issue_body="old", settings=SETTINGS,
                      retrain=RETRAIN)
    assert plan.action == "open" and plan.comment.startswith("**Drift returned**")


@pytest.mark.parametrize("line", [
    '<!-- mlpin:drift-state {"verdict":"drifted","findings":[],"clean":-1} -->',
    '<!-- mlpin:drift-state {"verdict":"maybe","findings":[]} -->',
    "<!-- mlpin:drift-state not json -->",
])
def test_a_state_line_that_does_not_parse_is_no_state(line: str) -> None:
    assert read_state(f"{drift_marker('m')}\n{line}\n") is None


def test_with_state_replaces_the_line_in_place() -> None:
    body = f"{drift_marker('m')}\nrest"
    once = with_state(body, IssueState(verdict="clean", findings=[], clean=1))
    twice = with_state(once, IssueState(verdict="clean", findings=[], clean=2))
    assert read_state(twice).clean == 2 and twice.count("drift-state") == 1 and twice.endswith("rest")


def test_a_report_drawn_on_a_sample_says_so() -> None:
    sampled = check("alcohol", "hue")
    sampled = sampled.model_copy(update={"html": "drift.html",
                                         "report": sampled.report.model_copy(update={"html_sample": 50_000})})
    plan = plan_issue(sampled, issue_state=None, issue_body=None, settings=SETTINGS, retrain=RETRAIN)
    assert "plots drawn on a sample of 50000 rows; the verdicts above use every row" in plan.body
