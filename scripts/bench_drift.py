"""Measure the drift engine against Evidently 0.7 on a production-sized window.

Generates, from a seed, `--rows` logged rows x 20 numeric + 3 categorical columns and a
`--reference-rows` reference, for each case (no shift; mean shifts; scale shifts;
category shifts and new categories; subtle shifts near the thresholds). Each case runs
the engine (`compute_drift`) and Evidently's DataDriftPreset (`evidently_drift`) in a
fresh child process of its own, which makes the same data from the same seed, so the
peak memory (the child's ru_maxrss) of one never mixes with the other's. Prints rows,
seconds (the drift computation only), peak memory (data included), and how many
per-feature verdicts agree, overall and per case.

Usage: .venv/bin/python scripts/bench_drift.py [--rows 1000000] [--reference-rows 100000]
       [--cases none,mean,scale,category,subtle] [--skip-evidently] [--evidently-rows N]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
NUMERIC = [f"x{i:02d}" for i in range(20)]
CATEGORICAL = ["country", "device", "plan"]
CASES = ("none", "mean", "scale", "category", "subtle")
CATEGORIES = {"country": ["de", "fr", "it", "es", "nl", "pl", "se", "at"], "device": ["ios", "android", "web"],
              "plan": ["free", "pro"]}


def frames(case: str, *, rows: int, reference_rows: int, seed: int = 7) -> tuple:
    """(reference, current) for `case`: every other numeric column and the categoricals may shift."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    shifted = set(NUMERIC[::2])

    def table(n: int, current: bool) -> pd.DataFrame:
        data = {}
        for i, name in enumerate(NUMERIC):
            loc, scale = float(i), 1.0 + i / 10
            if current and name in shifted:
                loc += {"mean": 0.3, "subtle": 0.1}.get(case, 0.0) * scale * (1 + i % 3)
                scale *= {"scale": 1.4, "subtle": 1.05}.get(case, 1.0)
            values = rng.normal(loc, scale, n) if i % 4 else np.round(rng.gamma(2.0, scale, n) + loc, 1)
            values[rng.random(n) < 0.01] = np.nan  # logged rows have gaps
            data[name] = values
        for name, values in CATEGORIES.items():
            shares = np.linspace(2, 1, len(values))
            if current and case in ("category", "subtle"):
                shares = shares[::-1] if case == "category" else shares * np.linspace(1, 1.15, len(values))
            labels = values + (["new"] if current and case == "category" and name == "country" else [])
            weights = np.append(shares, 0.3) if len(labels) > len(values) else shares
            data[name] = rng.choice(labels, n, p=weights / weights.sum())
        return pd.DataFrame(data)

    return table(reference_rows, False), table(rows, True)


def child(engine: str, case: str, *, rows: int, reference_rows: int) -> dict:
    """Run one engine on one case in this process; seconds, peak memory and verdicts."""
    import resource
    import warnings

    from pipelines.core.schemas import DriftPolicy
    from pipelines.tasks.drift import compute_drift
    from pipelines.tasks.evidentlydrift import evidently_drift

    reference, current = frames(case, rows=rows, reference_rows=reference_rows)
    run = compute_drift if engine == "engine" else evidently_drift
    _import_first(engine)  # seconds count the computation, not a once-per-process import
    data_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = run(reference, current, numeric=NUMERIC, categorical=CATEGORICAL, policy=DriftPolicy(),
                     labels=("reference", case))
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "data_mb": data_mb, "verdicts": {f.column: [f.method, f.drifted] for f in report.features}}


def _import_first(engine: str) -> None:
    import importlib

    names = ["scipy.stats", "scipy.spatial.distance", "pipelines.tasks.driftengine"]
    for name in names if engine == "engine" else ["evidently", "evidently.presets", *names]:
        importlib.import_module(name)


def measure(engine: str, case: str, *, rows: int, reference_rows: int) -> dict:
    """`child` in a fresh interpreter, so its peak memory is its own."""
    done = subprocess.run(
        [sys.executable, __file__, "--child", engine, "--cases", case, "--rows", str(rows),
         "--reference-rows", str(reference_rows)],
        cwd=PROJECT, capture_output=True, text=True, check=False,
    )
    if done.returncode:
        raise SystemExit(f"{engine} on {case} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def agreement(mine: dict, theirs: dict) -> tuple[int, int, list[str]]:
    """(agreeing verdicts, features, the columns that disagree)."""
    differ = [c for c in mine if mine[c] != theirs[c]]
    return len(mine) - len(differ), len(mine), differ


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reference-rows", type=int, default=100_000)
    parser.add_argument("--evidently-rows", type=int, default=None,
                        help="run Evidently (and compare verdicts) at this size instead of --rows")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--skip-evidently", action="store_true")
    parser.add_argument("--child", choices=["engine", "evidently"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    cases = args.cases.split(",")
    if args.child:
        print(json.dumps(child(args.child, cases[0], rows=args.rows, reference_rows=args.reference_rows)))
        return 0
    print(f"{'case':<9} {'engine':<10} {'rows':>9} {'ref rows':>9} {'seconds':>8} {'peak MB':>8} {'data MB':>8}"
          f" {'drifted':>8}")
    agree = total = 0
    per_case = []
    for case in cases:
        runs = {"engine": (args.rows, measure("engine", case, rows=args.rows, reference_rows=args.reference_rows))}
        if not args.skip_evidently:
            rows = args.evidently_rows or args.rows
            if rows != args.rows:  # verdicts compare on the same data
                runs["engine@ev"] = (rows, measure("engine", case, rows=rows, reference_rows=args.reference_rows))
            runs["evidently"] = (rows, measure("evidently", case, rows=rows, reference_rows=args.reference_rows))
        for name, (rows, result) in runs.items():
            drifted = sum(d for _, d in result["verdicts"].values())
            print(f"{case:<9} {name:<10} {rows:>9} {args.reference_rows:>9} {result['seconds']:>8.2f}"
                  f" {result['peak_mb']:>8.0f} {result['data_mb']:>8.0f} {drifted:>8}")
        if "evidently" in runs:
            mine = runs.get("engine@ev", runs["engine"])[1]["verdicts"]
            same, count, differ = agreement(mine, runs["evidently"][1]["verdicts"])
            agree, total = agree + same, total + count
            speedup = runs["evidently"][1]["seconds"] / mine_seconds(runs)
            per_case.append(f"{case:<9} {same:>3}/{count:<3} {100 * same / count:>6.1f}% {speedup:>8.1f}x  "
                            f"{', '.join(differ) or '-'}")
    if total:
        print(f"\n{'case':<9} {'agree':<7} {'%':>7} {'speedup':>9}  disagreeing features")
        print("\n".join(per_case))
        print(f"\nverdict agreement: {agree}/{total} = {100 * agree / total:.1f}%")
    return 0


def mine_seconds(runs: dict) -> float:
    """The engine's seconds on the data Evidently ran on."""
    return runs.get("engine@ev", runs["engine"])[1]["seconds"]


if __name__ == "__main__":
    sys.path.insert(0, str(PROJECT))
    sys.exit(main())
