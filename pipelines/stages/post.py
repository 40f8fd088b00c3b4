"""`mlpin report post --from DIR`: put a candidate run's reports on the PR, and replace
the candidate comments of earlier pushes that this run does not post again.

This runs in the privileged half of the candidate workflow, on files produced by PR
code, so it treats them as data. It reads only the structured results (`summary.json`,
each `<model>/candidate.json`), checks every one of them before it writes anything
(all-or-nothing), and derives what it writes with its own code: each model's outcome
from its gates, each model's commit status (`mlpin/candidate/<model>`) from its own
outcome and the rollup (`mlpin/candidate`) from all of them, and every comment rendered from
the numbers. It never posts markdown the PR produced, and only for models the checkout
it runs in (the default branch) defines.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn, TypeVar, cast

from pydantic import BaseModel, ValidationError

from pipelines.adapters.forge import STATUS_CONTEXT, StatusState, status_context
from pipelines.adapters.workspace import RESERVED_MODEL_FILES
from pipelines.core.errors import InvalidInput, Problem
from pipelines.core.markers import CANDIDATE_MARKER, NO_MODEL_MARKER, candidate_marker
from pipelines.core.policy import decide
from pipelines.core.report import cap_body, render_candidate, render_error, render_no_models, render_superseded
from pipelines.core.stage_results import CandidateReport
from pipelines.core.untrusted import block_lines, neutralised
from pipelines.core.verdict import run_status
from pipelines.stages.candidate import SUMMARY, CandidateRun, ModelOutcome
from pipelines.stages.context import StageContext

SPEC_PATH = re.compile(r"models/([a-z0-9][a-z0-9_-]{0,63})\.yaml")  # a training spec a PR adds

REPORT = "candidate.json"
SHOWN_PROBLEMS = 50  # a forged summary may hold thousands; the count says how many more
M = TypeVar("M", bound=BaseModel)


class PostResult(BaseModel):
    """What was posted where."""

    pr: str
    sha: str | None
    comments: list[str]
    status: str


@dataclass(frozen=True)
class Comment:
    """One comment to post, rendered by mlpin, and the outcome it derives."""

    model: str  # "" for the PR-level comment
    outcome: str
    marker: str
    body: str


def post_run(ctx: StageContext, out_dir: Path, *, expect_sha: str | None = None) -> PostResult:
    """Check the whole run, then upsert each outcome's comment and set the commit status."""
    run, comments = plan(ctx, out_dir, expect_sha=expect_sha)
    forge = ctx.forge
    if run.sha:
        forge.check_pr_head(run.pr, run.sha)
    urls = [forge.upsert_comment(run.pr, c.marker, c.body).url for c in comments]
    for marker, body in superseded(run, comments, existing=forge.comment_markers(run.pr)).items():
        urls.append(forge.upsert_comment(run.pr, marker, body).url)
    state, description = run_status((c.model, c.outcome) for c in comments)
    if run.sha:
        for model, (model_state, said) in model_statuses(comments).items():
            forge.set_status(run.sha, context=status_context("candidate", model), state=model_state, description=said)
        forge.set_status(run.sha, context=STATUS_CONTEXT, state=state, description=description)
    return PostResult(pr=run.pr, sha=run.sha, comments=urls, status=state)


def model_statuses(comments: list[Comment]) -> dict[str, tuple[StatusState, str]]:
    """Each model's own commit status, derived from its outcome alone, so a blocked model
    shows as failed whatever the others did; the PR-level outcome has none (the rollup says it)."""
    return {c.model: _state(run_status([(c.model, c.outcome)])) for c in comments if c.model}


def _state(status: tuple[str, str]) -> tuple[StatusState, str]:
    state, description = status
    return cast(StatusState, state), description


def plan(ctx: StageContext, out_dir: Path, *, expect_sha: str | None) -> tuple[CandidateRun, list[Comment]]:
    """The validated run and the comments mlpin renders for it; raises InvalidInput listing
    every problem found, before anything is written."""
    problems: list[Problem] = []
    if expect_sha is not None and not expect_sha.strip():
        problems.append(Problem("--expect-sha", "is empty; pass the trusted event's head commit or leave it out"))
    run = _load(out_dir / SUMMARY, CandidateRun, problems)
    if run is None:
        _refuse(out_dir, problems)
    if expect_sha and run.sha != expect_sha:
        problems.append(Problem(f"{SUMMARY}: sha", f"reports on commit {run.sha}, but this workflow run is for "
                                                   f"{expect_sha}"))
    problems += _shape(run.outcomes)
    known = _known_models(ctx, run.pr, run.outcomes, problems)
    comments = [c for o in run.outcomes if (c := _comment(out_dir, run, o, known=known, problems=problems))]
    if problems:
        _refuse(out_dir, problems)
    return run, comments


def superseded(run: CandidateRun, comments: list[Comment], *, existing: list[str]) -> dict[str, str]:
    """A replacement for each candidate comment of an earlier push that this run does not post
    again (a "not evaluated" error once the model evaluates, a model the PR no longer affects),
    so no stale verdict stays on the PR. Rewriting one is a no-op when its body is unchanged."""
    posted = {c.marker for c in comments}
    assessed = [c.model for c in comments if c.model]
    loaded = not any(c.marker == NO_MODEL_MARKER and c.outcome == "error" for c in comments)
    stale = [m for m in dict.fromkeys(existing) if CANDIDATE_MARKER.fullmatch(m) and m not in posted]
    return {m: render_superseded(m, sha=run.sha, assessed=assessed, loaded=loaded) for m in stale}


