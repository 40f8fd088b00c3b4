"""Hot swaps under concurrent load on a real uvicorn: no request fails, each answer names
the version that produced it, and the prediction log agrees with every answer."""

from __future__ import annotations

import threading
import time

import httpx

from pipelines.adapters.logsink import read_records
from tests.helpers import pin
from tests.serving.helpers import MODEL, ROW, Running, Trained

CLIENTS = 8


def test_swaps_under_concurrent_load_fail_no_request(server_on_v1: Running, trained: Trained) -> None:
    answers: list[tuple[int, dict]] = []
    errors: list[BaseException] = []  # a reset connection or a non-JSON answer is a failed request too
    stop = threading.Event()

    def hammer() -> None:
        with httpx.Client(base_url=server_on_v1.url, timeout=30) as client:
            while not stop.is_set():
                try:
                    response = client.post(f"/predict/{MODEL}", json=[ROW, ROW])
                    answers.append((response.status_code, response.json()))
                except Exception as exc:  # noqa: BLE001
                    errors.append(exc)

    threads = [threading.Thread(target=hammer) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    try:
        lives = []
        for label in ("v2", "v1", "v2", "v1", "v2"):
            pin(trained.root, **{MODEL: trained.entries[label]})
            (status,) = server_on_v1.reconcile()["models"]
            lives.append(status["live_version"])
            time.sleep(0.15)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert lives == [2, 1, 2, 1, 2]
    assert errors == []
    assert len(answers) > 50
    assert [a for a in answers if a[0] != 200] == []
    assert {a["version"] for _, a in answers} == {1, 2}
    logged = {r["request_id"]: r for r in read_records(server_on_v1.service.settings.log_dir)}
    for _, answer in answers:
        record = logged[answer["request_id"]]
        assert (record["version"], record["outputs"]) == (answer["version"], answer["predictions"])
