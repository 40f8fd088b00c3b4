"""`mlpin candidate --base <ref>`: for every model the change affects, train a
candidate, score it and production on the same rows, measure drift against
production's training data, apply the promotion policy, and report on the PR.

Writes `<out>/<model>/candidate.{json,md}` and Evidently's `drift.html`, upserts one
comment per model on the PR, and sets the `mlpin/candidate` commit status.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from pipelines.adapters import git
from pipelines.adapters.forge import STATUS_CONTEXT, Forge
from pipelines.adapters.registry import Registry
from pipelines.adapters.workspace import load_workspace
from pipelines.core.affected import affected_models
from pipelines.core.errors import MlpinError
from pipelines.core.lineage import tag
from pipelines.core.policy import evaluate_gates
from pipelines.core.report import NO_MODEL_MARKER, candidate_marker, render_candidate, render_error, render_no_models
from pipelines.core.results import CandidateReport
from pipelines.core.workspace import Workspace
from pipelines.progress import SILENT, Progress
from pipelines.stages.drift_check import candidate_drift
from pipelines.stages.evaluate import evaluate
from pipelines.stages.train import train


class ModelOutcome(BaseModel):
    """One affected model's result."""

    model: str
    outcome: str  # passed | blocked | error
    headline: str
    exit_code: int = 0
    comment_url: str = ""
    report_path: str = ""


class CandidateRun(BaseModel):
    """The whole run, for the CLI and for the summary file."""

    pr: str
    commit: str | None
    base: str
    changed: list[str]
    outcomes: list[ModelOutcome]
    status: str
    out_dir: str


def candidate(root: Path, *, base: str, pr: str, out_dir: Path, forge: Forge, progress: Progress = SILENT) -> CandidateRun:
    """Assess every affected model and report; per-model errors are reported, not raised.

    Committed files that do not load stop the run (exit 2) after an `error` status, since
    no model can be judged against them.
    """
    head = git.head_commit(root)
    try:
        ws = load_workspace(root)
    except MlpinError as exc:
        if head:
            forge.set_status(head, context=STATUS_CONTEXT, state="error", description=exc.message)
        raise
    changed = git.changed_paths(root, base)
    affected = affected_models(ws, changed)
    outcomes = []
    if not affected:
        ref = forge.upsert_comment(pr, NO_MODEL_MARKER, render_no_models(len(changed)))
        outcomes.append(ModelOutcome(model="", outcome="passed", headline="no model affected", comment_url=ref.url))
    for model, reasons in affected.items():
        progress.note(f"candidate {model}: {'; '.join(reasons)}")
        outcomes.append(_one(root, ws, model, reasons, pr=pr, out_dir=out_dir / model, forge=forge, progress=progress))
    state, description = _status(outcomes)
    if head:
        forge.set_status(head, context=STATUS_CONTEXT, state=state, description=description)
    run = CandidateRun(pr=pr, commit=head, base=base, changed=changed, outcomes=outcomes, status=state, out_dir=str(out_dir))
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "summary.json").write_text(json.dumps(run.model_dump(mode="json"), indent=2) + "\n")
    return run


def _one(root: Path, ws: Workspace, model: str, reasons: list[str], *, pr: str, out_dir: Path, forge: Forge, progress: Progress) -> ModelOutcome:
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        report = assess(root, ws, model, reasons, pr=pr, out_dir=out_dir, progress=progress)
    except MlpinError as exc:
        body = render_error(model, exc.lines(), exit_code=exc.exit_code)
        (out_dir / "candidate.md").write_text(body)
        ref = forge.upsert_comment(pr, candidate_marker(model), body)
        return ModelOutcome(model=model, outcome="error", headline=exc.message, exit_code=exc.exit_code, comment_url=ref.url)
    body = render_candidate(report)
    (out_dir / "candidate.md").write_text(body)
    (out_dir / "candidate.json").write_text(json.dumps(report.model_dump(mode="json"), indent=2) + "\n")
    ref = forge.upsert_comment(pr, candidate_marker(model), body)
    return ModelOutcome(model=model, outcome=report.decision.outcome, headline=report.decision.headline(),
                        comment_url=ref.url, report_path=str(out_dir / "candidate.json"))


def assess(root: Path, ws: Workspace, model: str, reasons: list[str], *, pr: str, out_dir: Path, progress: Progress) -> CandidateReport:
    """Train, evaluate, drift and decide for one model; tags the registered version with the verdict."""
    spec = ws.spec(model)
    trained = train(root, model, progress=progress)
    evaluation = evaluate(root, model, version=trained.version, progress=progress)
    drift, note, html = candidate_drift(root, ws, spec, html_path=out_dir / "drift.html", progress=progress)
    decision = evaluate_gates(
        ws.policy_for(spec),
        candidate=evaluation.candidate.metrics,
        production=evaluation.production.metrics if evaluation.production else None,
        eval_rows=evaluation.eval_rows,
        drifted_share=drift.share if drift else None,
    )
    Registry(root).tag_version(model, trained.version, {
        tag("pr"): pr,
        tag("candidate_commit"): trained.git_commit or "none",
        tag("verdict"): decision.outcome,
        tag("failed_gates"): "; ".join(g.gate for g in decision.failed) or "none",
    })
    return CandidateReport(
        model=model, task=spec.task, policy=spec.policy, pr=pr, reasons=reasons, train=trained,
        evaluation=evaluation, decision=decision, drift=drift, drift_note=note, drift_html=html,
    )


def _status(outcomes: list[ModelOutcome]) -> tuple[str, str]:
    errors = [o for o in outcomes if o.outcome == "error"]
    blocked = [o for o in outcomes if o.outcome == "blocked"]
    if errors:
        return "error", f"not evaluated: {', '.join(o.model for o in errors)}"
    if blocked:
        return "failure", f"blocked: {', '.join(o.model for o in blocked)}"
    passed = [o.model for o in outcomes if o.model]
    return "success", f"passed: {', '.join(passed)}" if passed else "no model affected"
