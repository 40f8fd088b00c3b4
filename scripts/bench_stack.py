"""`mlpin candidate` and `mlpin deploy` on the embedded SQLite store against the team stack's
MLflow server (PostgreSQL, proxied artifacts, basic-auth), side by side.

Needs a running stack (`scripts/stack up`; MLPIN_STACK_DIR if not `.mlpin/stack`). For each
backend: a scratch repository (bench_candidate.py's: breast_cancer_rf trained and pinned on
main, a branch that changes its spec), then `--runs` times, each a fresh process as in CI,
the two backends interleaved run by run:
- `mlpin candidate --base main --no-post` on the branch (on the server as `mlpin-pr`, the
  pull-request jobs' read-only user);
- `mlpin deploy` on main after a commit that pins the other of two versions, so every
  deploy moves the alias and tags a version (as the writer).
Prints the median wall times and the ratio server / SQLite.

Usage: PYTHONPATH=. .venv/bin/python scripts/bench_stack.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import yaml
from _benchrepo import checked, commit, git, mlpin
from bench_candidate import MODEL, scratch_repo

PROJECT = Path(__file__).resolve().parent.parent


def stack_environment() -> dict[str, dict[str, str]]:
    """The server's URL and the reader's and writer's credentials, from the running stack."""
    from pipelines.stack.settings import load_settings
    from pipelines.stack.state import load_state

    folder = load_settings().dir
    folder = folder if folder.is_absolute() else PROJECT / folder
    mlflow = load_state(folder).find("mlflow")
    if mlflow is None:
        raise SystemExit(f"no stack recorded in {folder}: run scripts/stack up first")
    users = {}
    for role, user in (("reader", "mlpin-pr"), ("writer", "mlpin-writer")):  # candidate runs as the PR jobs' user
        password = (folder / "secrets" / f"{user}.password").read_text().strip()
        users[role] = {"MLFLOW_TRACKING_URI": mlflow.url, "MLFLOW_TRACKING_USERNAME": user,
                       "MLFLOW_TRACKING_PASSWORD": password}
    return users


def timed(repo: Path, *args: str) -> float:
    """Seconds one `mlpin` process takes (it must succeed, or be blocked)."""
    started = time.perf_counter()
    checked(mlpin(repo, *args))
    return time.perf_counter() - started


def prepared(base: Path, users: dict[str, dict[str, str]]) -> tuple[Path, list[dict]]:
    """A scratch repository on the MLflow `users` name, and two pins of breast_cancer_rf to alternate."""
    os.environ.update(users["writer"])
    repo = scratch_repo(base)
    git(repo, "checkout", "-q", "main")
    pins = [yaml.safe_load((repo / "models/production.yaml").read_text())]
    again = json.loads(checked(mlpin(repo, "train", MODEL, "--json")).stdout)  # the second version to pin
    pins.append({"schema_version": 1, "models": {MODEL: {**pins[0]["models"][MODEL], "version": again["version"],
                                                          "run_id": again["run_id"]}}})
    return repo, pins


def one_run(repo: Path, pins: list[dict], users: dict[str, dict[str, str]], i: int) -> dict[str, float]:
    """candidate on the branch as the reader, then deploy of the other pin as the writer."""
    os.environ.update(users["reader"])
    git(repo, "checkout", "-q", "change")
    candidate = timed(repo, "candidate", "--base", "main", "--no-post", "--out", str(repo / f".mlpin/out{i}"))
    os.environ.update(users["writer"])
    git(repo, "checkout", "-q", "main")
    (repo / "models/production.yaml").write_text(yaml.safe_dump(pins[(i + 1) % 2], sort_keys=False))
    commit(repo, f"pin {i}")
    return {"candidate": candidate, "deploy": timed(repo, "deploy")}


def _unset() -> None:
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        os.environ.pop(name, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    backends = {"sqlite": {"reader": {}, "writer": {}}, "server": stack_environment()}
    for name in [n for n in os.environ if n.startswith(("MLFLOW_TRACKING_", "MLPIN_DEPLOY_WEBHOOK"))]:
        del os.environ[name]
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    bases = {label: Path(tempfile.mkdtemp(prefix=f"mlpin-bench-{label}-")) for label in backends}
    times: dict[str, dict[str, list[float]]] = {label: {"candidate": [], "deploy": []} for label in backends}
    try:
        repos = {}
        for label, users in backends.items():
            repos[label] = prepared(bases[label], users)
            _unset()
        for i in range(args.runs):  # interleaved, so that load from elsewhere falls on both alike
            for label, users in backends.items():
                for command, seconds in one_run(*repos[label], users, i).items():
                    times[label][command].append(seconds)
                _unset()
    finally:
        for base in bases.values():
            shutil.rmtree(base, ignore_errors=True)
    print(f"{MODEL}, median of {args.runs} fresh processes each, interleaved (wall seconds)")
    print(f"{'command':<12}{'sqlite':>9}{'server':>9}{'server/sqlite':>15}   samples sqlite | server")
    for command in ("candidate", "deploy"):
        lite, remote = (statistics.median(times[k][command]) for k in backends)
        samples = " | ".join(" ".join(f"{t:.1f}" for t in times[k][command]) for k in backends)
        print(f"{command:<12}{lite:>9.2f}{remote:>9.2f}{remote / lite:>14.2f}x   {samples}")


if __name__ == "__main__":
    main()
