"""`python -m serving` as a real process, SIGKILLed under load: every request that got a
200 has its prediction log record, because the record is fsynced before the answer."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import httpx

from pipelines.adapters.logsink import read_records
from tests.helpers import pin, wait_until
from tests.serving.helpers import MODEL, ROW, Trained, process_env, serving_process

CLIENTS = 8


def test_sigkill_under_load_loses_no_answered_record(trained: Trained, tmp_path: Path) -> None:
    pin(trained.root, **{MODEL: trained.entries["v1"]})
    answered: list[str] = []
    with serving_process(process_env(trained, tmp_path, MLPIN_LOG_MAX_BYTES="20000")) as (process, url):
        threads = [threading.Thread(target=_hammer, args=(url, answered)) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        wait_until(lambda: len(answered) >= 200, timeout=30)
        os.kill(process.pid, signal.SIGKILL)
        for thread in threads:
            thread.join(timeout=30)
    logged = {r["request_id"] for r in read_records(tmp_path / "predictions")}
    missing = [rid for rid in answered if rid not in logged]
    assert missing == [], f"{len(missing)} of {len(answered)} answered requests have no log record"
    assert len(list((tmp_path / "predictions").iterdir())) > 1  # rotated by size while under load


def _hammer(url: str, answered: list[str]) -> None:
    with httpx.Client(base_url=url, timeout=10) as client:
        while True:
            try:
                response = client.post(f"/predict/{MODEL}", json=ROW)
            except httpx.HTTPError:
                return  # the process is gone
            if response.status_code == 200:
                answered.append(response.json()["request_id"])
