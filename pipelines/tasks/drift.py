"""Data drift between two tables: verdicts from the engine, the HTML from Evidently.

The engine (`driftengine`) computes every feature's method, score and verdict as
Evidently 0.7's DataDriftPreset would, column by column on numpy arrays, so a window
of a million logged rows takes seconds. Evidently is still called for two things:
the columns whose policy method the engine does not implement (TVD, anderson, ...),
run on the full tables for those columns alone; and the HTML report, drawn on a
seeded sample of each large table (`DriftReport.html_sample` says how many rows), so
its plots may differ slightly from the report's scores, never its method choices.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipelines.core.drift import DriftReport, FeatureDrift
from pipelines.core.errors import OutsideSystemError
from pipelines.core.schemas import DriftPolicy
from pipelines.tasks.evidentlydrift import evidently_drift

HTML_SAMPLE_SEED = 0


def compute_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    numeric: list[str],
    categorical: list[str],
    policy: DriftPolicy,
    labels: tuple[str, str],
    html_path: Path | None = None,
    html_sample_rows: int = 50_000,
) -> DriftReport:
    """Per-feature drift of `current` against `reference`; optionally save Evidently's HTML (sampled if large)."""
    found = _engine_features(reference, current, numeric=numeric, categorical=categorical, policy=policy)
    left = [c for c in numeric + categorical if c not in found]
    if left:
        by_evidently = evidently_drift(
            reference, current, numeric=[c for c in numeric if c in left],
            categorical=[c for c in categorical if c in left], policy=policy, labels=labels,
        )
        found.update({f.column: f for f in by_evidently.features})
    sample = None
    if html_path is not None:
        sample = _html(reference, current, numeric=numeric, categorical=categorical, policy=policy, labels=labels,
                       html_path=html_path, rows=html_sample_rows)
    return DriftReport(
        reference=labels[0], current=labels[1], reference_rows=len(reference), current_rows=len(current),
        features=[found[c] for c in numeric + categorical], drift_share=policy.drift_share, html_sample=sample,
    )


def _engine_features(reference: pd.DataFrame, current: pd.DataFrame, *, numeric: list[str], categorical: list[str],
                     policy: DriftPolicy) -> dict[str, FeatureDrift]:
    """The engine's result per column it implements the method of."""
    from pipelines.tasks.driftengine import feature_drift

    found = {}
    for column in numeric + categorical:
        test = policy.features.get(column) or policy.default_test
        try:
            drift = feature_drift(reference[column], current[column], numeric=column in numeric,
                                  method=test.method if test else None,
                                  threshold=test.threshold if test else None)
        except (ValueError, TypeError, KeyError) as exc:
            raise OutsideSystemError("drift", f"drift computation failed: {exc}") from exc
        if drift is not None:
            found[column] = drift
    return found


def _html(reference: pd.DataFrame, current: pd.DataFrame, *, numeric: list[str], categorical: list[str],
          policy: DriftPolicy, labels: tuple[str, str], html_path: Path, rows: int) -> int | None:
    """Save Evidently's HTML on at most `rows` rows of each table; the sample size, or None if all rows were used."""
    sampled = len(reference) > rows or len(current) > rows
    columns = numeric + categorical
    evidently_drift(
        _sample(reference[columns], rows), _sample(current[columns], rows), numeric=numeric,
        categorical=categorical, policy=policy, labels=labels, html_path=html_path,
    )
    return rows if sampled else None


def _sample(frame: pd.DataFrame, rows: int) -> pd.DataFrame:
    """A seeded sample in the table's own order (Evidently plots by index), or the table if small enough."""
    if len(frame) <= rows:
        return frame
    return frame.sample(n=rows, random_state=HTML_SAMPLE_SEED).sort_index()
