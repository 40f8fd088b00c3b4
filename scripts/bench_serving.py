"""Benchmark mlpin serving against `mlflow models serve --env-manager local`, side by side,
and against a ceiling server (uvicorn + FastAPI parsing the same body, no model, no log).

All serve on 127.0.0.1, one worker each (unless `--mlpin-workers` asks for more); wrk
(Debian package `wrk`) generates the load. Measures, per `--connections` value, single-row
requests/s and p50/p99 of each server; a 10k-row batch on `/predict` and `/invocations`
(rows/s, and the peak RSS it costs mlpin next to its body size); p99 and failures while
versions swap; pin commit to the new version answering (webhook, poll); cold start to
ready, first with an empty cache, then with the model in the verified cache; and each
step of mlpin's batch and single-row paths timed alone (scripts/bench_serving_costs.py). Prints a
compact table and the targets of issue #15, writes the same figures as JSON (`--json`)
and optionally a chart (`--png`). A script, not a test: the numbers belong to the machine
that ran it, and its load average is recorded with them.

Usage: scripts/bench_serving [--connections 8,32] [--seconds 10] [--mlpin-workers 1,2]
       [--json .mlpin/bench/serving.json] [--png serving.png]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_serving_costs import step_costs  # noqa: E402
from bench_serving_report import chart, print_report, targets  # noqa: E402

PROJECT = Path(__file__).resolve().parent.parent
MODEL = "breast_cancer_logreg"
SECRET = "bench-secret"
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}
BATCH_ROWS = 10_000
PORTS = {"mlpin": 18080, "mlflow": 18081, "workers": 18082, "ceiling": 18083}


def main(argv: list[str] | None = None) -> None:
    """Set up a scratch repository, start the servers, measure, report."""
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="mlpin-bench-") as tmp:
        results = run(Path(tmp), args)
    results["machine"] = {"cpus": os.cpu_count(), "load_before": load_before, "load_after": os.getloadavg(),
                          "commit": _commit(), "seconds_per_run": args.seconds, "wrk": "1 thread"}
    results["targets"] = targets(results)
    print_report(results)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1, default=str) + "\n")
    print(f"\nfigures: {args.json}")
    if args.png:
        chart(results, args.png)
        print(f"chart: {args.png}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The options; list options take comma-separated values (`--connections 8,32`)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="duration of each wrk run")
    parser.add_argument("--connections", type=_counts, default=[8, 32], help="wrk connections, e.g. 8,32")
    parser.add_argument("--mlpin-workers", type=_counts, default=[1],
                        help="also run mlpin with `python -m serving --workers N` for each N past 1, e.g. 1,2")
    parser.add_argument("--poll-interval", type=float, default=15.0, help="mlpin's MLPIN_POLL_INTERVAL_S")
    parser.add_argument("--cold-starts", type=int, default=3, help="restarts timed per server (median)")
    parser.add_argument("--json", type=Path, default=PROJECT / ".mlpin/bench/serving.json", help="figures as JSON")
    parser.add_argument("--png", type=Path, default=None, help="also draw req/s and p99 per server (matplotlib)")
    return parser.parse_args(argv)


def _counts(text: str) -> list[int]:
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts or not all(part.isdigit() and int(part) > 0 for part in parts):
        raise argparse.ArgumentTypeError(f"expected positive integers separated by commas, e.g. 8,32; got {text!r}")
    return [int(part) for part in parts]


def _commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT, capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def run(tmp: Path, args: argparse.Namespace) -> dict:
    """Every measure, as plain numbers (see the module docstring)."""
    repo, entries, record = scratch_repo(tmp)
    env = serving_env(repo, tmp, args.poll_interval)
    results: dict = {"single_row": {}}
    with started(mlpin_command(PORTS["mlpin"]), env, url_of("mlpin"), "/readyz") as (mlpin, first_cold), \
            started(mlflow_command(), env, url_of("mlflow"), "/ping") as (mlflow, mlflow_first_cold), \
            started(ceiling_command(), env, url_of("ceiling"), "/ping") as (ceiling, _):  # noqa: E501
        for connections in args.connections:
            results["single_row"][connections] = single_row(tmp, mlpin, mlflow, ceiling, record,
                                                            connections=connections, seconds=args.seconds)
        results["batch"] = batch(mlpin.url, mlflow.url, record, pid=mlpin.pid)
        results["swaps"] = during_swaps(tmp, repo, entries, mlpin.url, record, connections=max(args.connections),
                                        seconds=args.seconds)
        results["pin_to_serve_s"] = pin_to_serve(repo, entries, mlpin.url)
    results["workers"] = with_workers(tmp, env, record, args)
    results["step_costs_s"] = step_costs(tmp / "cache" / entries[1]["artifact_sha256"],
                                         sha256=entries[1]["artifact_sha256"], record=record, rows=BATCH_ROWS)
    results["cold_start_s"] = {
        "mlpin_empty_cache": first_cold, "mlflow_first": mlflow_first_cold,
        "mlpin_cached": _median_start(mlpin_command(PORTS["mlpin"]), env, "mlpin", "/readyz", args.cold_starts),
        "mlflow": _median_start(mlflow_command(), env, "mlflow", "/ping", args.cold_starts),
        "import_floor": _import_floor(env, args.cold_starts),
    }
    return results


def mlpin_command(port: int, workers: int | None = None) -> list[str]:
    """`python -m serving` on `port` (with `--workers` when asked)."""
    return [sys.executable, "-m", "serving", "--port", str(port), *(["--workers", str(workers)] if workers else [])]


def mlflow_command() -> list[str]:
    """`mlflow models serve` of v1, one worker, no environment building."""
    return [sys.executable, "-m", "mlflow", "models", "serve", "-m", f"models:/{MODEL}/1", "--env-manager", "local",
            "-h", "127.0.0.1", "-p", str(PORTS["mlflow"]), "-w", "1"]


def ceiling_command() -> list[str]:
    """The bare uvicorn + FastAPI server (scripts/bench_ceiling.py)."""
    return [sys.executable, str(PROJECT / "scripts/bench_ceiling.py"), "--port", str(PORTS["ceiling"])]


def url_of(server: str) -> str:
    """The base URL of a server of the benchmark."""
    return f"http://127.0.0.1:{PORTS[server]}"


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


@dataclass(frozen=True)
class Server:
    """A started server: its base URL and the process id of the command started."""

    url: str
    pid: int


@contextmanager
def started(command: list[str], env: dict[str, str], url: str, ready_path: str) -> Iterator[tuple[Server, float]]:
    """Start a server in a process group of its own; yield it and the seconds from start to
    `ready_path` answering 200; stop the whole group (MLflow's server runs uvicorn as a child)."""
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
        yield Server(url=url, pid=process.pid), time.perf_counter() - begin
    finally:
        _stop_group(process)


def _stop_group(process: subprocess.Popen) -> None:
    """Stop the server's whole process group and wait until none of it is left: MLflow's uvicorn
    child outlived its leader and, still listening, answered the next start's first /ping (a cold
    start of 0.03 s)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)  # its own group: start_new_session made it the leader
    try:
        process.wait(timeout=10)
        _wait(lambda: not _group_alive(process.pid), timeout=10)
    except (subprocess.TimeoutExpired, TimeoutError):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


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


def wrk(tmp: Path, url: str, body: dict, *, connections: int, seconds: int) -> dict[str, float]:
    """requests/s, p50 and p99 (ms) and failed requests of one wrk run posting `body`."""
    script = tmp / "post.lua"
    script.write_text(
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = {json.dumps(json.dumps(body))}\n"
    )
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url]
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


def single_row(tmp: Path, mlpin: Server, mlflow: Server, ceiling: Server, record: dict, *, connections: int,
               seconds: int) -> dict[str, dict[str, float]]:
    """One wrk run per server and route: mlpin's /predict and /invocations, MLflow's, the ceiling's."""
    def load(url: str, body: dict) -> dict[str, float]:
        return wrk(tmp, url, body, connections=connections, seconds=seconds)

    return {
        "mlpin_predict": load(f"{mlpin.url}/predict/{MODEL}", record),
        "mlpin_invocations": load(f"{mlpin.url}/invocations", {"dataframe_records": [record]}),
        "mlflow": load(f"{mlflow.url}/invocations", {"dataframe_records": [record]}),
        "ceiling": load(f"{ceiling.url}/predict", record),
    }


def batch(mlpin: str, mlflow: str, record: dict, *, pid: int) -> dict:
    """Median seconds of a 10k-row batch per route, and mlpin's peak RSS before and after them."""
    rows = [record] * BATCH_ROWS
    records_body = json.dumps(rows).encode()
    mlflow_body = json.dumps({"dataframe_records": rows}).encode()
    peak_before = peak_rss_bytes(pid)

    def post(url: str, body: bytes) -> float:
        return _median_seconds(lambda: httpx.post(url, content=body, headers={"content-type": "application/json"},
                                                  timeout=120))

    found = {"rows": BATCH_ROWS, "body_bytes": len(records_body), "mlflow_body_bytes": len(mlflow_body),
             "mlpin_predict_s": post(f"{mlpin}/predict/{MODEL}", records_body),
             "mlpin_invocations_s": post(f"{mlpin}/invocations", mlflow_body),
             "mlflow_s": post(f"{mlflow}/invocations", mlflow_body)}
    return found | {"mlpin_peak_rss_before": peak_before, "mlpin_peak_rss_after": peak_rss_bytes(pid)}


def peak_rss_bytes(pid: int) -> int | None:
    """The process's peak resident set size so far (VmHWM), or None where /proc does not say."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) * 1024 if found else None


def _median_seconds(call: Callable[[], httpx.Response]) -> float:
    times = []
    for _ in range(3):
        begin = time.perf_counter()
        call().raise_for_status()
        times.append(time.perf_counter() - begin)
    return statistics.median(times)


def during_swaps(tmp: Path, repo: Path, entries: dict, mlpin: str, record: dict, *, connections: int,
                 seconds: int) -> dict:
    """wrk on /predict while the pin flips between v1 and v2 every second (webhook-triggered),
    then the same run without swaps: p99 with and without, and failures."""
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
        swapping = wrk(tmp, f"{mlpin}/predict/{MODEL}", record, connections=connections, seconds=seconds)
    finally:
        stop.set()
        thread.join()
    steady = wrk(tmp, f"{mlpin}/predict/{MODEL}", record, connections=connections, seconds=seconds)
    return {"connections": connections, "swaps": swaps[0], "during": swapping, "steady": steady}


def with_workers(tmp: Path, env: dict[str, str], record: dict, args: argparse.Namespace) -> dict:
    """Single-row /predict requests/s of `python -m serving --workers N`, per N past 1 and per
    connection count; `{"skipped": why}` while `python -m serving` has no `--workers`."""
    wanted = [n for n in args.mlpin_workers if n > 1]
    if not wanted:
        return {}
    helped = subprocess.run([*mlpin_command(PORTS["workers"])[:3], "--help"], env=env, cwd=PROJECT,
                            capture_output=True, text=True).stdout
    if "--workers" not in helped:
        return {"skipped": "python -m serving has no --workers option in this checkout"}
    found: dict = {}
    for workers in wanted:
        worker_env = env | {"MLPIN_LOG_DIR": str(tmp / f"predictions-{workers}w")}
        with started(mlpin_command(PORTS["workers"], workers), worker_env, url_of("workers"), "/readyz") as (server, _):
            found[workers] = {c: wrk(tmp, f"{server.url}/predict/{MODEL}", record, connections=c,
                                     seconds=args.seconds)["rps"] for c in args.connections}
    return found


def _median_start(command: list[str], env: dict[str, str], server: str, ready_path: str, times: int) -> float:
    """Median seconds from process start to `ready_path` answering, over `times` restarts."""
    found = []
    for _ in range(times):
        with started(command, env, url_of(server), ready_path) as (_, seconds):
            found.append(seconds)
    return statistics.median(found)


IMPORTS = "from pipelines.adapters.skopsimport import skops_io; skops_io(); import pandas, fastapi, uvicorn"


def _import_floor(env: dict[str, str], times: int) -> float:
    """Median seconds of a Python process doing only the imports any server of a skops model needs
    (skops, which imports all of scikit-learn and SciPy; pandas; FastAPI; uvicorn): the floor of a cold start."""
    found = []
    for _ in range(times):
        begin = time.perf_counter()
        subprocess.run([sys.executable, "-c", IMPORTS], env=env, cwd=PROJECT, check=True)
        found.append(time.perf_counter() - begin)
    return statistics.median(found)


def pin_to_serve(repo: Path, entries: dict, mlpin: str) -> dict[str, float]:
    """Seconds from a pin commit to the new version answering, by webhook and by polling."""
    commit_pin(repo, entries[1])
    _webhook(mlpin)
    _wait(lambda: _live_version(mlpin) == 1, timeout=60)
    by_hook = _until_live(repo, entries[2], mlpin, lambda: _webhook(mlpin))
    by_poll = _until_live(repo, entries[1], mlpin, lambda: None)
    return {"webhook": by_hook, "poll": by_poll}


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


if __name__ == "__main__":
    main()
