"""Markdown for the sticky PR comment. Pure: a CandidateReport in, a string out.

The first line is a hidden marker; the forge finds the comment again by it and by its
author (mlpin's own login), so each PR has exactly one mlpin comment per model, updated
in place, and a comment someone else starts with the marker is never taken for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipelines.core.catalog import METRICS
from pipelines.core.drift import DriftReport
from pipelines.core.markers import CANDIDATE_MARKER, NO_MODEL_MARKER, candidate_marker
from pipelines.core.metrictable import holdout_table, metric_row, version_label
from pipelines.core.outcome import Kind
from pipelines.core.policy import GateResult
from pipelines.core.rebuild import reported_line
from pipelines.core.stage_results import CandidateReport
from pipelines.core.workspace import policy_path

# Metrics on a 0..1 scale chart together; error metrics (unbounded) get their own axis.
BOUNDED = ("accuracy", "f1_weighted", "f1_macro", "precision_weighted", "recall_weighted", "roc_auc", "r2")
ERRORS = ("mae", "rmse")
STATUS = {"passed": "✅ passed", "failed": "❌ failed", "not_applicable": "➖ n/a"}
COMMENT_LIMIT = 65_536  # GitHub's limit on a comment body (UTF-16 code units)


def render_no_models(changed: int) -> str:
    """The short comment for a PR that changes no model's inputs."""
    return (
        f"{NO_MODEL_MARKER}\n### mlpin: no model affected\n\n"
        f"This pull request changes {changed} file{'s' if changed != 1 else ''}, none of them a training spec, "
        "a data pointer or file, a promotion policy or mlpin itself, so no candidate was trained.\n"
    )


def render_candidate(report: CandidateReport) -> str:
    """The full comment for one model's candidate."""
    parts = [
        "\n".join(filter(None, (candidate_marker(report.model), reported_line(report)))),
        _headline(report),
        _metrics(report),
        holdout_table(report.evaluation.drift_holdout),
        _robustness(report.evaluation.robustness),
        _chart(report),
        _gates(report),
        _drift(report.drift, report.drift_note, html_folder=report.model if report.drift_html else None),
        _lineage(report),
        "<sub>Posted by mlpin; this comment is updated in place on every push.</sub>",
    ]
    return "\n\n".join(p for p in parts if p) + "\n"


def _robustness(found: Mapping[Any, dict[str, float]] | None) -> str:
    """Accuracy under fixed perturbations, candidate beside production (image models)."""
    if not found:
        return ""
    candidate, production = found.get("candidate", {}), found.get("production")
    rows = ["#### Robustness: accuracy on the held-out images under fixed perturbations", "",
            "| images | candidate |" + (" production |" if production else ""),
            "|---|---:|" + ("---:|" if production else "")]
    for name, value in candidate.items():
        other = f" {production[name]:.4f} |" if production and name in production else (" – |" if production else "")
        rows.append(f"| {name} | {value:.4f} |{other}")
    return "\n".join(rows)


def _headline(report: CandidateReport) -> str:
    icon = "✅" if report.decision.outcome == "passed" else "❌"
    summary = report.decision.summary()
    return (
        f"### {icon} {report.model} {version_label(report.evaluation.candidate.version)}: "
        f"{report.decision.outcome}\n\n"
        f"{summary[:1].upper() + summary[1:]}.\n\nTrained because: {'; '.join(report.reasons)}."
        + (f" Fine-tuned from production v{report.train.init_version}'s weights."
           if report.train.init_version is not None else "")
    )


def _metrics(report: CandidateReport) -> str:
    ev = report.evaluation
    prod = f"production v{ev.production.version}" if ev.production else "production"
    rows = [
        f"#### Metrics on the same {ev.eval_rows} held-out rows",
        "",
        f"| metric | candidate {version_label(ev.candidate.version)} | {prod} | change |",
        "|---|---:|---:|---|",
    ]
    rows += [metric_row(m) for m in ev.comparison]
    rows += ["", f"_{ev.production_note}._"]
    return "\n".join(rows)


def _chart(report: CandidateReport) -> str:
    names = BOUNDED if report.task == "classification" else ERRORS
    ev = report.evaluation
    shown = [n for n in names if n in ev.candidate.metrics and n in METRICS[report.task]]
    if not shown:
        return ""
    cand = [ev.candidate.metrics[n] for n in shown]
    series = [f"    bar [{', '.join(f'{v:.4f}' for v in cand)}]"]
    values = list(cand)
    if ev.production is not None and all(n in ev.production.metrics for n in shown):
        prod = [ev.production.metrics[n] for n in shown]
        series.append(f"    bar [{', '.join(f'{v:.4f}' for v in prod)}]")
        values += prod
    axis = (
        '    y-axis "score" 0 --> 1'
        if report.task == "classification"
        else f'    y-axis "error" 0 --> {max(values) * 1.1:.4g}'
    )
    legend = "candidate (first bar) vs production (second bar)" if len(series) == 2 else "candidate"
    return "\n".join([
        "```mermaid",
        "xychart-beta",
        f'    title "{report.model}: {legend}"',
        f"    x-axis [{', '.join(shown)}]",
        axis,
        *series,
        "```",
    ])


def _gates(report: CandidateReport) -> str:
    rows = [
        f"#### Promotion gates ({policy_path(report.policy)})",
        "",
        "| gate | value | threshold | result | detail |",
        "|---|---:|---|---|---|",
    ]
    rows += [_gate_row(g) for g in report.decision.gates]
    return "\n".join(rows)


