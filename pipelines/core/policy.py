"""Promotion gates: a policy and a candidate's evidence in, a Decision out.

Every gate is evaluated and reported, not only the first failure. A metric the
candidate lacks fails its gate with a reason. Gates that need production (regression)
or drift are `not_applicable` when there is none, and say so; they never pass silently.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from pipelines.core.catalog import HIGHER_IS_BETTER, metric_direction
from pipelines.core.schemas import PromotionPolicy

TIE = 1e-12  # differences below this are float noise, not a change

GateStatus = Literal["passed", "failed", "not_applicable"]
Outcome = Literal["passed", "blocked"]


class GateResult(BaseModel):
    """One gate: what it checks, the value found, the threshold, and the verdict."""

    gate: str
    value: float | None
    shown: str = "–"  # the value as people read it (e.g. a share as a percentage)
    threshold: str
    status: GateStatus
    reason: str


class Decision(BaseModel):
    """The verdict: `blocked` when any gate failed. `failed` lists those gates."""

    outcome: Outcome
    gates: list[GateResult]

    @property
    def failed(self) -> list[GateResult]:
        return [g for g in self.gates if g.status == "failed"]

    def summary(self) -> str:
        """Why, in one sentence: every failed gate's reason, or how many passed."""
        if self.outcome == "passed":
            checked = sum(g.status == "passed" for g in self.gates)
            return f"all {checked} applicable gates passed"
        count = len(self.failed)
        reasons = "; ".join(g.reason for g in self.failed)
        return f"{count} gate{'s' if count != 1 else ''} failed: {reasons}"

    def headline(self) -> str:
        """The outcome and why, in one line."""
        return f"{self.outcome}: {self.summary()}"


def evaluate_gates(
    policy: PromotionPolicy,
    *,
    candidate: dict[str, float],
    production: dict[str, float] | None,
    eval_rows: int,
    drifted_share: float | None,
) -> Decision:
    """Apply every gate of `policy` to the candidate's evidence."""
    gates = [_rows_gate(policy.min_eval_rows, eval_rows)]
    for gate in policy.metrics:
        if gate.min is not None:
            gates.append(_bound_gate(gate.metric, candidate.get(gate.metric), floor=gate.min))
        if gate.max is not None:
            gates.append(_bound_gate(gate.metric, candidate.get(gate.metric), ceiling=gate.max))
    for rule in policy.regression:
        gates.append(_regression_gate(rule.metric, rule.max_drop, candidate=candidate, production=production))
    if policy.max_drifted_share is not None:
        gates.append(_drift_gate(policy.max_drifted_share, drifted_share))
    return decide(gates)


def decide(gates: list[GateResult]) -> Decision:
    """The verdict on evaluated gates: `blocked` when any failed."""
    blocked = any(g.status == "failed" for g in gates)
    return Decision(outcome="blocked" if blocked else "passed", gates=gates)


def _rows_gate(minimum: int, rows: int) -> GateResult:
    ok = rows >= minimum
    reason = f"{rows} evaluation rows" + ("" if ok else f", fewer than the {minimum} required")
    return GateResult(
        gate="evaluation rows",
        value=rows,
        shown=str(rows),
        threshold=f">= {minimum}",
        status=_status(ok),
        reason=reason,
    )


def _bound_gate(
    metric: str, value: float | None, *, floor: float | None = None, ceiling: float | None = None
) -> GateResult:
    threshold = f">= {floor:g}" if floor is not None else f"<= {ceiling:g}"
    name = f"{metric} {threshold}"
    if value is None:
        return _unmeasured(name, threshold, status="failed", reason=f"{metric} was not reported for this candidate")
    ok = value >= floor if floor is not None else ceiling is None or value <= ceiling
    verdict = "meets" if ok else "misses"
    return GateResult(
        gate=name,
        value=value,
        shown=f"{value:.4f}",
        threshold=threshold,
        status=_status(ok),
        reason=f"{metric} {value:.4f} {verdict} {threshold}",
    )


def _regression_gate(
    metric: str, max_drop: float, *, candidate: dict[str, float], production: dict[str, float] | None
) -> GateResult:
    """The change against production, signed as in the metrics table (candidate - production),
    so a drop in a higher-is-better metric reads negative beside a threshold of the same sign."""
    name = f"{metric} vs production"
    higher = metric_direction(metric) == HIGHER_IS_BETTER
    threshold = f">= {_signed(-max_drop)}" if higher else f"<= {_signed(max_drop)}"
    if production is None:
        return _unmeasured(name, threshold, status="not_applicable", reason="no production model to compare with")
    if metric not in candidate or metric not in production:
        missing = "candidate" if metric not in candidate else "production"
        return _unmeasured(name, threshold, status="failed", reason=f"{metric} was not reported for {missing}")
    change = candidate[metric] - production[metric]
    if abs(change) < TIE:
        change = 0.0
    worse_by = -change if higher else change
    ok = worse_by <= max_drop + TIE
    if worse_by == 0:
        reason = f"{metric} equal to production"
    else:
        word = "worse" if worse_by > 0 else "better"
        reason = f"{metric} {abs(worse_by):.4f} {word} than production" + ("" if ok else f" (allowed {max_drop:g})")
    return GateResult(
        gate=name, value=change, shown=f"{change:+.4f}", threshold=threshold, status=_status(ok), reason=reason
    )


def _signed(bound: float) -> str:
    return "0" if bound == 0 else f"{bound:+g}"


def _drift_gate(limit: float, share: float | None) -> GateResult:
    threshold = f"<= {limit:.0%}"
    if share is None:
        reason = "no production training data to compare with"
        return _unmeasured("drifted feature share", threshold, status="not_applicable", reason=reason)
    ok = share <= limit
    return GateResult(
        gate="drifted feature share",
        value=share,
        shown=f"{share:.0%}",
        threshold=threshold,
        status=_status(ok),
        reason=f"{share:.0%} of features drifted" + ("" if ok else f" (allowed {limit:.0%})"),
    )


def _unmeasured(gate: str, threshold: str, *, status: GateStatus, reason: str) -> GateResult:
    """A gate with no value to show: failed (a metric is missing) or not applicable."""
    return GateResult(gate=gate, value=None, threshold=threshold, status=status, reason=reason)


def _status(ok: bool) -> GateStatus:
    return "passed" if ok else "failed"
