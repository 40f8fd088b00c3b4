"""Candidate vs production on the same rows: per-metric delta and whether it is better."""

from __future__ import annotations

from pydantic import BaseModel

from pipelines.core.catalog import HIGHER_IS_BETTER, metric_direction


class MetricDelta(BaseModel):
    """One metric side by side. `better` is None when production lacks the metric or they tie."""

    metric: str
    candidate: float
    production: float | None
    delta: float | None
    better: bool | None


def compare_metrics(candidate: dict[str, float], production: dict[str, float] | None) -> list[MetricDelta]:
    """Every candidate metric with production's value, the delta and its direction."""
    rows = []
    for name in sorted(candidate):
        value = candidate[name]
        other = None if production is None else production.get(name)
        if other is None:
            rows.append(MetricDelta(metric=name, candidate=value, production=None, delta=None, better=None))
            continue
        delta = value - other
        rows.append(
            MetricDelta(metric=name, candidate=value, production=other, delta=delta, better=_better(name, delta))
        )
    return rows


def _better(name: str, delta: float) -> bool | None:
    if delta == 0:
        return None
    return (delta > 0) == (metric_direction(name) == HIGHER_IS_BETTER)
