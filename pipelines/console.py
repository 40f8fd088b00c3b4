"""Human-readable CLI output for stage results. Plain text, aligned, no colour codes."""

from __future__ import annotations

import unicodedata

from pipelines.core.stage_results import EvaluationResult, TrainResult


def printable(text: object) -> str:
    """`text` safe for a terminal: written by others (a forge, a log), so control and format
    characters (escape sequences, bidi overrides) are stripped, whitespace ones made spaces."""
    return "".join(" " if c in "\t\n\r" else c for c in str(text)
                   if c in "\t\n\r" or unicodedata.category(c) not in ("Cc", "Cf"))


def _short(digest: str | None) -> str:
    return (digest or "none")[:12]


def _metric_lines(metrics: dict[str, float]) -> list[str]:
    return [f"  {name:<20} {value:.4f}" for name, value in sorted(metrics.items())]


def render_train(result: TrainResult) -> str:
    """Registered version, metrics, lineage and where to look."""
    commit = _short(result.git_commit) + (" (dirty)" if result.git_dirty else "")
    lines = [
        f"trained {result.model} v{result.version}: {result.estimator} on {result.train_rows} rows, "
        f"scored on {result.eval_rows} held-out rows",
        *_metric_lines(result.metrics),
        f"  {'run':<20} {result.run_id}",
        f"  {'artifact sha256':<20} {_short(result.artifact_sha256)}",
        f"  {'spec hash':<20} {_short(result.spec_hash)}",
        f"  {'data sha256':<20} {_short(result.data_sha256)}",
        f"  {'git commit':<20} {commit}",
        f"  {'result':<20} {result.result_path}",
        f"  {'mlflow':<20} {result.tracking_uri}",
    ]
    return "\n".join(lines)


def render_evaluation(result: EvaluationResult) -> str:
    """Candidate vs production per metric, with delta and direction."""
    prod = f"prod v{result.production.version}" if result.production else "production"
    head = f"  {'metric':<20} {'cand v' + str(result.candidate.version):>12} {prod:>12} {'delta':>10}"
    lines = [f"evaluated {result.model} on {result.eval_rows} held-out rows", head]
    for row in result.comparison:
        other = "-" if row.production is None else f"{row.production:.4f}"
        delta = "-" if row.delta is None else f"{row.delta:+.4f}"
        verdict = {True: "better", False: "worse", None: ""}[row.better]
        lines.append(f"  {row.metric:<20} {row.candidate:>12.4f} {other:>12} {delta:>10}  {verdict}".rstrip())
    lines += [f"  {result.production_note}", f"  {'result':<20} {result.result_path}"]
    return "\n".join(lines)


def render_validation(report) -> str:
    """What was checked."""
    data = ", ".join(f"{name} ({rows} rows)" for name, rows in report.datasets.items()) or "none"
    return "\n".join([
        "all committed files are valid",
        f"  models:   {', '.join(report.models) or 'none'}",
        f"  data:     {data}",
        f"  policies: {', '.join(report.policies) or 'none'}",
        f"  pinned:   {', '.join(report.pinned) or 'none'}",
    ])


def render_candidate_run(run, *, posted: bool) -> str:
    """One line per affected model, then where the files are."""
    icons = {"passed": "passed ", "blocked": "BLOCKED", "error": "ERROR  "}
    lines = [f"candidate report for PR {run.pr} (commit {(run.sha or 'none')[:12]}, base {run.base})"]
    for o in run.outcomes:
        name = o.model or "(pull request)"
        lines.append(f"  {icons[o.outcome]} {name}: {o.headline}")
    where = "posted" if posted else "not posted (mlpin report post --from DIR)"
    lines += [f"  status mlpin/candidate: {run.status} ({where})", f"  files: {run.out_dir}"]
    return "\n".join(lines)


def render_forge(forge, prs: list[str]) -> str:
    """Every comment of the given PRs of the local forge, then every commit status,
    deployment and issue."""
    out = []
    pulls = {str(p.number): p for p in forge.pulls()}
    for pr in prs:
        if pr in pulls:
            pull = pulls[pr]
            merged = f" by {pull.merged_by} as {pull.merge_commit[:12]}" if pull.state == "merged" else ""
            out += [f"==== PR #{pr} {pull.head} -> {pull.base} [{pull.state}{merged}]: {pull.title}", pull.body]
        for path in forge.comments(pr):
            author = forge.comment_author(path) or "unrecorded"
            out += [f"==== PR {pr}, comment {path.stem} by {author} ({path})", path.read_text(encoding="utf-8")]
    statuses = forge.all_statuses()
    if statuses:
        out.append("==== commit statuses")
        for sha, contexts in statuses.items():
            out += [f"  {sha[:12]} {ctx}: {s['state']} - {printable(s['description'])}"
                    for ctx, s in sorted(contexts.items())]
    from pipelines.adapters.forge import ENVIRONMENT

    deployments = forge.deployments(ENVIRONMENT)
    if deployments:
        out.append("==== deployments (newest first)")
        out += [f"  #{d.id} {d.sha[:12]} {d.environment} {d.state} at {d.created_at}: {printable(d.description)}"
                for d in deployments]
    out += _issue_lines(forge)
    return "\n".join(out) or "the local forge has no pull requests, comments, statuses or issues yet"


