"""What the job benchmarks (bench_candidate, bench_train) share: a scratch repository of
the sample files, the mlpin CLI of this checkout run as a fresh process, and the record
each one prints and saves as JSON.

Nothing here measures anything; copy it beside a benchmark into an older checkout to compare.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
BOT = ("-c", "user.name=bench", "-c", "user.email=bench@example.invalid")


def arguments(doc: str, *, runs: int) -> argparse.ArgumentParser:
    """The options every job benchmark takes: --runs, --json, --keep."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--runs", type=int, default=runs)
    parser.add_argument("--json", help="also save the figures here")
    parser.add_argument("--keep", help="build the scratch repository here and keep it")
    return parser


@contextlib.contextmanager
def scratch(keep: str | None) -> Iterator[Path]:
    """A folder for the scratch repository: `keep` (kept), else a temporary one (removed)."""
    base = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="mlpin-bench-"))
    try:
        yield base
    finally:
        if not keep:
            shutil.rmtree(base, ignore_errors=True)


def git(repo: Path, *args: str) -> str:
    """git in `repo`, stdout."""
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


def commit(repo: Path, message: str) -> None:
    """Commit everything in the work tree."""
    git(repo, "add", "-A")
    git(repo, *BOT, "commit", "-q", "-m", message)


def mlpin(repo: Path, *args: str) -> subprocess.CompletedProcess:
    """The mlpin CLI of this checkout, as a fresh process (what a CI job pays, imports included)."""
    code = "import sys; from pipelines.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args, "--repo", str(repo), "-q"], cwd=PROJECT,
                          capture_output=True, text=True)


def checked(done: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    """`done`, unless mlpin failed (0 and 4, blocked, are outcomes)."""
    if done.returncode not in (0, 4):
        sys.exit(f"mlpin failed ({done.returncode}):\n{done.stderr}")
    return done


def sample_repo(base: Path) -> Path:
    """A git repository at `base/repo` holding the sample models, data and policies on `main`."""
    repo = base / "repo"
    for name in ("models", "data", "policies"):
        shutil.copytree(PROJECT / name, repo / name)
    (repo / ".gitignore").write_text(".mlpin/\n")
    git(repo, "init", "-q", "-b", "main")
    commit(repo, "initial")
    return repo


# The libraries a tabular job cannot do without, started in a fresh process: pandas, scikit-learn,
# MLflow with its store opened on the scratch repository, and skops as mlpin imports it, with the
# garbage collector tuned as mlpin tunes it. A job's
# wall time minus this is what mlpin itself spends (reading, fitting, saving, hashing, deciding).
FLOOR = """
import atexit, gc, sys
gc.set_threshold(10_000, 10, 10)  # as pipelines/collector.py tunes a command, in any checkout
atexit.register(gc.freeze)
import pandas, sklearn.ensemble, mlflow, mlflow.sklearn
try:
    from pipelines.adapters.skopsimport import skops_io
except ImportError:  # an older checkout: skops as it imported it
    import skops.io
else:
    skops_io()
uri = "sqlite:///" + sys.argv[1] + "/.mlpin/mlflow.db"
mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri).search_registered_models()
"""


def floor(repo: Path) -> subprocess.CompletedProcess:
    """A fresh process that only imports what the job needs and opens the store (see FLOOR)."""
    return subprocess.run([sys.executable, "-c", FLOOR, str(repo)], cwd=PROJECT, check=True, capture_output=True,
                          text=True)


def timed(run) -> tuple[float, float]:
    """(wall, CPU) seconds of `run()`, which runs child processes: CPU is their user + system
    time, which other people's load on the machine stretches far less than the wall time."""
    before, started = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    run()
    wall, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def interleaved(repo: Path, job, runs: int) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """(job's (wall, CPU) per run, floor's), alternating so that both see the same load (the store must exist)."""
    jobs, floors = [], []
    for _ in range(runs):
        jobs.append(timed(job))
        floors.append(timed(lambda: floor(repo)))
    return jobs, floors


def record(name: str, jobs: list[tuple[float, float]], floors: list[tuple[float, float]], **extra) -> dict:
    """What a benchmark reports: the job's and the floor's wall and CPU times, medians and
    minimums, and the machine's load when it ran (walls compare only under similar load;
    CPU times and the job minus the floor are steadier)."""
    def series(runs: list[tuple[float, float]], at: int) -> list[float]:
        return [round(run[at], 3) for run in runs]

    found = {"wall_s": series(jobs, 0), "cpu_s": series(jobs, 1), "floor_wall_s": series(floors, 0),
             "floor_cpu_s": series(floors, 1)}
    return {
        "benchmark": name, "runs": len(jobs), **found,
        "median_s": statistics.median(found["wall_s"]), "min_s": min(found["wall_s"]),
        "median_cpu_s": statistics.median(found["cpu_s"]),
        "over_floor_s": round(statistics.median(found["wall_s"]) - statistics.median(found["floor_wall_s"]), 3),
        "load_avg_1m": round(os.getloadavg()[0], 2), "cpus": os.cpu_count(), "python": platform.python_version(),
        "commit": git(PROJECT, "rev-parse", "--short", "HEAD"), **extra,
    }


def report(result: dict, *, json_path: str | None) -> None:
    """Print `result` as a table; save it as JSON when asked."""
    print(f"{result['benchmark']}: {result['runs']} runs, load {result['load_avg_1m']} on {result['cpus']} CPUs, "
          f"commit {result['commit']}")
    print(f"  {'':<22} {'median':>7} {'min':>7}  all runs (s)")
    for label, key in (("mlpin wall", "wall_s"), ("mlpin CPU", "cpu_s"), ("floor wall", "floor_wall_s"),
                       ("floor CPU", "floor_cpu_s")):
        walls = result[key]
        listed = ", ".join(f"{t:.2f}" for t in walls)
        print(f"  {label:<22} {statistics.median(walls):7.2f} {min(walls):7.2f}  {listed}")
    print(f"  {'wall minus floor':<22} {result['over_floor_s']:7.2f}")
    for key, value in result.get("counts", {}).items():
        print(f"  {key:<22} {value}")
    if json_path:
        Path(json_path).write_text(json.dumps(result, indent=2) + "\n")
        print(f"  saved {json_path}")
