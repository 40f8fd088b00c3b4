"""Measure `mlpin train` of a sample model, as a fresh process per run.

Plays a scratch repository of the sample files (models, data, policies on `main`), then
times `mlpin train <model>` `--runs` times: each run registers the model's next version in
the embedded MLflow store, as a CI job does; the median wall time includes the imports.
Each run alternates with the floor (`_benchrepo.FLOOR`: a process that only imports the
libraries and opens the store), so what mlpin adds shows under any load.

Usage: PYTHONPATH=. .venv/bin/python scripts/bench_train.py [--runs 5] [--model breast_cancer_rf]
       [--json out.json] [--keep DIR]
Copy it with `_benchrepo.py` into an older checkout to compare.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from _benchrepo import checked, interleaved, mlpin, record, report, sample_repo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--model", default="breast_cancer_rf")
    parser.add_argument("--json", help="also save the figures here")
    parser.add_argument("--keep", help="build the scratch repository here and keep it")
    args = parser.parse_args()
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="mlpin-bench-"))
    try:
        repo = sample_repo(base)
        checked(mlpin(repo, "train", args.model))  # untimed: creates the embedded store, as a server would have it
        jobs, floors = interleaved(repo, lambda: checked(mlpin(repo, "train", args.model)), args.runs)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    report(record(f"mlpin train {args.model}", jobs, floors), json_path=args.json)


if __name__ == "__main__":
    main()
