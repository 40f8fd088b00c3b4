"""Benchmark mlpin serving against `mlflow models serve --env-manager local`, side by side.

Both serve the same registered model (logistic regression on breast cancer), one worker
each, on 127.0.0.1; wrk (Debian package `wrk`) generates the load. Measures single-row
requests/s and p50/p99, a 10k-row batch, latency while versions swap, pin commit to the
new version answering (webhook and poll), and cold start to ready. Prints one table.
A script, not a test: the numbers belong to the machine that ran it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

PROJECT = Path(__file__).resolve().parent.parent
MODEL = "breast_cancer_logreg"
SECRET = "bench-secret"
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def main(argv: list[str] | None = None) -> None:
    """Set up a scratch repository, start both servers, measure, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="duration of each wrk run")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--poll-interval", type=float, default=15.0, help="mlpin's MLPIN_POLL_INTERVAL_S")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")
    with tempfile.TemporaryDirectory(prefix="mlpin-bench-") as tmp:
        rows = run(Path(tmp), args)
    print_table(rows, args)


def run(tmp: Path, args: argparse.Namespace) -> list[tuple[str, str, str, str]]:
    repo, entries, record = scratch_repo(tmp)
    rows = []
    mlpin_cmd = [sys.executable, "-m", "serving", "--port", "18080"]
    mlflow_cmd = [
        sys.executable,
        "-m",
        "mlflow",
        "models",
        "serve",
        "-m",
        f"models:/{MODEL}/1",
        "--env-manager",
        "local",
        "-h",
        "127.0.0.1",
        "-p",
        "18081",
        "-w",
        "1",
    ]
    env = serving_env(repo, tmp, args.poll_interval)
    with started(mlpin_cmd, env, "http://127.0.0.1:18080", "/readyz") as (mlpin, mlpin_cold), \
            started(mlflow_cmd, env, "http://127.0.0.1:18081", "/ping") as (mlflow, mlflow_cold):
        rows += single_row(tmp, mlpin, mlflow, record, args)
        rows.append(batch(mlpin, mlflow, record))
        rows.append(during_swaps(tmp, repo, entries, mlpin, record, args))
        rows += pin_to_serve(repo, entries, mlpin)
        rows.append(
            ("cold start to ready", f"{mlpin_cold:.2f} s", f"{mlflow_cold:.2f} s", _ratio(mlflow_cold, mlpin_cold))
        )
    return rows


def scratch_repo(tmp: Path) -> tuple[Path, dict[int, dict], dict]:
    """A git repository with the sample data, a logistic regression spec, two versions, v1 pinned."""
    from pipelines.stages.context import StageContext
    from pipelines.stages.train import train

    repo = tmp / "repo"
    for name in ("models", "data", "policies"):
        shutil.copytree(PROJECT / name, repo / name)
    spec = (repo / "models/breast_cancer_rf.yaml").read_text().replace("breast_cancer_rf", MODEL)
    spec = re.sub(
        r"estimator:\n(  .*\n)+", "estimator:\n  kind: logistic_regression\n  params: {C: 1.0, max_iter: 2000}\n", spec
    )
    (repo / f"models/{MODEL}.yaml").write_text(spec)
    _git(repo, "init", "-q", "-b", "main")
    entries = {}
    for c in (1.0, 0.5):
        (repo / f"models/{MODEL}.yaml").write_text(spec.replace("C: 1.0", f"C: {c}"))
        result = train(StageContext(repo), MODEL)
        entries[result.version] = {
            k: getattr(result, k) for k in ("version", "run_id", "artifact_sha256", "spec_hash", "data_sha256")
        }
    commit_pin(repo, entries[1])
    import pandas as pd

    row = pd.read_csv(repo / "data/breast_cancer.csv").drop(columns=["diagnosis"], errors="ignore").iloc[0]
    return repo, entries, {k: float(v) for k, v in row.items() if isinstance(v, (int, float))}


