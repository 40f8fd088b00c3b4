"""The `mlpin` command. Thin: parse arguments, build the stage context, call one stage,
print its result.

This is the only place outcomes become exit codes (EXIT_CODES): 0 done, 1 a bug,
2 invalid input (a person must fix something), 3 an outside system failed (retry
later), 4 a candidate was blocked by its policy. With `--json`, errors are JSON too.
Stages are imported inside handlers so `mlpin --help` stays fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from pipelines import __version__
from pipelines.collector import tune_for_command
from pipelines.core.errors import MlpinError
from pipelines.core.outcome import Kind, worst

EXIT_CODES = {Kind.DONE: 0, Kind.BUG: 1, Kind.INVALID_INPUT: 2, Kind.OUTSIDE_SYSTEM: 3, Kind.BLOCKED: 4}


def _root(args: argparse.Namespace) -> Path:
    if args.repo:
        return Path(args.repo).resolve()
    if os.environ.get("MLPIN_REPO"):
        return Path(os.environ["MLPIN_REPO"]).resolve()
    from pipelines.adapters.git import toplevel

    return toplevel(Path.cwd()) or Path.cwd()


def _context(args: argparse.Namespace, **given: Any):
    """The one StageContext of this command (registry and forge built on first use)."""
    from pipelines.progress import SILENT, to_stderr
    from pipelines.stages.context import StageContext

    return StageContext(_root(args), progress=SILENT if args.quiet else to_stderr(), **given)


def _local_context(args: argparse.Namespace):
    """A context whose forge is the local one, whatever the environment says."""
    from pipelines.adapters.forge import local_forge

    root = _root(args)
    return _context(args, forge=local_forge(root))


def _validate(args: argparse.Namespace) -> tuple[Any, str]:
    from pipelines.console import render_validation
    from pipelines.stages.validate import validate

    report = validate(_context(args))
    return report, render_validation(report)


def _train(args: argparse.Namespace) -> tuple[Any, str]:
    from pipelines.console import render_train
    from pipelines.stages.train import train

    result = train(_context(args), args.model)
    return result, render_train(result)


def _evaluate(args: argparse.Namespace) -> tuple[Any, str]:
    from pipelines.console import render_evaluation
    from pipelines.stages.evaluate import evaluate

    result = evaluate(_context(args), args.model, version=args.version)
    return result, render_evaluation(result)


def _candidate(args: argparse.Namespace) -> tuple[Any, str]:
    from pipelines.adapters import git
    from pipelines.adapters.forge import pr_from_environment
    from pipelines.console import render_candidate_run
    from pipelines.stages.candidate import candidate
    from pipelines.stages.post import post_run

    ctx = _context(args)
    pr = args.pr or pr_from_environment() or _local_pr(ctx.root) or git.current_branch(ctx.root) or "local"
    out_dir = Path(args.out).resolve() if args.out else ctx.root / ".mlpin" / "candidate"
    run = candidate(ctx, base=args.base, pr=pr, out_dir=out_dir, sha=args.sha)
    if not args.no_post:
        post_run(ctx, out_dir)
    return run, render_candidate_run(run, posted=not args.no_post)


def _local_pr(root: Path) -> str | None:
    """The local forge's open PR from the checked-out branch (embedded default only)."""
    from pipelines.adapters import git
    from pipelines.adapters.forge import local_forge

    if os.environ.get("GITHUB_TOKEN"):
        return None
    branch = git.current_branch(root)
    pull = local_forge(root).pull_for_branch(branch) if branch else None
    return str(pull.number) if pull else None


def _propose(args: argparse.Namespace) -> tuple[Any, str]:
    from pipelines.console import render_proposals
    from pipelines.stages.propose import propose

    run = propose(_context(args), before=args.before, base_branch=args.base_branch)
    return run, render_proposals(run)


def _deploy(args: argparse.Namespace) -> tuple[Any, str]:
    from pipelines.console import render_deploy
    from pipelines.stages.deploy import deploy

    run = deploy(_context(args))
    return run, render_deploy(run)


