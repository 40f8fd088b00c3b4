"""`mlpin candidate --base <ref>`: for every model the change affects, train a
candidate, score it and production on the same rows, measure drift against
production's training data, apply the promotion policy, and report on the PR.

It registers nothing: a pull request's code is not trusted, so its job gets at most read
access to the registry (to re-score production). `mlpin propose` rebuilds the candidate
from the merged commit and registers that.

Writes `<out>/<model>/candidate.{json,md}` and Evidently's `drift.html`, upserts one
comment per model on the PR, and sets the `mlpin/candidate` commit status.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from pipelines.adapters import git
from pipelines.adapters.modelregistry import ModelRegistry
from pipelines.core.affected import affected_models
from pipelines.core.errors import MlpinError
from pipelines.core.lineage import tag
from pipelines.core.markers import NO_MODEL_MARKER, candidate_marker
from pipelines.core.outcome import Kind
from pipelines.core.policy import evaluate_gates
from pipelines.core.report import render_candidate, render_error, render_no_models
from pipelines.core.stage_results import CandidateReport
from pipelines.core.verdict import run_status
from pipelines.stages.candidate_drift import candidate_drift
from pipelines.stages.context import StageContext
from pipelines.stages.evaluate import evaluate_fitted
from pipelines.stages.failure import failure_of
from pipelines.stages.prepare import prepare
from pipelines.stages.train import build_prepared, register_built, unregistered

RunOutcome = Literal["passed", "blocked", "error"]


class ModelOutcome(BaseModel):
    """One affected model's result, and the comment file to post for it."""

    model_config = ConfigDict(extra="forbid")

    model: str
    outcome: RunOutcome
    headline: str
    kind: Kind = Kind.DONE
    marker: str
    body_file: str  # relative to the output folder
    comment_url: str = ""
    lines: list[str] = []  # an error's lines, which `mlpin report post` shows (as text, in a code block)


class CandidateRun(BaseModel):
    """The whole run: what `summary.json` holds and `mlpin report post` reads back."""

    model_config = ConfigDict(extra="forbid")

    pr: str
    sha: str | None  # the commit the status is set on (the PR head)
    base: str
    changed: list[str]
    outcomes: list[ModelOutcome]
    status: str
    description: str
    out_dir: str


SUMMARY = "summary.json"
REPORT_PATH = "mlpin/candidate.md"


def candidate(ctx: StageContext, *, base: str, pr: str, out_dir: Path, sha: str | None = None) -> CandidateRun:
    """Assess every affected model and write the reports; talks to no forge.

    Per-model failures (bugs included) become error outcomes with a comment that shows
    them, and the other models are still assessed; committed files that do not load
    become one PR-level error outcome.
    """
    head, _ = ctx.source_state()  # before anything below writes into the checkout
    sha = sha or head
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        ws = ctx.workspace
    except MlpinError as exc:
        body = render_error("committed files", NO_MODEL_MARKER, lines=exc.lines(), kind=exc.kind)
        outcomes = [
            _write(out_dir, "", outcome="error", headline=exc.message, marker=NO_MODEL_MARKER, body=body, kind=exc.kind,
                   lines=exc.lines())
        ]
        return _finish(out_dir, pr=pr, sha=sha, base=base, changed=[], outcomes=outcomes)
    changed = git.changed_paths(ctx.root, base)
    affected = affected_models(ws, changed)
    outcomes = []
    if not affected:
        outcomes.append(_write(out_dir, "", outcome="passed", headline="no model affected", marker=NO_MODEL_MARKER,
                               body=render_no_models(len(changed))))
    for model, reasons in affected.items():
        ctx.progress.note(f"candidate {model}: {'; '.join(reasons)}")
        outcomes.append(_one(ctx, model, reasons=reasons, pr=pr, out_dir=out_dir))
    return _finish(out_dir, pr=pr, sha=sha, base=base, changed=changed, outcomes=outcomes)


def _finish(
    out_dir: Path, *, pr: str, sha: str | None, base: str, changed: list[str], outcomes: list[ModelOutcome]
) -> CandidateRun:
    state, description = run_status((o.model, o.outcome) for o in outcomes)
    run = CandidateRun(pr=pr, sha=sha, base=base, changed=changed, outcomes=outcomes, status=state,
                       description=description, out_dir=str(out_dir))
    (out_dir / SUMMARY).write_text(json.dumps(run.model_dump(mode="json"), indent=2) + "\n")
    return run


