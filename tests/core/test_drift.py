"""Drift severity and wording follow the method: p-values drift when low, distances when high."""

from __future__ import annotations

from pipelines.core.drift import DriftReport, FeatureDrift, method_kind


def feature(column: str, method: str, score: float, threshold: float) -> FeatureDrift:
    kind = method_kind(method)
    drifted = score < threshold if kind == "p_value" else score >= threshold
    return FeatureDrift(column=column, method=method, kind=kind, score=score, threshold=threshold, drifted=drifted)


def test_method_kind() -> None:
    assert method_kind("K-S p_value") == "p_value"
    assert method_kind("chi-square p_value") == "p_value"
    assert method_kind("psi") == "distance"
    assert method_kind("Wasserstein distance (normed)") == "distance"


def test_severity_orders_p_values_low_first_and_distances_high_first() -> None:
    report = DriftReport(reference="r", current="c", reference_rows=1, current_rows=1, drift_share=0.5, features=[
        feature("weak_p", "K-S p_value", 0.045, 0.05), feature("strong_p", "K-S p_value", 0.0001, 0.05),
        feature("weak_d", "psi", 0.15, 0.1), feature("strong_d", "psi", 0.9, 0.1), feature("calm", "psi", 0.01, 0.1),
    ])
    assert [f.column for f in report.drifted] == ["strong_p", "strong_d", "weak_d", "weak_p"]
    assert report.share == 0.8 and report.dataset_drifted


def test_comparison_reads_the_right_way_round() -> None:
    assert feature("a", "K-S p_value", 0.001, 0.05).comparison() == "p=0.001 < 0.05"
    assert feature("a", "K-S p_value", 0.5, 0.05).comparison() == "p=0.5 >= 0.05"
    assert feature("a", "psi", 0.3, 0.1).comparison() == "0.3 >= 0.1"
    assert feature("a", "psi", 0.05, 0.1).comparison() == "0.05 < 0.1"
