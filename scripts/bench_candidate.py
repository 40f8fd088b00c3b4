"""Measure `mlpin candidate` on the breast-cancer sample with a production model pinned.

Plays a scratch repository (the sample files, breast_cancer_rf trained and pinned on
main, a branch that changes its spec), then:
- times `mlpin candidate --base main --no-post` as a fresh process, `--runs` times
  (median wall time: what a CI job pays, imports included);
- runs it once more in this process under cProfile and counts the calls that read or
  hash data and load the workspace (the counts, not the times, are what matter there).

Usage: .venv/bin/python scripts/bench_candidate.py [--runs 3] [--keep DIR]
Run it from the checkout to measure; copy it into an older checkout to compare.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
MODEL = "breast_cancer_rf"
# data file reads, workspace loads, table parses; data hashes are counted apart (below)
COUNTED = ("read_bytes", "load_workspace", "parse_table")
DATA_MODULES = ("datastore.py", "datahistory.py")


def git(repo: Path, *args: str) -> str:
    """git in `repo`, stdout."""
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


def mlpin(repo: Path, *args: str) -> subprocess.CompletedProcess:
    """The mlpin CLI of this checkout, as a fresh process."""
    code = "import sys; from pipelines.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args, "--repo", str(repo), "-q"], cwd=PROJECT,
                          capture_output=True, text=True)


def scratch_repo(base: Path) -> Path:
    """Sample files on main with breast_cancer_rf pinned; branch `change` edits its spec."""
    import yaml

    repo = base / "repo"
    for name in ("models", "data", "policies"):
        shutil.copytree(PROJECT / name, repo / name)
    (repo / ".gitignore").write_text(".mlpin/\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "-c", "user.name=bench", "-c", "user.email=bench@example.invalid", "add", "-A")
    _commit(repo, "initial")
    trained = json.loads(_checked(mlpin(repo, "train", MODEL, "--json")).stdout)
    entry = {k: trained[k] for k in ("version", "run_id", "artifact_sha256", "spec_hash", "data_sha256", "metrics")}
    pin = {"schema_version": 1, "models": {MODEL: entry}}
    (repo / "models/production.yaml").write_text(yaml.safe_dump(pin, sort_keys=False))
    _commit(repo, "pin")
    git(repo, "checkout", "-q", "-b", "change")
    spec_path = repo / "models" / f"{MODEL}.yaml"
    spec_path.write_text(spec_path.read_text().replace("description:", "description: tuned;", 1))
    _commit(repo, "tune")
    return repo


def _commit(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=bench", "-c", "user.email=bench@example.invalid", "commit", "-q", "-m", message)


def _checked(done: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    if done.returncode not in (0, 4):
        sys.exit(f"mlpin failed ({done.returncode}):\n{done.stderr}")
    return done


def wall_times(repo: Path, runs: int) -> list[float]:
    """Seconds per `mlpin candidate` process."""
    times = []
    for i in range(runs):
        started = time.perf_counter()
        _checked(mlpin(repo, "candidate", "--base", "main", "--no-post", "--out", str(repo / f".mlpin/out{i}")))
        times.append(time.perf_counter() - started)
    return times


def call_counts(repo: Path) -> dict[str, int]:
    """Calls of the data-reading functions in one in-process run."""
    sys.path.insert(0, str(PROJECT))
    from pipelines.cli import main

    profiler = cProfile.Profile()
    with contextlib.redirect_stdout(io.StringIO()):
        profiler.runcall(main, ["candidate", "--base", "main", "--no-post", "--repo", str(repo), "-q",
                                "--out", str(repo / ".mlpin/profiled")])
    stats = pstats.Stats(profiler).stats  # (file, line, name) -> (calls, ...)
    counts = dict.fromkeys((*COUNTED, "data sha256"), 0)
    for (path, _, name), row in stats.items():
        if name in counts and "pipelines" in path:
            counts[name] += row[1]
        if name == "sha256_bytes":  # artifact digests use it too: count the data modules' calls only
            counts["data sha256"] += sum(c[1] for (caller, _, _), c in row[4].items() if caller.endswith(DATA_MODULES))
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", help="build the scratch repository here and keep it")
    args = parser.parse_args()
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="mlpin-bench-"))
    try:
        repo = scratch_repo(base)
        times = wall_times(repo, args.runs)
        counts = call_counts(repo)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    print(f"mlpin candidate, {MODEL}, production pinned, {args.runs} runs")
    print(f"  wall: median {statistics.median(times):.2f} s ({', '.join(f'{t:.2f}' for t in times)})")
    print("  calls in one run: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
