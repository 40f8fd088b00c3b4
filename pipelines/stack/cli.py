"""`python -m pipelines.stack up [--replicas N] | down | status` (what `scripts/stack` runs).

Prints URLs and the `export` lines to use the stack; secrets appear only as the path of
the file that holds them (`"$(cat ...)"`), never as values. Exit codes: 0 done (status:
everything recorded runs), 1 the stack failed (the message says what to do), 3 status
found a recorded process down.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from pipelines.argtypes import whole_number
from pipelines.stack import users
from pipelines.stack.credentials import secret_path
from pipelines.stack.settings import MAX_REPLICAS, StackError, load_settings
from pipelines.stack.stack import Stack, down, status, up


def _repo(given: str | None) -> Path:
    if given or os.environ.get("MLPIN_REPO"):
        return Path(given or os.environ["MLPIN_REPO"]).resolve()
    from pipelines.adapters.git import toplevel

    return toplevel(Path.cwd()) or Path.cwd()


def _stack(args: argparse.Namespace) -> Stack:
    settings = load_settings()
    repo = _repo(args.repo)
    folder = settings.dir if settings.dir.is_absolute() else repo / settings.dir
    return Stack(stack_dir=folder.resolve(), repo=repo, settings=settings)


def exports(stack: Stack, *, tracking_url: str, replica_urls: list[str]) -> list[str]:
    """The shell lines that point mlpin at the stack: the writer for trusted jobs, the PR jobs' user in a
    comment (serving's user is the replicas' alone, so it is not shown)."""
    def cat(name: str) -> str:
        return f'"$(cat {shlex.quote(str(secret_path(stack.stack_dir, name)))})"'

    lines = ["# trusted jobs (propose, deploy, drift check): the writer",
             f"export MLFLOW_TRACKING_URI={tracking_url}",
             f"export MLFLOW_TRACKING_USERNAME={users.WRITER.user}",
             f"export MLFLOW_TRACKING_PASSWORD={cat(users.WRITER.user + '.password')}"]
    if replica_urls:  # deploy calls every replica; `mlpin replicas` asks the same list
        hooks = ",".join(f"{url}/webhook" for url in replica_urls)
        lines += [f"export MLPIN_DEPLOY_WEBHOOK_URL={hooks}", f"export MLPIN_WEBHOOK_SECRET={cat('webhook.secret')}"]
    lines += ["# pull-request jobs (candidate, verify): their own read-only user instead",
              f"#   export MLFLOW_TRACKING_USERNAME={users.PR.user}",
              f"#   export MLFLOW_TRACKING_PASSWORD={cat(users.PR.user + '.password')}"]
    return lines


def _print_processes(stack: Stack) -> bool:
    everything_up = True
    for record, running, models in status(stack):
        everything_up &= running
        print(f"  {record.name:<10} {'up' if running else 'DOWN':<4} {record.url}  (pid {record.pid}, log "
              f"{record.log_path})")
        for model, line in models.items():
            print(f"      {model}: {line}")
    return everything_up


def _up(args: argparse.Namespace) -> int:
    stack = _stack(args)
    count = stack.settings.replicas if args.replicas is None else args.replicas
    state, started = up(stack, replica_count=count)
    print(f"stack {'started: ' + ', '.join(started) if started else 'already up'} ({stack.stack_dir})")
    _print_processes(stack)
    print()
    print("\n".join(exports(stack, tracking_url=state.find("mlflow").url,
                            replica_urls=[r.url for r in state.replicas()])))
    return 0


def _down(args: argparse.Namespace) -> int:
    stack = _stack(args)
    stopped = down(stack)
    for name, was_running in stopped:
        print(f"  {name:<10} {'stopped' if was_running else 'was not running'}")
    print("stack down" if stopped else "nothing was started here")
    return 0


def _status(args: argparse.Namespace) -> int:
    stack = _stack(args)
    print(f"stack in {stack.stack_dir}")
    return 0 if _print_processes(stack) else 3


replica_count = whole_number(0, MAX_REPLICAS)  # `--replicas`: within the settings' bounds


def main(argv: list[str] | None = None) -> int:
    """Parse, run one subcommand, map StackError to a one-line message and exit code 1."""
    parser = argparse.ArgumentParser(prog="scripts/stack", description="The team stack on 127.0.0.1.")
    parser.add_argument("--repo", help="the repository the replicas follow (default: this git work tree)")
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("up", help="start PostgreSQL, MLflow and the replicas (what is not running)")
    start.add_argument("--replicas", type=replica_count, default=None, metavar="N",
                       help=f"serving replicas, 0 to {MAX_REPLICAS} (default MLPIN_STACK_REPLICAS, 2)")
    commands.add_parser("down", help="stop what `up` started, by pid")
    commands.add_parser("status", help="each process, up or down; each replica's live versions")
    args = parser.parse_args(argv)
    try:
        return {"up": _up, "down": _down, "status": _status}[args.command](args)
    except StackError as exc:
        print(f"stack: {exc}", file=sys.stderr)
        return 1