def render_issue(forge, number: str) -> str:
    """One issue of the local forge: its body, then every comment."""
    issue = forge.issue(number)
    out = [f"==== issue #{issue.number} [{issue.state}]: {printable(issue.title)}", issue.body]
    for path in forge.issue_comment_files(str(issue.number)):
        out += [f"==== issue #{issue.number}, comment {path.stem}", path.read_text(encoding="utf-8")]
    return "\n".join(out)


def _issue_lines(forge) -> list[str]:
    """One line per issue of the local forge: number, state, title, author, labels, comments."""
    issues = forge.issues()
    if not issues:
        return []
    lines = ["==== issues"]
    for issue in issues:
        count = len(forge.issue_comment_files(str(issue.number)))
        labels = ", ".join(printable(label) for label in issue.labels) or "none"
        lines.append(f"  #{issue.number} [{issue.state}] {printable(issue.title)} (by {printable(issue.author)}; "
                     f"labels: {labels}; {count} comment{'' if count == 1 else 's'})")
    return lines


def render_outcomes(title: str, lines: list[str], *, empty: str) -> str:
    """A title, then one line per model (or `empty`)."""
    return "\n".join(
        [title, *(f"  {line}" for line in lines)] if lines else [title, f"  {empty}"] if empty else [title]
    )


def render_history(result) -> str:
    """A model's production timeline, newest last, with what deploy runs made of each pin
    change; then the `--at` answer: pinned, deployed, answered, and where they disagree.
    What others wrote (reasons, approvers, request ids) is printed through `printable`."""
    out = [f"{result.model} in production (models/production.yaml, first-parent history; deployments from the forge):"]
    for e in result.events:
        what = {"pinned": f"v{e.version} pinned", "replaced": f"v{e.previous} -> v{e.version}",
                "edited": f"v{e.version} entry edited", "removed": f"v{e.previous} unpinned"}.get(e.change, e.change)
        via = f"PR #{e.pr}" if e.pr else "no PR"
        first, *later = _deploy_changes(e.deployments) or [(None, "no deployment recorded")]
        shown = first[1] if first[0] is None else (
            f"deployed {first[0].time.isoformat()}" if first[0].at_pin else f"pinned, {first[1]}")
        out.append(printable(f"  {e.time.isoformat()}  {e.commit[:12]}  {what:<16} {via}, "
                             f"approved by {e.approver or 'unknown'}, {shown}"))
        out += [printable(f"  {r.time.isoformat()}  {r.commit[:12]}  then {text}") for r, text in later]
    out += _render_unreadable(result.unreadable_deployments, result.model)
    if result.at is not None:
        out += [printable(line) for line in _render_at(result)]
    return "\n".join(out)


def _render_unreadable(records, model: str) -> list[str]:
    if not records:
        return []
    lines = [f"{len(records)} deployment record(s) could not be read; they say nothing about {model}:"]
    return [*lines, *(printable(f"  #{r.id} {r.commit[:12]} at {r.time.isoformat()}: {'; '.join(r.problems)}")
                      for r in records)]


def _deploy_changes(records) -> list:
    """(record, what it says) for each deploy record that says something new for the model."""
    changes, last = [], None
    for record in records:
        text = _deploy_state(record)
        if text != last:
            changes.append((record, text))
        last = text
    return changes


def _deploy_state(record) -> str:
    if record.at_pin:
        return "deployed"
    if record.state == "suspended":
        return f"suspended, alias at {_version(record.live)}"
    return f"not deployed: {record.reason or record.state}"


def _render_at(result) -> list[str]:
    event, deployed, answered = result.at_event, result.at_deployed, result.at_answered
    pinned = "nothing" if event is None or event.version is None else (
        f"v{event.version} (since {event.commit[:12]}, committed {event.time.isoformat()})")
    lines = [f"at {result.at.isoformat()}:", f"  pinned    {pinned}"]
    if deployed is None:
        lines.append("  deployed  nothing recorded by then")
    else:
        state = "deployed" if deployed.at_pin else (
            f"{_version(deployed.pinned)} {'suspended' if deployed.state == 'suspended' else 'not deployed'}")
        lines.append(f"  deployed  {_version(deployed.live)} (deployment {deployed.id} of {deployed.commit[:12]} "
                     f"at {deployed.time.isoformat()}: {state})")
    if answered is not None:
        lines.append(f"  answered  {_answered(answered, since=result.at_unlogged_since, at=result.at)}")
    lines += [f"  {line}" for line in result.disagreements]
    return lines