def _seconds(text: str) -> float:
    """A positive number of seconds (argparse shows the message); 0 or less would time out every replica."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} is not a positive number of seconds")
    return value


def _replicas(args: argparse.Namespace) -> tuple[Any, str]:
    from pipelines.console import render_replicas
    from pipelines.stages.replicas import replicas

    run = replicas(_context(args), urls=args.url or [], timeout_s=args.timeout)
    return run, render_replicas(run)


def _rollback(args: argparse.Namespace) -> tuple[Any, str]:
    from pipelines.console import render_rollback
    from pipelines.stages.rollback import rollback

    result = rollback(_context(args), args.model, to=args.to, base_branch=args.base_branch)
    return result, render_rollback(result)


def _drift_check(args: argparse.Namespace) -> tuple[Any, str]:
    from pipelines.console import render_drift
    from pipelines.core.history import parse_time
    from pipelines.stages.driftcheck import drift_check, parse_window

    ctx = _context(args)
    out = Path(args.out) if args.out else ctx.root / ".mlpin" / "drift"
    run = drift_check(ctx, model=args.model, logs=args.logs, window=parse_window(args.window) if args.window else None,
                      since=parse_time(args.since) if args.since else None, out_dir=out, issues=not args.no_issues)
    return run, render_drift(run)


def _prepare_retrain(args: argparse.Namespace) -> tuple[Any, str]:
    from pipelines.console import render_retrain
    from pipelines.stages.retrain import prepare_retrain

    result = prepare_retrain(_context(args), model=args.model, labeled=Path(args.labeled), logs=args.logs,
                             branch=args.branch, holdout_share=args.holdout_share, seed=args.seed)
    return result, render_retrain(result)


def _history(args: argparse.Namespace) -> tuple[Any, str]:
    from pipelines.console import render_history
    from pipelines.core.history import parse_time
    from pipelines.stages.history import history

    result = history(_context(args), args.model, at=parse_time(args.at) if args.at else None, logs=args.logs)
    return result, render_history(result)


def _forge_open(args: argparse.Namespace) -> tuple[Any, str]:
    ctx = _local_context(args)
    ref = ctx.forge.open_pull(head=args.head, base=args.base, title=args.title or args.head, body=args.body or "")
    return ref, f"PR #{ref.number} {args.head} -> {args.base} ({'opened' if ref.created else 'already open'})"


def _forge_merge(args: argparse.Namespace) -> tuple[Any, str]:
    from pipelines.stages.merge import merge_pull

    result = merge_pull(_local_context(args), args.pr)
    where = ", pushed to origin" if result.pushed else f"; kept local: {result.kept_local}" if result.kept_local else ""
    return (
        result,
        f"merged PR #{result.pr} ({result.head} -> {result.base}) as {result.merge_commit[:12]}, "
        f"approved by {result.approver}{where}",
    )


def _post(args: argparse.Namespace) -> tuple[Any, str]:
    from pipelines.console import render_post
    from pipelines.stages.post import post_run

    result = post_run(_context(args), Path(args.source).resolve(), expect_sha=args.expect_sha)
    return result, render_post(result)


def _verify(args: argparse.Namespace) -> tuple[Any, str]:
    from pipelines.console import render_verify
    from pipelines.core.errors import InvalidInput, Problem
    from pipelines.stages.verify import verify

    report = verify(_context(args), base=args.base)
    if not report.ok:
        count = len(report.problems)
        raise InvalidInput(f"verify failed: {count} problem{'s' if count != 1 else ''} ({'; '.join(report.changes)})",
                           problems=[Problem("", p) for p in report.problems])
    return report, render_verify(report)


def _forge_show(args: argparse.Namespace) -> tuple[Any, str]:
    from pipelines.console import render_forge

    forge = _local_context(args).forge
    if args.issue:
        from pipelines.console import render_issue

        return forge.issue(args.issue), render_issue(forge, args.issue)
    prs = [args.pr] if args.pr else forge.prs()
    return forge.snapshot(prs), render_forge(forge, prs)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; subcommands in data-path order."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--repo", help="repository root (default: the git work tree of the current folder)")
    common.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    common.add_argument("--quiet", "-q", action="store_true", help="no progress lines on stderr")
    parser = argparse.ArgumentParser(prog="mlpin", description="Git as the control plane of a model's lifecycle.")
    parser.add_argument("--version", action="version", version=f"mlpin {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    cmd = sub.add_parser("validate", parents=[common], help="check every committed file, data digest and contract")
    cmd.set_defaults(handler=_validate)
    cmd = sub.add_parser("train", parents=[common], help="train, score and register a model")
    cmd.add_argument("model", help="a model name: models/<model>.yaml")
    cmd.set_defaults(handler=_train)
    cmd = sub.add_parser(
        "evaluate", parents=[common], help="score a candidate and production on the same held-out rows"
    )
    cmd.add_argument("model", help="a model name: models/<model>.yaml")
    cmd.add_argument(
        "--version", type=int, dest="version", help="registered version (default: newest trained from the current spec)"
    )
    cmd.set_defaults(handler=_evaluate)
    cmd = sub.add_parser(
        "candidate", parents=[common], help="train and judge every model a change affects; report on the PR"
    )
    cmd.add_argument("--base", required=True, help="the ref the change is compared with, e.g. origin/main")
    cmd.add_argument("--pr", help="PR number (default: from GitHub Actions, else the current branch name)")
    cmd.add_argument("--out", help="output folder (default: .mlpin/candidate)")
    cmd.add_argument("--sha", help="commit to set the status on (default: HEAD; in Actions pass the PR head)")
    cmd.add_argument(
        "--no-post", action="store_true", help="only write the reports; post them later with mlpin report post"
    )
    cmd.set_defaults(handler=_candidate)
    cmd = sub.add_parser(
        "propose",
        parents=[common],
        help="after a merge: rebuild, register and judge each changed model's candidate; keep its promotion PR "
             "in step with main",
    )
    cmd.add_argument(
        "--before", help="the commit before the push, only to say why a model changed (every model is checked; "
                         "default: HEAD's first parent; in Actions: github.event.before)"
    )
    cmd.add_argument("--base-branch", help="the branch promotion PRs merge into (default: the checked-out branch)")
    cmd.set_defaults(handler=_propose)
    cmd = sub.add_parser(
        "verify", parents=[common], help="the required check on a PR that changes models/production.yaml"
    )
    cmd.add_argument("--base", required=True, help="the ref the PR merges into, e.g. origin/main")
    cmd.set_defaults(handler=_verify)
    cmd = sub.add_parser(
        "deploy",
        parents=[common],
        help="after a pin change lands: MLflow alias 'production' mirrors the pin; record the deployment",
    )
    cmd.set_defaults(handler=_deploy)
    cmd = sub.add_parser(
        "replicas", parents=[common],
        help="ask every serving replica what it serves; exit 0 once all serve the checked-out pin",
    )
    cmd.add_argument("--url", action="append", metavar="URL",
                     help="a replica's base URL, e.g. http://serving-0:8080; once per replica (default: "
                          "$MLPIN_SERVING_URLS, else $MLPIN_DEPLOY_WEBHOOK_URL without its /webhook)")
    cmd.add_argument("--timeout", type=_seconds, default=5.0, help="seconds to wait for each replica (default: 5)")
    cmd.set_defaults(handler=_replicas)
    cmd = sub.add_parser("rollback", parents=[common], help="open a PR that git-reverts a model's last pin change")
    cmd.add_argument("model", help="a pinned model")
    cmd.add_argument("--to", type=int, help="revert every change since this version was pinned")
    cmd.add_argument("--base-branch", help="the branch the PR merges into (default: the checked-out branch)")
    cmd.set_defaults(handler=_rollback)
    cmd = sub.add_parser("history", parents=[common], help="what was in production, when, by which PR and approver")
    cmd.add_argument("model", help="a model name")
    cmd.add_argument("--at", help="ISO 8601 time: what was pinned, deployed (and with --logs, answering) then")
    cmd.add_argument("--logs", metavar="URI",
                     help="serving's prediction log (a folder or fsspec URI): which version answered around --at")
    cmd.set_defaults(handler=_history)
    drift = sub.add_parser("drift", help="drift of production's logged inputs")
    drift_sub = drift.add_subparsers(dest="drift_command", required=True, metavar="COMMAND")
    cmd = drift_sub.add_parser(
        "check", parents=[common],
        help="compare each pinned model's logged inputs with its training data; keep one issue per model",
    )
    cmd.add_argument("--model", help="only this model (default: every pinned model)")
    cmd.add_argument("--logs", metavar="URI",
                     help="serving's prediction log, a folder or fsspec URI (default: $MLPIN_LOG_URI, else "
                          ".mlpin/predictions)")
    when = cmd.add_mutually_exclusive_group()
    when.add_argument("--window", help="how far back from now, e.g. 7d, 36h, 90m (default: the policy's window_hours)")
    when.add_argument("--since", help="ISO 8601 start of the window (times without an offset are UTC)")
    cmd.add_argument("--out", help="report folder (default: .mlpin/drift)")
    cmd.add_argument("--no-issues", action="store_true", help="only report; open, comment on or close no issue")
    cmd.set_defaults(handler=_drift_check)
    cmd = drift_sub.add_parser(
        "prepare-retrain", parents=[common],
        help="a branch that retrains a model on labelled production rows, with a drift holdout",
    )
    cmd.add_argument("--model", required=True, help="the model to retrain")
    cmd.add_argument("--labeled", required=True, metavar="FILE",
                     help="CSV of labelled production rows: full rows (features + target), or request_id,label "
                          "(or request_id,row,label) joined to the logged inputs")
    cmd.add_argument("--logs", metavar="URI",
                     help="serving's prediction log for request ids (default: $MLPIN_LOG_URI, else .mlpin/predictions)")
    cmd.add_argument("--branch", help="the new branch (default: retrain/<model>-<yyyymmdd>); never an existing one")
    cmd.add_argument("--holdout-share", type=float, default=0.3,
                     help="share of the labelled rows held out of training as the drift holdout (default: 0.3)")
    cmd.add_argument("--seed", type=int, help="seed of the holdout split (default: the spec's split seed)")
    cmd.set_defaults(handler=_prepare_retrain)
    report = sub.add_parser("report", help="post reports written by an earlier command")
    report_sub = report.add_subparsers(dest="report_command", required=True, metavar="COMMAND")
    cmd = report_sub.add_parser(
        "post", parents=[common], help="post a candidate run's comments and status (the workflow_run half)"
    )
    cmd.add_argument("--from", dest="source", required=True, help="the folder mlpin candidate --out wrote")
    cmd.add_argument(
        "--expect-sha", help="refuse unless the reports are for this commit (the trusted event's head sha)"
    )
    cmd.set_defaults(handler=_post)
    forge = sub.add_parser("forge", help="the local forge of the embedded default")
    forge_sub = forge.add_subparsers(dest="forge_command", required=True, metavar="COMMAND")
    cmd = forge_sub.add_parser(
        "show", parents=[common], help="print PRs, comments, statuses, deployments and issues kept under .mlpin/forge"
    )
    which = cmd.add_mutually_exclusive_group()
    which.add_argument("--pr", help="only this PR")
    which.add_argument("--issue", help="only this issue, with its comments")
    cmd.set_defaults(handler=_forge_show)
    cmd = forge_sub.add_parser("open", parents=[common], help="open a pull request from a local branch")
    cmd.add_argument("head", help="the branch with the change")
    cmd.add_argument("--base", default="main", help="the branch it merges into (default: main)")
    cmd.add_argument("--title", help="title (default: the branch name)")
    cmd.add_argument("--body", help="description")
    cmd.set_defaults(handler=_forge_open)
    cmd = forge_sub.add_parser("merge", parents=[common], help="merge a pull request (you are the approver)")
    cmd.add_argument("pr", help="the PR number")
    cmd.set_defaults(handler=_forge_merge)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the exit code."""
    tune_for_command()
    args = build_parser().parse_args(argv)
    _exit_cleanly_on_sigterm()
    try:
        result, text = args.handler(args)
    except MlpinError as exc:
        _report_error(exc, as_json=args.json)
        return EXIT_CODES[exc.kind]
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - a bug still answers in the promised format
        _report_bug(exc, as_json=args.json)
        return EXIT_CODES[Kind.BUG]
    print(json.dumps(_as_json(result), indent=2, sort_keys=True) if args.json else text)
    return EXIT_CODES[_result_kind(result)]


