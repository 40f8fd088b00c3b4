"""Data drift between two tables with Evidently 0.7's DataDriftPreset itself.

`compute_drift` uses it for its HTML report and for the columns whose method the
engine (`driftengine`) does not implement; the tests and scripts/bench_drift.py use it
as the oracle the engine must agree with. Evidently picks a test per column type unless
policies/drift.yaml sets one; results are read back into `DriftReport` with each
method's display name and kind (p-value or distance) so severity and wording follow it.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd

from pipelines.core.drift import DriftReport, FeatureDrift, method_kind
from pipelines.core.errors import OutsideSystemError
from pipelines.core.schemas import DriftPolicy


def evidently_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    numeric: list[str],
    categorical: list[str],
    policy: DriftPolicy,
    labels: tuple[str, str],
    html_path: Path | None = None,
) -> DriftReport:
    """Per-feature drift of `current` against `reference` by Evidently; optionally save its HTML."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    columns = numeric + categorical
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    preset = DataDriftPreset(columns=columns, drift_share=policy.drift_share, **_methods(policy, columns))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            snapshot = Report([preset], include_tests=True).run(
                current_data=Dataset.from_pandas(current[columns], data_definition=definition),
                reference_data=Dataset.from_pandas(reference[columns], data_definition=definition),
            )
        except (ValueError, TypeError, KeyError) as exc:
            raise OutsideSystemError("evidently", f"drift computation failed: {exc}") from exc
        if html_path is not None:
            html_path.parent.mkdir(parents=True, exist_ok=True)
            snapshot.save_html(str(html_path))
    return DriftReport(
        reference=labels[0], current=labels[1], reference_rows=len(reference), current_rows=len(current),
        features=_features(snapshot.dict(), numeric=set(numeric)), drift_share=policy.drift_share,
    )


# The policy schema's names that Evidently registers under another name.
EVIDENTLY_NAMES = {"g-test": "g_test", "energy_distance": "ed", "epps_singleton": "es"}


def _methods(policy: DriftPolicy, columns: list[str]) -> dict:
    options: dict = {}
    if policy.default_test is not None:
        options["method"] = EVIDENTLY_NAMES.get(policy.default_test.method, policy.default_test.method)
        options["threshold"] = policy.default_test.threshold
    chosen = {c: t for c, t in policy.features.items() if c in columns}
    if chosen:
        options["per_column_method"] = {c: EVIDENTLY_NAMES.get(t.method, t.method) for c, t in chosen.items()}
        options["per_column_threshold"] = {c: t.threshold for c, t in chosen.items()}
    return options


def _display_name(method: str, *, numeric: bool) -> str:
    """A method the policy named comes back by its registry name ("ks"); reports show the
    display name ("K-S p_value") that an auto-picked one has, so its kind reads right."""
    from evidently.legacy.calculations.stattests.registry import _registered_stat_tests
    from evidently.legacy.core import ColumnType

    tests = _registered_stat_tests.get(method)
    if not tests:
        return method
    found = tests.get(ColumnType.Numerical if numeric else ColumnType.Categorical)
    return found.display_name if found else method


def _features(snapshot: dict, *, numeric: set[str]) -> list[FeatureDrift]:
    """ValueDrift metrics joined with their tests: the test's verdict is Evidently's own."""
    failed = {
        test["metric_config"]["metric_id"]: test["status"] != "SUCCESS"
        for test in snapshot.get("tests", [])
        if test.get("metric_config", {}).get("params", {}).get("type", "").endswith("ValueDrift")
    }
    features = []
    for metric in snapshot["metrics"]:
        config = metric["config"]
        if not config["type"].endswith("ValueDrift"):
            continue
        method = _display_name(config["method"], numeric=config["column"] in numeric)
        kind = method_kind(method)
        score, threshold = float(metric["value"]), float(config["threshold"])
        by_rule = score < threshold if kind == "p_value" else score >= threshold
        features.append(FeatureDrift(
            column=config["column"], method=method, kind=kind, score=score, threshold=threshold,
            drifted=failed.get(metric["id"], by_rule),
        ))
    return features
