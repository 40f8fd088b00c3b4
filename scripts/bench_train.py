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

from _benchrepo import arguments, checked, interleaved, mlpin, record, report, sample_repo, scratch


def main() -> None:
    parser = arguments(__doc__, runs=5)
    parser.add_argument("--model", default="breast_cancer_rf")
    args = parser.parse_args()
    with scratch(args.keep) as base:
        repo = sample_repo(base)
        checked(mlpin(repo, "train", args.model))  # untimed: creates the embedded store, as a server would have it
        jobs, floors = interleaved(repo, lambda: checked(mlpin(repo, "train", args.model)), args.runs)
    report(record(f"mlpin train {args.model}", jobs, floors), json_path=args.json)


if __name__ == "__main__":
    main()