def _exit_cleanly_on_sigterm() -> None:
    """A cancelled CI job sends SIGTERM: exit through Python (finally blocks, atexit), so
    git processes mlpin started in their own sessions are ended too, not orphaned."""
    import signal
    import threading

    def terminated(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, terminated)


def _as_json(result: Any) -> Any:
    import dataclasses

    return dataclasses.asdict(result) if dataclasses.is_dataclass(result) else result.model_dump(mode="json")


def _result_kind(result: Any) -> Kind:
    """A finished command's kind: its most serious model's (a blocked candidate is an
    outcome, not a crash, and still has its own exit code)."""
    return worst(o.kind for o in getattr(result, "outcomes", None) or [])


def _report_error(exc: MlpinError, *, as_json: bool) -> None:
    lines = exc.lines()
    print(f"mlpin: error: {lines[0]}", *lines[1:], sep="\n", file=sys.stderr)
    if as_json:
        problems = [{"location": p.location, "message": p.message} for p in exc.all_problems()]
        payload = {"kind": exc.kind.value, "exit_code": EXIT_CODES[exc.kind], "type": type(exc).__name__,
                   "message": exc.message, "lines": lines, "problems": problems, "ids": exc.ids}
        print(json.dumps({"error": payload}, indent=2, sort_keys=True))


def _report_bug(exc: Exception, *, as_json: bool) -> None:
    import traceback

    traceback.print_exception(exc, file=sys.stderr)
    message = f"{type(exc).__name__}: {exc}"
    print(f"mlpin: bug: {message} (the traceback is above; please report it)", file=sys.stderr)
    if as_json:
        payload = {"kind": Kind.BUG.value, "exit_code": EXIT_CODES[Kind.BUG], "type": type(exc).__name__,
                   "message": message, "lines": [message], "problems": [], "ids": {}}
        print(json.dumps({"error": payload}, indent=2, sort_keys=True))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
