"""Rows of the PR comment's metric tables: candidate vs production on the held-out split,
and production (before) vs the candidate (after) on the drift holdout. Pure."""

from __future__ import annotations

from pipelines.core.compare import MetricDelta
from pipelines.core.stage_results import HoldoutEvaluation


def holdout_table(held: HoldoutEvaluation | None) -> str:
    """Production (before) and the candidate (after) on labelled production rows no training
    used; "" without a drift holdout, so such comments read as they always did."""
    if held is None:
        return ""
    prod = f"production v{held.production.version}" if held.production else "production"
    note = held.production_note[:1].upper() + held.production_note[1:]
    rows = [
        f"#### Drift holdout: before (production) and after (candidate) on {held.rows} labelled production rows",
        "",
        f"| metric | {prod} (before) | candidate {version_label(held.candidate.version)} (after) | change |",
        "|---|---:|---:|---|",
        *(metric_row(m, production_first=True) for m in held.comparison),
        "",
        f"_data/{held.dataset}.yaml, held out of training by `mlpin drift prepare-retrain`; shown, not gated. "
        f"{note}._",
    ]
    return "\n".join(rows)


def metric_row(row: MetricDelta, *, production_first: bool = False) -> str:
    """One metric: both values and the change from production to the candidate."""
    other = "–" if row.production is None else f"{row.production:.4f}"
    if row.delta is None:
        change = "–"
    else:
        word = {True: "▲ better", False: "▼ worse", None: "= same"}[row.better]
        change = f"{row.delta:+.4f} {word}"
    values = [other, f"{row.candidate:.4f}"] if production_first else [f"{row.candidate:.4f}", other]
    return f"| {row.metric} | {' | '.join(values)} | {change} |"


def version_label(version: int | None) -> str:
    """How a candidate's version reads: `v3`, or `(unregistered)`."""
    return "(unregistered)" if version is None else f"v{version}"