def _answered(answered, *, since, at) -> str:
    before, after = answered.before, answered.after
    if since is not None:
        head = f"unknown: no request between {since.isoformat()} (the deployment) and {at.isoformat()}"
        last = f"last before: {before.request_id} at {before.time.isoformat()} by v{before.version}" if before \
            else "none before"
    elif before is not None:
        head, last = f"v{before.version}", f"last request before: {before.request_id} at {before.time.isoformat()}"
    else:
        head, last = "nothing logged before then", "no request"
    first = f"first after: {after.request_id} at {after.time.isoformat()} by v{after.version}" if after \
        else "none after"
    said = f"{head} ({last}; {first})"
    if answered.swapped_between:
        said += f"; serving swapped v{before.version} -> v{after.version} between the two"
    if answered.skipped_lines:
        said += f"; {answered.skipped_lines} unreadable log line(s) skipped"
    return said


def _version(version: int | None) -> str:
    return "nothing" if version is None else f"v{version}"


def render_proposals(run) -> str:
    """What propose did per model, with each promotion PR."""
    lines = [
        f"{o.model}: {o.outcome} - {o.headline}" + (f" (PR {o.pr}: {o.url})" if o.pr else "") for o in run.outcomes
    ]
    return render_outcomes(f"propose on {run.commit[:12]}", lines,
                           empty="no models: nothing to propose")


def render_deploy(run) -> str:
    """What deploy did per model, then the deployment record and the webhook."""
    lines = [f"{m.model}: {m.outcome} - {m.headline}" for m in run.outcomes]
    lines += [f"deployment {run.deployment} ({'recorded' if run.deployment_created else 'already recorded'}: "
              f"{run.deployment_state}), PR {run.pr or 'none'}, approver {run.approver}"]
    lines += [f"webhook {c.url}: {c.result}" if c.url else f"webhook: {c.result}" for c in run.webhooks]
    return render_outcomes(f"deploy {run.commit[:12]} (alias 'production' mirrors the pin)", lines, empty="")


def render_replicas(run) -> str:
    """Per replica its verdict and pin revision, per model desired/live/condition; then `converged: N/M`."""
    lines = [f"serving replicas against {run.reference or 'their own pins (no pin checked out here)'}"]
    for o in run.outcomes:
        revision = f" (pin {o.pin_revision[:12]}, {o.pin_condition})" if o.pin_revision else ""
        lines.append(f"  {o.url}{revision}: {o.headline}")
        lines += [f"    {m.model}: desired {_version(m.desired)}, live {_version(m.live)}, {m.condition} ({m.reason})"
                  + (f", replica's pin {_version(m.replica_desired)}" if m.replica_desired != m.desired else "")
                  + (", suspended" if m.suspended else "") for m in o.models]
    behind = [o.url for o in run.outcomes if not o.converged]
    lines.append(f"converged: {run.converged}/{run.total}" + (f" (not: {', '.join(behind)})" if behind else ""))
    return "\n".join(lines)


def _version(version: int | None) -> str:
    return f"v{version}" if version is not None else "none"


def render_rollback(result) -> str:
    """The rollback PR: which versions, which commits it reverts, where it is."""
    target = f"v{result.to_version}" if result.to_version else "unpinned"
    return "\n".join([
        f"rollback PR {result.pr} ({result.branch}): {result.model} v{result.from_version} -> {target}",
        f"  reverts {', '.join(c[:12] for c in result.reverts)}",
        f"  {result.url}",
    ])


def render_post(result) -> str:
    """The comments posted and the status set."""
    return "\n".join(
        [
            f"posted {len(result.comments)} comment(s) on PR {result.pr}",
            *(f"  {url}" for url in result.comments),
            f"  status mlpin/candidate on {(result.sha or 'none')[:12]}: {result.status}",
        ]
    )


def render_verify(report) -> str:
    """A passing verify: the pin changes it checked, and notes (e.g. a rollback)."""
    return "\n".join([
        "verify passed" if report.changes else "verify passed: the pin does not change",
        *(f"  {c}" for c in report.changes),
        *(f"  note: {n}" for n in report.notes),
    ])


def render_drift(run) -> str:
    """The drift check per model: verdict, rows, issue action and where the report is."""
    lines = []
    for o in run.outcomes:
        line = f"{o.model}: {o.outcome} - {o.headline}"
        if o.issue:
            line += f" (issue {o.issue}: {o.issue_action})"
        lines.append(line + (f"; report {o.report}" if o.report else ""))
    window = f"{run.window_start.isoformat()} to {run.window_end.isoformat()}"
    return render_outcomes(f"drift check of {run.logs}, {window}", lines, empty="no models to check")


def render_retrain(result) -> str:
    """The retraining branch: what it holds, then the next step."""
    return "\n".join([
        f"branch {result.branch} ({result.commit[:12]} on {result.base[:12]}): retrain {result.model}",
        f"  {result.data_path}: {result.old_rows} old rows + {result.train_rows} labelled rows (new dataset "
        f"{result.dataset})",
        f"  {result.holdout_path}: {result.holdout_rows} labelled rows held out (drift_holdout, seed {result.seed})",
        "next:",
        *(f"  {step}" for step in result.next_steps),
    ])
