"""The scheduled drift check of production: its result per model, and what it says on the
model's issue. Pure: the stage reads the logs, the data and the forge, and acts on the plan.

Drift is decision support. A check tells people, with evidence, through one issue per
model: opened when drift crosses the policy, commented on only when the findings change
(the verdict, or which features drifted), closed after `close_after_clean_checks` clean
checks in a row, reopened when drift returns. It never promotes anything.

The issue body carries the check's state in one hidden line (the findings last reported
and the count of clean checks since), so each run decides from the issue alone.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from pipelines.core.drift import DriftReport, FeatureDrift
from pipelines.core.markers import marker
from pipelines.core.schemas.policy import IssueSettings

Verdict = Literal["drifted", "clean", "not_enough_data"]
STATE = re.compile(r"^<!-- mlpin:drift-state (\{[^\n>]{0,20000}\}) -->$", re.MULTILINE)
BAR_WIDTH = 20
PREDICTION = "prediction"  # the findings' name for drift of the model's outputs


def drift_marker(model: str) -> str:
    """The fingerprint a model's drift issue starts with."""
    return marker("drift", model)


class DriftCheck(BaseModel):
    """One model's check: the live version's logged inputs in a window against the training
    data of the version the pin names."""

    model: str
    version: int  # the live version whose requests were checked (the pinned one)
    window_start: datetime
    window_end: datetime
    reference: str  # which data, e.g. "data/wine.yaml at 0123456789ab (sha256 fefd0594fe43)"
    reference_rows: int
    rows: int  # logged input rows of `version` in the window
    requests: int
    min_rows: int
    skipped_lines: int = 0
    other_versions: dict[int, int] = Field(default_factory=dict)  # rows answered by other versions
    report: DriftReport | None = None  # None: not enough data
    prediction: FeatureDrift | None = None  # drift of the model's outputs, its own line
    html: str | None = None  # Evidently's report of this check

    @property
    def verdict(self) -> Verdict:
        if self.report is None:
            return "not_enough_data"
        drifted = self.report.dataset_drifted or (self.prediction is not None and self.prediction.drifted)
        return "drifted" if drifted else "clean"

    @property
    def findings(self) -> list[str]:
        """What a change of is worth telling: the drifted features (and the prediction)."""
        names = [f.column for f in self.report.drifted] if self.report else []
        if self.prediction is not None and self.prediction.drifted:
            names.append(PREDICTION)
        return sorted(names)

    def headline(self) -> str:
        if self.report is None:
            return (f"not enough data: {self.rows} logged rows of v{self.version} in the window, "
                    f"the policy needs {self.min_rows}")
        share = f"{len(self.report.drifted)} of {len(self.report.features)} features drifted"
        predicted = "" if self.prediction is None else (
            "; predictions drifted" if self.prediction.drifted else "; predictions stable")
        return f"{self.verdict}: {share} ({self.report.share:.0%}, policy {self.report.drift_share:.0%}){predicted}"


class IssueState(BaseModel):
    """What the issue last reported, and the clean checks since."""

    verdict: Verdict
    findings: list[str] = Field(max_length=10_000)
    clean: int = Field(default=0, ge=0)


def read_state(body: str | None) -> IssueState | None:
    """The state line of an issue body; None when there is none that parses."""
    found = STATE.search(body or "")
    if found is None:
        return None
    try:
        return IssueState.model_validate(json.loads(found.group(1)))
    except (ValueError, ValidationError):
        return None


@dataclass(frozen=True)
class IssuePlan:
    """What to do on the model's issue: `open` (create, or reopen a closed one, with
    `body`), `update` (its body only: the state line), `comment` (body and a comment),
    `close` (a comment, then close) or `none`."""

    action: Literal["none", "open", "update", "comment", "close"]
    title: str = ""
    body: str = ""
    comment: str = ""


def plan_issue(check: DriftCheck, *, issue_state: Literal["open", "closed"] | None, issue_body: str | None,
               settings: IssueSettings, retrain: str) -> IssuePlan:
    """What this check does to the model's issue (see the module's docstring)."""
    verdict, findings = check.verdict, check.findings
    if verdict == "not_enough_data":
        return IssuePlan("none")
    title = f"Drift in {check.model} v{check.version}: {', '.join(findings) or 'none'}"[:200]
    if issue_state != "open":
        if verdict == "clean":
            return IssuePlan("none")
        state = IssueState(verdict=verdict, findings=findings)
        comment = "" if issue_state is None else render_change(check, returned=True)
        return IssuePlan("open", title=title, body=render_issue(check, state, retrain=retrain), comment=comment)
    before = read_state(issue_body) or IssueState(verdict="drifted", findings=[])
    if verdict == "clean":
        clean = before.clean + 1
        if clean >= settings.close_after_clean_checks:
            return IssuePlan("close", comment=render_closing(check, clean=clean))
        state = IssueState(verdict="clean", findings=[], clean=clean)
        body = with_state(issue_body or "", state)
        if before.verdict != "clean":  # a change of verdict is worth a comment; the count alone is not
            return IssuePlan("comment", title=_title_of(issue_body, title), body=body,
                             comment=render_change(check, clean=clean, needed=settings.close_after_clean_checks))
        return IssuePlan("update", title=_title_of(issue_body, title), body=body)
    state = IssueState(verdict=verdict, findings=findings)
    if (before.verdict, before.findings) == (verdict, findings):
        if before.clean == 0:
            return IssuePlan("none")
        return IssuePlan("update", title=title, body=with_state(issue_body or "", state))
    return IssuePlan("comment", title=title, body=render_issue(check, state, retrain=retrain),
                     comment=render_change(check))