def _gate_row(gate: GateResult) -> str:
    return f"| {gate.gate} | {gate.shown} | {gate.threshold} | {STATUS[gate.status]} | {gate.reason} |"


def _drift(drift: DriftReport | None, note: str, *, html_folder: str | None) -> str:
    head = "#### Data drift: candidate training data vs production training data"
    if drift is None:
        return f"{head}\n\n_{note}._"
    verdict = "dataset drifted" if drift.dataset_drifted else "dataset not drifted"
    lines = [
        head,
        "",
        f"**{len(drift.drifted)} of {len(drift.features)} features drifted ({drift.share:.0%}); {verdict}** "
        f"(dataset threshold {drift.drift_share:.0%}). Reference: {drift.reference} ({drift.reference_rows} rows); "
        f"current: {drift.current} ({drift.current_rows} rows).",
    ]
    if drift.drifted:
        lines.append(
            "\nMost drifted: " + ", ".join(f"`{f.column}` ({f.comparison()})" for f in drift.drifted[:3]) + "."
        )
    lines += ["", f"<details><summary>Per-feature results ({len(drift.features)} features)</summary>", "",
              "| feature | method | score vs threshold | drifted |", "|---|---|---|---|"]
    ordered = sorted(drift.features, key=lambda f: -f.severity)
    lines += [f"| {f.column} | {f.method} | {f.comparison()} | {'yes' if f.drifted else 'no'} |" for f in ordered]
    lines += ["", "</details>"]
    lines += ["", f"_{note}._"]
    if html_folder:
        sample = (f" Its plots are drawn on a sample of {drift.html_sample} rows per table; the scores above use "
                  "every row." if drift.html_sample else "")
        lines += ["", f"Full report (HTML, a histogram per feature): `{html_folder}/drift.html` in this run's "
                      f"artifacts.{sample}"]
    return "\n".join(lines)


def _lineage(report: CandidateReport) -> str:
    t = report.train
    commit = (t.git_commit or "none")[:12] + (" (dirty)" if t.git_dirty else "")
    return "\n".join([
        "<details><summary>Lineage</summary>",
        "",
        "| | |",
        "|---|---|",
        f"| commit | `{commit}` |",
        f"| spec hash | `{t.spec_hash}` |",
        f"| data sha256 | `{t.data_sha256}` |",
        f"| artifact sha256 | `{t.artifact_sha256}` |",
        *([f"| MLflow run | `{t.run_id}` |", f"| registered version | `{t.model}` v{t.version} |"]
          if t.version is not None else
          ["| registered version | none: built to be judged here; after the merge, `mlpin propose` rebuilds "
           "it with trusted code and registers that |"]),
        "",
        "</details>",
    ])


WHO_ACTS = {
    Kind.INVALID_INPUT: "Fix the problem below and push again.",
    Kind.OUTSIDE_SYSTEM: "An outside system failed; re-run the workflow.",
    Kind.BUG: "mlpin failed unexpectedly (a bug); re-running may not help. Please report it with the job log.",
}


def render_error(subject: str, marker: str, *, lines: list[str], kind: Kind) -> str:
    """The comment for something mlpin could not evaluate: what went wrong and who acts."""
    who = WHO_ACTS.get(kind, WHO_ACTS[Kind.BUG])
    body = "\n".join(lines)
    return f"{marker}\n### ⚠️ {subject}: not evaluated\n\n{who}\n\n```text\n{body}\n```\n"


def render_superseded(marker: str, *, sha: str | None, assessed: list[str], loaded: bool) -> str:
    """The replacement for a comment mlpin posted for an earlier commit that the latest run did
    not post again: what it said no longer applies, and where the current report is. `assessed`:
    the models the latest run reported on; `loaded`: whether its committed files loaded."""
    at = f"commit `{sha[:12]}`" if sha else "the latest commit"
    found = CANDIDATE_MARKER.fullmatch(marker)
    subject = found.group(1) if found else marker
    if marker == NO_MODEL_MARKER:
        head = "### mlpin: see the comment of each model"
        text = f"As of {at}, this pull request affects {', '.join(assessed) or 'no model'}; each has its own comment."
    elif not loaded:
        head = f"### ➖ {subject}: not assessed"
        text = (f"At {at} the committed files do not load, so no model was assessed; "
                "mlpin's comment on the pull request says what to fix.")
    else:
        head = f"### ➖ {subject}: no longer affected"
        text = f"As of {at}, this pull request changes nothing {subject} is trained from, so no candidate was trained."
    return f"{marker}\n{head}\n\n{text} What was reported here for an earlier commit no longer applies.\n"


def cap_body(body: str, *, pointer: str) -> str:
    """`body` when it fits in one GitHub comment; else cut to fit, an open code block closed,
    ending with `pointer` (where the whole text is). Never longer than COMMENT_LIMIT."""
    if _units(body) <= COMMENT_LIMIT:
        return body
    tail = f"\n\n_Cut at GitHub's {COMMENT_LIMIT:,}-character limit for a comment: {pointer}._\n"
    kept = body[: COMMENT_LIMIT - len(tail) - 8]
    while (excess := _units(kept) + _units(tail) + 8 - COMMENT_LIMIT) > 0:  # wide characters count twice
        kept = kept[:-excess]
    if sum(line.startswith("```") for line in kept.splitlines()) % 2:
        kept += "\n```"
    return kept + tail


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
