"""`python -m serving` as a real process, SIGKILLed under load: every request that got a
200 has its prediction log record, because the record is fsynced before the answer."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from pipelines.adapters.logsink import read_records
from tests.helpers import free_port, pin, wait_until
from tests.serving.helpers import MODEL, ROW, Trained

CLIENTS = 8
STARTUP_SECONDS = 60


def test_sigkill_under_load_loses_no_answered_record(trained: Trained, tmp_path: Path) -> None:
    pin(trained.root, **{MODEL: trained.entries["v1"]})
    port = free_port()
    env = {**os.environ, "MLPIN_PIN_URI": str(trained.root), "MLPIN_REGISTRY_ROOT": str(trained.root),
           "MLPIN_CACHE_DIR": str(tmp_path / "cache"), "MLPIN_WORK_DIR": str(tmp_path / "work"),
           "MLPIN_LOG_DIR": str(tmp_path / "predictions"), "MLPIN_LOG_MAX_BYTES": "20000"}
    process = subprocess.Popen([sys.executable, "-m", "serving", "--port", str(port)], env=env, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    answered: list[str] = []
    try:
        wait_until(lambda: _ready(url, process), timeout=STARTUP_SECONDS)
        threads = [threading.Thread(target=_hammer, args=(url, answered)) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        wait_until(lambda: len(answered) >= 200, timeout=30)
        os.kill(process.pid, signal.SIGKILL)
        for thread in threads:
            thread.join(timeout=30)
    finally:
        process.kill()
        process.wait(timeout=10)
    logged = {r["request_id"] for r in read_records(tmp_path / "predictions")}
    missing = [rid for rid in answered if rid not in logged]
    assert missing == [], f"{len(missing)} of {len(answered)} answered requests have no log record"
    assert len(list((tmp_path / "predictions").iterdir())) > 1  # rotated by size while under load


def _ready(url: str, process: subprocess.Popen) -> bool:
    assert process.poll() is None, "the serving process exited during startup"
    try:
        return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _hammer(url: str, answered: list[str]) -> None:
    with httpx.Client(base_url=url, timeout=10) as client:
        while True:
            try:
                response = client.post(f"/predict/{MODEL}", json=ROW)
            except httpx.HTTPError:
                return  # the process is gone
            if response.status_code == 200:
                answered.append(response.json()["request_id"])
