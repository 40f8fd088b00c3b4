"""Measure `predictionlog.read_window` against a plain json.loads loop on a large prediction log.

Writes `--rows` input rows (`--rows-per-request` per request) of 23 columns (20 numbers, 3
categories) with serving's own log writer (64 MiB files), then reads the whole window in a
fresh child process per reader and prints seconds, rows/s and the child's peak memory.

Usage: .venv/bin/python scripts/bench_logread.py [--rows 1000000] [--rows-per-request 10]
       [--no-reference] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))  # serving's log writer, from this checkout
T0 = datetime(2026, 11, 30, tzinfo=UTC)
CHILD = """
import json, resource, time
from benchmarks_reader import {reader} as read
start = time.perf_counter()
rows = read({folder!r})
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"rows": rows, "seconds": seconds, "maxrss_mib": peak}}))
"""
READERS = '''
from datetime import datetime, timedelta, timezone

SINCE, UNTIL = datetime(2026, 11, 30, tzinfo=timezone.utc), datetime(2026, 12, 1, tzinfo=timezone.utc)


def fast(folder):
    from pipelines.adapters.predictionlog import read_window
    return read_window(folder, "wine", since=SINCE, until=UNTIL).rows


def reference(folder):
    import json
    from pathlib import Path
    import pandas as pd
    from pipelines.adapters.requestlog import check_record
    rows = []
    for path in sorted(Path(folder).glob("predictions-*.jsonl")):
        with path.open("rb") as handle:
            for line in handle:
                try:
                    item = json.loads(line)
                    request = check_record(item, "wine")
                except ValueError:
                    continue
                if request is not None and SINCE <= request.time < UNTIL:
                    rows += [{**inp, "__output": out, "__time": request.time, "__version": request.version}
                             for inp, out in zip(item["inputs"], item["outputs"])]
    return len(pd.DataFrame(rows))
'''


def write_log(folder: Path, *, rows: int, per_request: int) -> int:
    """Serving's log of `rows` input rows; the bytes written."""
    from pipelines.adapters.logsink import PredictionLog

    rng = random.Random(1)
    log = PredictionLog(folder, max_bytes=64 << 20, max_age_s=1e9)
    batch: list[dict] = []
    for n in range(rows // per_request):
        inputs = [{**{f"x{i:02d}": rng.gauss(0, 1) for i in range(20)},
                   "colour": rng.choice(["red", "white", "rose"]), "region": rng.choice("abcdefgh"),
                   "grade": rng.choice(["A", "B", "C"])} for _ in range(per_request)]
        batch.append({"request_id": f"{n:032x}", "timestamp": (T0 + timedelta(seconds=n * 0.05)).isoformat(),
                      "model": "wine", "version": 1 + n % 2, "inputs": inputs,
                      "outputs": [rng.random() for _ in range(per_request)]})
        if len(batch) == 1000:
            log.write_many(batch)
            batch = []
    if batch:
        log.write_many(batch)
    log.close()
    return sum(p.stat().st_size for p in folder.glob("predictions-*.jsonl"))


def measure(folder: Path, reader: str, helper_dir: Path) -> dict:
    """One reader's rows, seconds and peak memory, in a fresh process."""
    code = CHILD.format(reader=reader, folder=str(folder))
    done = subprocess.run([sys.executable, "-c", code], cwd=helper_dir, capture_output=True, text=True,
                          env={"PYTHONPATH": f"{helper_dir}:{PROJECT}", "PATH": "/usr/bin:/bin"})
    if done.returncode:
        raise SystemExit(f"{reader} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rows-per-request", type=int, default=10)
    parser.add_argument("--no-reference", action="store_true", help="time only read_window")
    parser.add_argument("--keep", type=Path, help="write (or reuse) the log in this folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch) / "logs"
        if not any(folder.glob("predictions-*.jsonl")):
            size = write_log(folder, rows=args.rows, per_request=args.rows_per_request)
        else:
            size = sum(p.stat().st_size for p in folder.glob("predictions-*.jsonl"))
        (Path(scratch) / "benchmarks_reader.py").write_text(READERS)
        print(f"log: {size / 2**20:.0f} MiB in {len(list(folder.glob('*.jsonl')))} files, "
              f"{args.rows} rows, {args.rows_per_request} per request")
        for reader in ["fast"] if args.no_reference else ["fast", "reference"]:
            found = measure(folder, reader, Path(scratch))
            print(f"{reader:9} {found['rows']:>9} rows {found['seconds']:7.2f} s "
                  f"{found['rows'] / found['seconds']:>11,.0f} rows/s  peak {found['maxrss_mib']:,.0f} MiB")


if __name__ == "__main__":
    main()
