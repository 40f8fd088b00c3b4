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
    """One affected model's result, and the comment file to post for it."""

    model: str
    outcome: str  # passed | blocked | error
    headline: str
    exit_code: int = 0
    marker: str
    body_file: str  # relative to the output folder
    comment_url: str = ""


class CandidateRun(BaseModel):
    """The whole run: what `summary.json` holds and `mlpin report post` reads back."""

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


def candidate(root: Path, *, base: str, pr: str, out_dir: Path, sha: str | None = None, progress: Progress = SILENT) -> CandidateRun:
    """Assess every affected model and write the reports; talks to no forge.

    Per-model errors become error outcomes with a comment that shows them; committed
    files that do not load become one PR-level error outcome.
    """
    sha = sha or git.head_commit(root)
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        ws = load_workspace(root)
    except MlpinError as exc:
        body = render_error("committed files", NO_MODEL_MARKER, exc.lines(), exit_code=exc.exit_code)
        outcomes = [_write(out_dir, "", "error", exc.message, NO_MODEL_MARKER, body, exit_code=exc.exit_code)]
        return _finish(out_dir, pr=pr, sha=sha, base=base, changed=[], outcomes=outcomes)
    changed = git.changed_paths(root, base)
    affected = affected_models(ws, changed)
    outcomes = []
    if not affected:
        outcomes.append(_write(out_dir, "", "passed", "no model affected", NO_MODEL_MARKER, render_no_models(len(changed))))
    for model, reasons in affected.items():
        progress.note(f"candidate {model}: {'; '.join(reasons)}")
        outcomes.append(_one(root, ws, model, reasons, pr=pr, out_dir=out_dir, progress=progress))
    return _finish(out_dir, pr=pr, sha=sha, base=base, changed=changed, outcomes=outcomes)


def _finish(out_dir: Path, *, pr: str, sha: str | None, base: str, changed: list[str], outcomes: list[ModelOutcome]) -> CandidateRun:
    state, description = _status(outcomes)
    run = CandidateRun(pr=pr, sha=sha, base=base, changed=changed, outcomes=outcomes, status=state,
                       description=description, out_dir=str(out_dir))
    (out_dir / SUMMARY).write_text(json.dumps(run.model_dump(mode="json"), indent=2) + "\n")
    return run


def _write(out_dir: Path, model: str, outcome: str, headline: str, marker: str, body: str, *, exit_code: int = 0) -> ModelOutcome:
    rel = f"{model}/candidate.md" if model else "pr.md"
    (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
    (out_dir / rel).write_text(body, encoding="utf-8")
    return ModelOutcome(model=model, outcome=outcome, headline=headline, exit_code=exit_code, marker=marker, body_file=rel)


def _one(root: Path, ws: Workspace, model: str, reasons: list[str], *, pr: str, out_dir: Path, progress: Progress) -> ModelOutcome:
    marker = candidate_marker(model)
    try:
        report = assess(root, ws, model, reasons, pr=pr, out_dir=out_dir / model, progress=progress)
    except MlpinError as exc:
        body = render_error(model, marker, exc.lines(), exit_code=exc.exit_code)
        return _write(out_dir, model, "error", exc.message, marker, body, exit_code=exc.exit_code)
    (out_dir / model / "candidate.json").write_text(json.dumps(report.model_dump(mode="json"), indent=2) + "\n")
    return _write(out_dir, model, report.decision.outcome, report.decision.headline(), marker, render_candidate(report))


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
    out_dir.mkdir(parents=True, exist_ok=True)
    registry = Registry(root)
    registry.tag_version(model, trained.version, {
        tag("pr"): pr,
        tag("candidate_commit"): trained.git_commit or "none",
        tag("verdict"): decision.outcome,
        tag("failed_gates"): "; ".join(g.gate for g in decision.failed) or "none",
        # the evidence, so mlpin verify can re-apply the policy as it stands later
        tag("eval_rows"): str(evaluation.eval_rows),
        tag("drifted_share"): "none" if drift is None else repr(drift.share),
    })
    report = CandidateReport(
        model=model, task=spec.task, policy=spec.policy, pr=pr, reasons=reasons, train=trained,
        evaluation=evaluation, decision=decision, drift=drift, drift_note=note, drift_html=html,
    )
    # kept with the run, so the promotion PR made after the merge can carry it whole
    registry.log_text(trained.run_id, render_candidate(report), REPORT_PATH)
    return report


def _status(outcomes: list[ModelOutcome]) -> tuple[str, str]:
    errors = [o for o in outcomes if o.outcome == "error"]
    blocked = [o for o in outcomes if o.outcome == "blocked"]
    if errors:
        return "error", f"not evaluated: {', '.join(o.model for o in errors)}"
    if blocked:
        return "failure", f"blocked: {', '.join(o.model for o in blocked)}"
    passed = [o.model for o in outcomes if o.model]
    return "success", f"passed: {', '.join(passed)}" if passed else "no model affected"
