"""`mlpin report post --from DIR`: put a candidate run's reports on the PR, and replace
the candidate comments of earlier pushes that this run does not post again.

This runs in the privileged half of the candidate workflow, on files produced by PR
code, so it treats them as data: the summary must be for the commit the trusted
workflow event names, that commit must be the PR's head, and every comment file must
sit inside the folder and start with an mlpin marker.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ValidationError

from pipelines.adapters.forge import STATUS_CONTEXT, Forge
from pipelines.core.errors import InvalidInput
from pipelines.core.markers import CANDIDATE_MARKER, NO_MODEL_MARKER
from pipelines.core.report import render_superseded
from pipelines.stages.candidate import SUMMARY, CandidateRun


class PostResult(BaseModel):
    """What was posted where."""

    pr: str
    sha: str | None
    comments: list[str]
    status: str


def post_run(out_dir: Path, forge: Forge, *, expect_sha: str | None = None) -> PostResult:
    """Upsert each outcome's comment and set the commit status; refuses mismatched input."""
    run = load_run(out_dir)
    if expect_sha and run.sha != expect_sha:
        raise InvalidInput(
            f"{out_dir}/{SUMMARY} reports on commit {run.sha}, but this workflow run is for {expect_sha}; "
            "refusing to post"
        )
    if run.sha:
        forge.check_pr_head(run.pr, run.sha)
    urls = []
    for outcome in run.outcomes:
        body = _body(out_dir, outcome.body_file, marker=outcome.marker)
        urls.append(forge.upsert_comment(run.pr, outcome.marker, body).url)
    for marker, body in superseded(run, existing=forge.comment_markers(run.pr)).items():
        urls.append(forge.upsert_comment(run.pr, marker, body).url)
    if run.sha:
        forge.set_status(run.sha, context=STATUS_CONTEXT, state=run.status, description=run.description)
    return PostResult(pr=run.pr, sha=run.sha, comments=urls, status=run.status)


def superseded(run: CandidateRun, *, existing: list[str]) -> dict[str, str]:
    """A replacement for each candidate comment of an earlier push that this run does not post
    again (a "not evaluated" error once the model evaluates, a model the PR no longer affects),
    so no stale verdict stays on the PR. Rewriting one is a no-op when its body is unchanged."""
    posted = {o.marker for o in run.outcomes}
    assessed = [o.model for o in run.outcomes if o.model]
    loaded = not any(o.marker == NO_MODEL_MARKER and o.outcome == "error" for o in run.outcomes)
    stale = [m for m in dict.fromkeys(existing) if CANDIDATE_MARKER.fullmatch(m) and m not in posted]
    return {m: render_superseded(m, sha=run.sha, assessed=assessed, loaded=loaded) for m in stale}


def load_run(out_dir: Path) -> CandidateRun:
    """summary.json of a candidate run, validated."""
    path = out_dir / SUMMARY
    try:
        return CandidateRun.model_validate_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput(f"{path} does not exist; run mlpin candidate --out {out_dir} first") from None
    except ValidationError as exc:
        raise InvalidInput(f"{path} is not a candidate summary: {exc.error_count()} problems") from None


def _body(out_dir: Path, rel: str, *, marker: str) -> str:
    path = (out_dir / rel).resolve()
    if not path.is_relative_to(out_dir.resolve()) or not CANDIDATE_MARKER.fullmatch(marker):
        raise InvalidInput(f"{SUMMARY} names a comment outside {out_dir} or a foreign marker; refusing to post")
    body = path.read_text(encoding="utf-8")
    if not body.startswith(marker + "\n"):
        raise InvalidInput(f"{rel} does not start with its marker {marker}; refusing to post")
    return body