def _title_of(body: str | None, fallback: str) -> str:
    """Clean checks keep the title that named the drift."""
    found = re.search(r"^## (Drift in .+)$", body or "", re.MULTILINE)
    return found.group(1) if found else fallback


def with_state(body: str, state: IssueState) -> str:
    """`body` with its state line replaced (or added after the fingerprint line)."""
    line = state_line(state)
    if STATE.search(body):
        return STATE.sub(lambda _: line, body, count=1)
    first, _, rest = body.partition("\n")
    return f"{first}\n{line}\n{rest}"


def state_line(state: IssueState) -> str:
    text = json.dumps(state.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return f"<!-- mlpin:drift-state {text.replace('>', '')} -->"


def render_issue(check: DriftCheck, state: IssueState, *, retrain: str) -> str:
    """The issue body: the evidence of the check that opened (or last changed) it."""
    lines = [
        drift_marker(check.model),
        state_line(state),
        f"## Drift in {check.model} v{check.version}: {', '.join(state.findings) or 'none'}",
        "",
        f"**{check.headline()}.** Found by mlpin's scheduled drift check; drift never promotes anything by "
        "itself, it tells you with evidence.",
        "",
        *render_check(check),
        "",
        "### What to do",
        "",
        "Look at the drifted features above. If production's inputs have really moved, retrain on recent "
        "labelled data:",
        "",
        "```sh",
        retrain,
        "```",
        "",
        "This issue is updated when the findings change, and closed by mlpin after clean checks in a row.",
    ]
    return "\n".join(lines) + "\n"


def render_check(check: DriftCheck) -> list[str]:
    """The markdown of one check: window, rows, and the per-feature table (most drifted first)."""
    lines = [
        "| | |",
        "|---|---|",
        f"| window | {check.window_start.isoformat()} to {check.window_end.isoformat()} |",
        f"| live version | v{check.version} |",
        f"| logged rows (requests) | {check.rows} ({check.requests}) |",
        f"| reference | {check.reference}, {check.reference_rows} rows |",
    ]
    if check.other_versions:
        others = ", ".join(f"v{v}: {n}" for v, n in sorted(check.other_versions.items()))
        lines.append(f"| rows answered by other versions (not checked) | {others} |")
    if check.skipped_lines:
        lines.append(f"| unreadable log lines (skipped) | {check.skipped_lines} |")
    if check.html:
        sample = check.report.html_sample if check.report is not None else None
        note = f" (plots drawn on a sample of {sample} rows; the verdicts above use every row)" if sample else ""
        lines.append(f"| full report | `{check.html}`{note} |")
    if check.report is None:
        return lines
    features = [*check.report.drifted, *(f for f in check.report.features if not f.drifted)]
    if check.prediction is not None:
        features.insert(0, check.prediction.model_copy(update={"column": PREDICTION}))
    lines += ["", "| feature | drifted | method | score | severity |", "|---|---|---|---|---|"]
    for f in features:
        lines.append(f"| `{f.column}` | {'❌ yes' if f.drifted else 'no'} | {f.method} | {f.comparison()} | "
                     f"`{_bar(f.severity)}` |")
    return lines


def _bar(severity: float) -> str:
    """A Unicode bar: half full at the threshold, full at twice it or beyond."""
    filled = max(0, min(BAR_WIDTH, round(severity * BAR_WIDTH / 2)))
    return "█" * filled + "·" * (BAR_WIDTH - filled)


def render_change(check: DriftCheck, *, returned: bool = False, clean: int = 0, needed: int = 0) -> str:
    """The comment when the findings change (or drift returns to a closed issue)."""
    if check.verdict == "clean":
        head = (f"No drift in the check of {check.window_end.isoformat()} ({check.headline()}). "
                f"Clean checks in a row: {clean} of the {needed} that close this issue.")
        return f"{head}\n"
    what = "Drift returned" if returned else "The findings changed"
    return "\n".join([f"**{what}** in the check of {check.window_end.isoformat()}: {check.headline()}.", "",
                      *render_check(check)]) + "\n"


def render_closing(check: DriftCheck, *, clean: int) -> str:
    return (f"Closed by mlpin: {clean} clean drift checks in a row (the last over {check.rows} logged rows "
            f"of v{check.version}, to {check.window_end.isoformat()}). Drift that returns reopens this issue.\n")
