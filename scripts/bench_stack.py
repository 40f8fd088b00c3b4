"""`mlpin candidate` and `mlpin deploy` on the embedded SQLite store against the team stack's
MLflow server (PostgreSQL, proxied artifacts, basic-auth), side by side.

Needs a running stack (`scripts/stack up`; MLPIN_STACK_DIR if not `.mlpin/stack`). For each
backend: a scratch repository (bench_candidate.py's: breast_cancer_rf trained and pinned on
main, a branch that changes its spec), then `--runs` times, each a fresh process as in CI:
- `mlpin candidate --base main --no-post` on the branch (as the reader on the server);
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
from bench_candidate import MODEL, _checked, _commit, git, mlpin, scratch_repo

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
    for role in ("reader", "writer"):
        password = (folder / "secrets" / f"mlpin-{role}.password").read_text().strip()
        users[role] = {"MLFLOW_TRACKING_URI": mlflow.url, "MLFLOW_TRACKING_USERNAME": f"mlpin-{role}",
                       "MLFLOW_TRACKING_PASSWORD": password}
    return users


def timed(repo: Path, *args: str) -> float:
    """Seconds one `mlpin` process takes (it must succeed, or be blocked)."""
    started = time.perf_counter()
    _checked(mlpin(repo, *args))
    return time.perf_counter() - started


def measure(base: Path, runs: int, users: dict[str, dict[str, str]]) -> dict[str, list[float]]:
    """Wall times of candidate and deploy in a scratch repository on the MLflow `users` name."""
    os.environ.update(users["writer"])
    repo = scratch_repo(base)
    git(repo, "checkout", "-q", "main")
    pins = [yaml.safe_load((repo / "models/production.yaml").read_text())]
    again = json.loads(_checked(mlpin(repo, "train", MODEL, "--json")).stdout)  # the second version to pin
    pins.append({"schema_version": 1, "models": {MODEL: {**pins[0]["models"][MODEL], "version": again["version"],
                                                          "run_id": again["run_id"]}}})
    times: dict[str, list[float]] = {"candidate": [], "deploy": []}
    for i in range(runs):
        os.environ.update(users["reader"])
        git(repo, "checkout", "-q", "change")
        times["candidate"].append(timed(repo, "candidate", "--base", "main", "--no-post", "--out",
                                        str(repo / f".mlpin/out{i}")))
        os.environ.update(users["writer"])
        git(repo, "checkout", "-q", "main")
        (repo / "models/production.yaml").write_text(yaml.safe_dump(pins[(i + 1) % 2], sort_keys=False))
        _commit(repo, f"pin {i}")
        times["deploy"].append(timed(repo, "deploy"))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    server = stack_environment()
    for name in [n for n in os.environ if n.startswith(("MLFLOW_TRACKING_", "MLPIN_DEPLOY_WEBHOOK"))]:
        del os.environ[name]
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    embedded = {"reader": {}, "writer": {}}
    results = {}
    for label, users in (("sqlite", embedded), ("server", server)):
        base = Path(tempfile.mkdtemp(prefix=f"mlpin-bench-{label}-"))
        try:
            results[label] = measure(base, args.runs, users)
        finally:
            shutil.rmtree(base, ignore_errors=True)
            for name in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
                os.environ.pop(name, None)
    print(f"{MODEL}, median of {args.runs} fresh processes each (wall seconds)")
    print(f"{'command':<12}{'sqlite':>9}{'server':>9}{'server/sqlite':>15}")
    for command in ("candidate", "deploy"):
        lite, remote = (statistics.median(results[k][command]) for k in ("sqlite", "server"))
        print(f"{command:<12}{lite:>9.2f}{remote:>9.2f}{remote / lite:>14.2f}x")


if __name__ == "__main__":
    main()
