"""Measure `mlpin candidate` on the breast-cancer sample with a production model pinned.

Plays a scratch repository (the sample files, breast_cancer_rf trained and pinned on
main, a branch that changes its spec), then:
- times `mlpin candidate --base main --no-post` as a fresh process, `--runs` times
  (median wall time: what a CI job pays, imports included), each run alternating with the
  floor (`_benchrepo.FLOOR`: a process that only imports the libraries and opens the store);
- runs it once more in this process under cProfile and counts the calls that read or
  hash data and load the workspace (the counts, not the times, are what matter there),
  and whether Evidently and torch were imported.

Usage: PYTHONPATH=. .venv/bin/python scripts/bench_candidate.py [--runs 3] [--json out.json] [--keep DIR]
Copy it with `_benchrepo.py` into an older checkout to compare.
"""

from __future__ import annotations

import contextlib
import cProfile
import io
import json
import pstats
import sys
from pathlib import Path

from _benchrepo import (
    PROJECT,
    arguments,
    checked,
    commit,
    git,
    interleaved,
    mlpin,
    record,
    report,
    sample_repo,
    scratch,
)

MODEL = "breast_cancer_rf"
# data file reads, workspace loads, table parses; data hashes are counted apart (below)
COUNTED = ("read_bytes", "load_workspace", "parse_table")
DATA_MODULES = ("datastore.py", "datahistory.py")


def scratch_repo(base: Path) -> Path:
    """Sample files on main with breast_cancer_rf pinned; branch `change` edits its spec."""
    import yaml

    repo = sample_repo(base)
    trained = json.loads(checked(mlpin(repo, "train", MODEL, "--json")).stdout)
    entry = {k: trained[k] for k in ("version", "run_id", "artifact_sha256", "spec_hash", "data_sha256", "metrics")}
    pin = {"schema_version": 1, "models": {MODEL: entry}}
    (repo / "models/production.yaml").write_text(yaml.safe_dump(pin, sort_keys=False))
    commit(repo, "pin")
    git(repo, "checkout", "-q", "-b", "change")
    spec_path = repo / "models" / f"{MODEL}.yaml"
    spec_path.write_text(spec_path.read_text().replace("description:", "description: tuned;", 1))
    commit(repo, "tune")
    return repo


def call_counts(repo: Path) -> dict[str, int | bool]:
    """Calls of the data-reading functions in one in-process run, and the heavy imports it made."""
    sys.path.insert(0, str(PROJECT))
    from pipelines.cli import main

    profiler = cProfile.Profile()
    with contextlib.redirect_stdout(io.StringIO()):
        profiler.runcall(main, ["candidate", "--base", "main", "--no-post", "--repo", str(repo), "-q",
                                "--out", str(repo / ".mlpin/profiled")])
    stats = pstats.Stats(profiler).stats  # (file, line, name) -> (calls, ...)
    counts: dict[str, int | bool] = dict.fromkeys((*COUNTED, "data sha256"), 0)
    for (path, _, name), row in stats.items():
        if name in counts and "pipelines" in path:
            counts[name] += row[1]
        if name == "sha256_bytes":  # artifact digests use it too: count the data modules' calls only
            counts["data sha256"] += sum(c[1] for (caller, _, _), c in row[4].items() if caller.endswith(DATA_MODULES))
    return {**counts, "evidently imported": "evidently" in sys.modules, "torch imported": "torch" in sys.modules}


def main() -> None:
    args = arguments(__doc__, runs=3).parse_args()
    with scratch(args.keep) as base:
        repo = scratch_repo(base)
        outs = iter(range(args.runs))
        jobs, floors = interleaved(repo, lambda: checked(mlpin(
            repo, "candidate", "--base", "main", "--no-post", "--out", str(repo / f".mlpin/out{next(outs)}"))),
            args.runs)
        counts = call_counts(repo)
    report(record(f"mlpin candidate {MODEL}, production pinned", jobs, floors, counts=counts), json_path=args.json)


if __name__ == "__main__":
    main()