def _write(
    out_dir: Path, model: str, *, outcome: RunOutcome, headline: str, marker: str, body: str,
    kind: Kind = Kind.DONE, lines: list[str] | None = None,
) -> ModelOutcome:
    rel = f"{model}/candidate.md" if model else "pr.md"
    (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
    (out_dir / rel).write_text(body, encoding="utf-8")
    return ModelOutcome(model=model, outcome=outcome, headline=headline, kind=kind, marker=marker, body_file=rel,
                        lines=lines or [])


def _one(ctx: StageContext, model: str, *, reasons: list[str], pr: str, out_dir: Path) -> ModelOutcome:
    marker = candidate_marker(model)
    try:
        report = assess(ctx, model, reasons=reasons, pr=pr, out_dir=out_dir / model)
    except Exception as exc:  # noqa: BLE001 - one model's failure, even a bug, must not hide the others'
        failure = failure_of(exc, subject=model)
        body = render_error(model, marker, lines=failure.lines, kind=failure.kind)
        return _write(out_dir, model, outcome="error", headline=failure.message, marker=marker, body=body,
                      kind=failure.kind, lines=failure.lines)
    (out_dir / model / "candidate.json").write_text(json.dumps(report.model_dump(mode="json"), indent=2) + "\n")
    kind = Kind.BLOCKED if report.decision.outcome == "blocked" else Kind.DONE
    return _write(out_dir, model, outcome=report.decision.outcome, headline=report.decision.headline(), marker=marker,
                  body=render_candidate(report), kind=kind)


def assess(ctx: StageContext, model: str, *, reasons: list[str], pr: str, out_dir: Path,
           register: bool = False) -> CandidateReport:
    """Train, evaluate, drift and decide for one model.

    Unregistered (the default, a pull request's job): nothing is written to the registry;
    the report carries the artifact digest registering would record. Registered (`mlpin
    propose`, trusted code on the merged commit): the version is registered and tagged with
    the verdict and its evidence, which `mlpin verify` re-checks later.
    """
    ws = ctx.workspace
    spec = ws.spec(model)
    prep = prepare(ctx, model)
    built = build_prepared(ctx, prep)
    trained = register_built(ctx, built) if register else unregistered(ctx, built)
    evaluation = evaluate_fitted(ctx, prep, built.fitted, version=trained.version)
    drift, note, html = candidate_drift(ctx, spec, html_path=out_dir / "drift.html")
    decision = evaluate_gates(
        ws.policy_for(spec),
        candidate=evaluation.candidate.metrics,
        production=evaluation.production.metrics if evaluation.production else None,
        eval_rows=evaluation.eval_rows,
        drifted_share=drift.share if drift else None,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    report = CandidateReport(
        model=model, task=spec.task, policy=spec.policy, pr=pr, reasons=reasons, train=trained,
        evaluation=evaluation, decision=decision, drift=drift, drift_note=note, drift_html=html,
    )
    if trained.version is not None and trained.run_id is not None:
        _record_verdict(ctx.registry, report, version=trained.version, run_id=trained.run_id)
    return report


def _record_verdict(registry: ModelRegistry, report: CandidateReport, *, version: int, run_id: str) -> None:
    decision, drift = report.decision, report.drift
    registry.tag_version(report.model, version, {
        tag("pr"): report.pr,
        tag("candidate_commit"): report.train.git_commit or "none",
        tag("verdict"): decision.outcome,
        tag("failed_gates"): "; ".join(g.gate for g in decision.failed) or "none",
        # the evidence, so mlpin verify can re-apply the policy as it stands later
        tag("eval_rows"): str(report.evaluation.eval_rows),
        tag("drifted_share"): "none" if drift is None else repr(drift.share),
    })
    # kept with the run, so the promotion PR can carry it whole
    registry.log_text(run_id, render_candidate(report), REPORT_PATH)
    # last, and alone: what propose may reuse is only a version whose evidence is all there
    # (a job stopped half-way leaves a version propose ignores and rebuilds, never one it trusts)
    registry.tag_version(report.model, version, {tag("judged_by"): "propose"})