def commit_pin(repo: Path, entry: dict) -> None:
    import yaml

    (repo / "models/production.yaml").write_text(yaml.safe_dump({"schema_version": 1, "models": {MODEL: entry}}))
    _git(repo, "add", "-A")
    _git(
        repo,
        "-c",
        "user.name=bench",
        "-c",
        "user.email=bench@localhost",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        f"pin v{entry['version']}",
    )


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def serving_env(repo: Path, tmp: Path, poll_interval: float) -> dict[str, str]:
    return {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{repo / '.mlpin/mlflow.db'}",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "MLPIN_PIN_URI": str(repo),
        "MLPIN_REGISTRY_ROOT": str(repo),
        "MLPIN_CACHE_DIR": str(tmp / "cache"),
        "MLPIN_WORK_DIR": str(tmp / "work"),
        "MLPIN_LOG_DIR": str(tmp / "predictions"),
        "MLPIN_WEBHOOK_SECRET": SECRET,
        "MLPIN_POLL_INTERVAL_S": str(poll_interval),
        "PYTHONPATH": str(PROJECT),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }  # mlflow runs `uvicorn`


@contextmanager
def started(command: list[str], env: dict[str, str], url: str, ready_path: str) -> Iterator[tuple[str, float]]:
    """Start a server; yield its URL and the seconds from start to `ready_path` answering 200."""
    begin = time.perf_counter()
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(
        command, env=env, cwd=PROJECT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        try:
            _wait(lambda: _answers(url + ready_path, process), timeout=120)
        except (TimeoutError, RuntimeError):
            log.seek(0)
            sys.stderr.write(
                log.read().decode(errors="replace")[-3000:]
                + f"\n{url}{ready_path}: {httpx.get(url + ready_path).text if process.poll() is None else ''}\n"
            )
            raise
        yield url, time.perf_counter() - begin
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _answers(url: str, process: subprocess.Popen) -> bool:
    if process.poll() is not None:
        raise RuntimeError(f"server exited during startup: {process.args}")
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _wait(condition: Callable[[], bool], *, timeout: float, step: float = 0.01) -> float:
    begin = time.perf_counter()
    while not condition():
        if time.perf_counter() - begin > timeout:
            raise TimeoutError("condition not met in time")
        time.sleep(step)
    return time.perf_counter() - begin


def wrk(tmp: Path, url: str, body: dict, args: argparse.Namespace) -> dict[str, float]:
    """requests/s, p50 and p99 (ms) and failed requests of one wrk run posting `body`."""
    script = tmp / "post.lua"
    script.write_text(
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = {json.dumps(json.dumps(body))}\n"
    )
    command = ["wrk", "-t1", f"-c{args.connections}", f"-d{args.seconds}s", "--latency", "-s", str(script), url]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "p50": _percentile(out, "50"),
            "p99": _percentile(out, "99"), "failed": _failed(out)}