def _shape(outcomes: list[ModelOutcome]) -> list[Problem]:
    """What `mlpin candidate` never writes: no outcome, a marker twice, a PR-level outcome
    beside model outcomes or with a verdict, a marker that is not the model's."""
    problems = []
    if not outcomes:
        problems.append(Problem(f"{SUMMARY}: outcomes", "is empty"))
    markers = [o.marker for o in outcomes]
    for marker in sorted({m for m in markers if markers.count(m) > 1}):
        problems.append(Problem(f"{SUMMARY}: outcomes", f"{marker} appears more than once"))
    pr_level = [o for o in outcomes if not o.model]
    if pr_level and (len(outcomes) > 1 or pr_level[0].outcome == "blocked"):
        problems.append(Problem(f"{SUMMARY}: outcomes", "a PR-level outcome is either alone and passed or error"))
    for o in outcomes:
        expected = candidate_marker(o.model) if o.model else NO_MODEL_MARKER
        if o.marker != expected:
            problems.append(Problem(f"{SUMMARY}: outcomes", f"{o.model or 'the PR'} has marker {o.marker!r}, "
                                                            f"not {expected!r}"))
    return problems


def _known_models(ctx: StageContext, pr: str, outcomes: list[ModelOutcome],
                  problems: list[Problem]) -> Collection[str]:
    """The models of the checkout this runs in, and the specs the PR itself adds as the forge
    lists its files (a PR that adds a model gets its report; the PR's code cannot add names).
    Read only when the run names a model (a PR-level error needs none)."""
    if not any(o.model for o in outcomes):
        return ()
    known = set(ctx.workspace.specs)
    if any(o.model and o.model not in known for o in outcomes):
        known |= _specs_added(ctx.forge.pull_files(pr))
    for o in outcomes:
        if o.model and o.model not in known:
            problems.append(Problem(f"{SUMMARY}: outcomes", f"model {o.model!r} is not defined on this branch "
                                                            f"(known: {', '.join(sorted(known)) or 'none'})"))
    return known


def _specs_added(paths: list[str]) -> set[str]:
    return {m.group(1) for p in paths if (m := SPEC_PATH.fullmatch(p)) and m.group(1) not in RESERVED_MODEL_FILES}


def _comment(out_dir: Path, run: CandidateRun, o: ModelOutcome, *, known: Collection[str],
             problems: list[Problem]) -> Comment | None:
    if o.model and o.model not in known:
        return None
    subject = o.model or "committed files"
    written = f"{o.model}/candidate.md" if o.model else "pr.md"
    pointer = f"the whole text is `{written}` in this workflow run's artifact `{out_dir.name}`"
    if o.outcome == "error":
        body = render_error(subject, o.marker, lines=block_lines(o.lines or [o.headline]), kind=o.kind)
        return Comment(o.model, "error", o.marker, cap_body(body, pointer=pointer))
    if not o.model:
        return Comment("", "passed", o.marker, render_no_models(len(run.changed)))
    report = _load(out_dir / o.model / REPORT, CandidateReport, problems)
    if report is None:
        return None
    if report.model != o.model:
        problems.append(Problem(f"{o.model}/{REPORT}: model", f"is {report.model!r}, not {o.model!r}"))
        return None
    decision = decide(report.decision.gates)  # the outcome follows from the gates, whatever the files claim
    body = render_candidate(neutralised(report.model_copy(update={"decision": decision})))
    pointer = f"the whole report is `{o.model}/{REPORT}` in this workflow run's artifact `{out_dir.name}`"
    return Comment(o.model, decision.outcome, o.marker, cap_body(body, pointer=pointer))


def _load(path: Path, model: type[M], problems: list[Problem]) -> M | None:
    """`path` parsed as `model`, or None with the reason added to `problems`."""
    where = f"{path.parent.name}/{path.name}" if path.name == REPORT else path.name
    try:
        return model.model_validate_json(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        problems.append(Problem(where, "does not exist; run mlpin candidate --out DIR first"))
    except OSError as exc:
        problems.append(Problem(where, f"cannot be read: {exc.strerror or exc}"))
    except UnicodeDecodeError as exc:
        problems.append(Problem(where, f"is not UTF-8 text (byte {exc.start})"))
    except ValidationError as exc:
        problems += [Problem(f"{where}: {'.'.join(map(str, e['loc'])) or '(file)'}", e["msg"]) for e in exc.errors()]
    return None


def _refuse(out_dir: Path, problems: list[Problem]) -> NoReturn:
    count = len(problems)
    shown = problems[:SHOWN_PROBLEMS]
    if count > SHOWN_PROBLEMS:
        shown.append(Problem("…", f"and {count - SHOWN_PROBLEMS} more"))
    more = f" (and {count - 1} more problem{'s' if count != 2 else ''})" if count > 1 else ""
    raise InvalidInput(f"{out_dir}: refusing to post anything: {problems[0]}{more}", problems=shown)
