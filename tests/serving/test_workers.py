"""`python -m serving --workers 2`: two worker processes answer on one port, each logs its
predictions to its own file (every request once), a webhook reaching one worker reaches
both, and the log tells each worker's start and stop and the supervisor's."""

from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path

import httpx

from pipelines.adapters.logsink import read_records
from pipelines.adapters.replicastatus import read_replica
from pipelines.core.signing import sign
from tests.helpers import pin, wait_until
from tests.serving.helpers import (
    MODEL,
    ROW,
    SECRET,
    Trained,
    parse_text,
    process_env,
    serving_process,
    stop,
)


def test_two_workers_share_the_port_log_apart_and_both_follow_the_pin(trained: Trained, tmp_path: Path) -> None:
    pin(trained.root, **{MODEL: trained.entries["v1"]})
    env = process_env(trained, tmp_path, MLPIN_WEBHOOK_SECRET=SECRET, MLPIN_POLL_INTERVAL_S="300")
    log_path = tmp_path / "serving.log"
    with log_path.open("wb") as output, serving_process(env, output=output, args=("--workers", "2")) as (process, url):
        sent = _predict_until_both_answered(url, env)
        pin(trained.root, **{MODEL: trained.entries["v2"]})
        push = json.dumps({"ref": "refs/heads/main"}).encode()
        signed = {"x-github-event": "push", "x-hub-signature-256": sign(SECRET, push)}
        assert httpx.post(f"{url}/webhook", content=push, headers=signed).status_code == 202  # reaches one worker
        wait_until(lambda: _live_by_worker(url) == {2}, timeout=20)
        reading = read_replica(url, timeout_s=10)  # what `mlpin replicas` asks: until both workers answered
        assert reading.workers == 2 and len({reading.worker, *(o.worker for o in reading.others)}) == 2
        assert stop(process) == 0
    records = read_records(Path(env["MLPIN_LOG_DIR"]))
    assert sorted(r["request_id"] for r in records) == sorted(sent), "every request logged exactly once"
    lines = [parse_text(line) for line in log_path.read_text().splitlines()]
    workers = {line["worker"] for line in lines if line["event"] == "listening"}
    assert len(workers) == 2 and {line.get("worker") for line in lines if line["event"] == "shutdown"} == {
        *workers, None}, "each worker's shutdown, then the supervisor's"
    promoted = {line["worker"] for line in lines if line["event"] == "swap" and line["to"] == "2"}
    assert promoted == workers, "one webhook call, and each worker swapped to v2 on its own"
    assert lines[-1]["event"] == "shutdown" and lines[-1]["signal"] == "SIGTERM" and lines[-1]["workers"] == "2"


def _predict_until_both_answered(url: str, env: dict[str, str]) -> list[str]:
    """Concurrent predictions on fresh connections until two workers' log files hold records;
    the request ids sent. Each worker writes its own file, named with its pid."""
    sent: list[str] = []
    refused: list[str] = []
    folder = Path(env["MLPIN_LOG_DIR"])

    def one() -> None:
        rid = uuid.uuid4().hex
        response = httpx.post(f"{url}/predict/{MODEL}", json=[ROW], headers={"x-request-id": rid}, timeout=30)
        (sent if response.status_code == 200 else refused).append(rid if response.is_success else response.text)

    for _ in range(25):  # the kernel hands connections to whichever worker accepts first
        threads = [threading.Thread(target=one) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not refused, f"a worker answered before it could serve: {refused[0]}"
        writers = {p.name.split("-")[2] for p in folder.glob("predictions-*.jsonl") if p.stat().st_size}
        if len(writers) == 2:
            return sent
    raise AssertionError(f"one worker answered all {len(sent)} requests")


def _live_by_worker(url: str) -> set[int | None]:
    """The live versions the workers report, once both have answered /status since the call."""
    seen: dict[int, int | None] = {}
    for _ in range(50):
        body = httpx.get(f"{url}/status", timeout=10).json()
        seen[body["worker"]] = next(m for m in body["models"] if m["model"] == MODEL)["live_version"]
        if len(seen) == 2:
            return set(seen.values())
    return {None}


def test_a_worker_count_out_of_bounds_is_a_usage_error_not_a_traceback() -> None:
    import subprocess
    import sys

    from serving.__main__ import MAX_WORKERS
    from serving.settings import ServingSettings
    from tests.helpers import PROJECT

    assert ServingSettings.model_fields["workers"].metadata[-1].le == MAX_WORKERS
    for given in ("0", str(MAX_WORKERS + 1), "many"):
        done = subprocess.run([sys.executable, "-m", "serving", "--workers", given], cwd=PROJECT,
                              capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 2 and "argument --workers:" in done.stderr and "Traceback" not in done.stderr