def _percentile(out: str, which: str) -> float:
    value, unit = re.search(rf"^\s+{which}%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE).groups()
    return float(value) * UNITS[unit]


def _failed(out: str) -> int:
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return (int(non_2xx.group(1)) if non_2xx else 0) + (sum(map(int, errors.groups())) if errors else 0)


def single_row(
    tmp: Path, mlpin: str, mlflow: str, record: dict, args: argparse.Namespace
) -> list[tuple[str, str, str, str]]:
    ours = wrk(tmp, f"{mlpin}/predict/{MODEL}", record, args)
    ours_mlflow_api = wrk(tmp, f"{mlpin}/invocations", {"dataframe_records": [record]}, args)
    theirs = wrk(tmp, f"{mlflow}/invocations", {"dataframe_records": [record]}, args)
    return [
        (
            "single row: requests/s (/predict)",
            f"{ours['rps']:.0f}",
            f"{theirs['rps']:.0f}",
            _ratio(ours["rps"], theirs["rps"]),
        ),
        (
            "single row: requests/s (/invocations)",
            f"{ours_mlflow_api['rps']:.0f}",
            f"{theirs['rps']:.0f}",
            _ratio(ours_mlflow_api["rps"], theirs["rps"]),
        ),
        (
            "single row: p50 / p99 ms",
            f"{ours['p50']:.2f} / {ours['p99']:.2f}",
            f"{theirs['p50']:.2f} / {theirs['p99']:.2f}",
            _ratio(theirs["p99"], ours["p99"]) + " (p99)",
        ),
        ("single row: failed requests", str(ours["failed"] + ours_mlflow_api["failed"]), str(theirs["failed"]), ""),
    ]


def batch(mlpin: str, mlflow: str, record: dict) -> tuple[str, str, str, str]:
    rows = [record] * 10_000
    ours = _median_seconds(lambda: httpx.post(f"{mlpin}/predict/{MODEL}", json=rows, timeout=120))
    theirs = _median_seconds(lambda: httpx.post(f"{mlflow}/invocations", json={"dataframe_records": rows}, timeout=120))
    return ("10k-row batch, median of 3", f"{ours * 1000:.0f} ms", f"{theirs * 1000:.0f} ms", _ratio(theirs, ours))


def _median_seconds(call: Callable[[], httpx.Response]) -> float:
    times = []
    for _ in range(3):
        begin = time.perf_counter()
        call().raise_for_status()
        times.append(time.perf_counter() - begin)
    return statistics.median(times)


def during_swaps(
    tmp: Path, repo: Path, entries: dict, mlpin: str, record: dict, args: argparse.Namespace
) -> tuple[str, str, str, str]:
    """wrk on /predict while the pin flips between v1 and v2 every second (webhook-triggered)."""
    stop = threading.Event()
    swaps = [0]

    def flip() -> None:
        while not stop.wait(1.0):
            target = 2 if swaps[0] % 2 == 0 else 1
            commit_pin(repo, entries[target])
            _webhook(mlpin)
            swaps[0] += 1

    thread = threading.Thread(target=flip)
    thread.start()
    try:
        result = wrk(tmp, f"{mlpin}/predict/{MODEL}", record, args)
    finally:
        stop.set()
        thread.join()
    detail = f"{result['rps']:.0f} req/s, p99 {result['p99']:.2f} ms, {result['failed']} failed"
    return (f"during {swaps[0]} swaps", detail, "(no hot swap)", "")


def pin_to_serve(repo: Path, entries: dict, mlpin: str) -> list[tuple[str, str, str, str]]:
    """Seconds from a pin commit to the new version answering, by webhook and by polling."""
    commit_pin(repo, entries[1])
    _webhook(mlpin)
    _wait(lambda: _live_version(mlpin) == 1, timeout=60)
    by_hook = _until_live(repo, entries[2], mlpin, lambda: _webhook(mlpin))
    by_poll = _until_live(repo, entries[1], mlpin, lambda: None)
    return [("pin commit to serving: webhook", f"{by_hook:.3f} s", "(restart)", ""),
            ("pin commit to serving: poll", f"{by_poll:.1f} s", "(restart)", "")]


def _until_live(repo: Path, entry: dict, mlpin: str, nudge: Callable[[], None]) -> float:
    begin = time.perf_counter()
    commit_pin(repo, entry)
    nudge()
    _wait(lambda: _live_version(mlpin) == entry["version"], timeout=120)
    return time.perf_counter() - begin


def _live_version(mlpin: str) -> int | None:
    models = httpx.get(f"{mlpin}/models", timeout=5).json()
    return next((m["version"] for m in models if m["name"] == MODEL), None)


def _webhook(mlpin: str) -> None:
    import hashlib
    import hmac

    body = json.dumps({"ref": "refs/heads/main"}).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    httpx.post(
        f"{mlpin}/webhook", content=body, headers={"x-hub-signature-256": signature}, timeout=5
    ).raise_for_status()


def _ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.1f}x" if theirs else ""


def print_table(rows: list[tuple[str, str, str, str]], args: argparse.Namespace) -> None:
    """A markdown table: measure, mlpin, mlflow, ratio."""
    print(
        f"wrk: 1 thread, {args.connections} connections, {args.seconds} s per run; "
        f"one worker per server; {os.cpu_count()} CPUs\n"
    )
    print("| measure | mlpin serving | mlflow models serve | ratio |")
    print("| --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
