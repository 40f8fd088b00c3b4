"""A large prediction request does not stall the process: while `python -m serving` parses,
checks, predicts and logs an ~8 MB batch, health and readiness checks keep answering
within the issue's budget (a load balancer that waits longer takes the replica out)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx

from tests.helpers import pin
from tests.serving.helpers import Trained, process_env, serving_process

BODY_BYTES = 8_000_000  # the issue's ~8 MB request, under the default 8 MiB body limit
BUDGET_S = 0.1  # the budget for a health check answered during it: 95% of them must meet it
# Every one must answer within 3x that: a few checks in a run catch scheduler hiccups on a busy
# 2-core CI machine (seen up to ~0.21 s at a load average of 6.6), while parsing and checking this
# body on the event loop stalls a check for 0.34-0.49 s there.
STALL_S = 0.3
MIN_SAMPLES = 5  # fewer checks during the request would prove nothing either way
MODEL = "diabetes_hgb"  # short column names: many records to parse and check per megabyte
PATIENT = {"age": 50.0, "sex": "2", "bmi": 30.1, "bp": 90.0, "s1": 200.0, "s2": 120.0, "s3": 40.0, "s4": 5.0,
           "s5": 4.9, "s6": 95.0}


def test_health_checks_answer_within_budget_while_an_8_mb_request_is_processed(
    trained: Trained, tmp_path: Path
) -> None:
    pin(trained.root, **{MODEL: trained.entries["diabetes"]})
    body = _batch(BODY_BYTES)
    env = process_env(trained, tmp_path, MLPIN_MAX_ROWS=str(body.count(b"{")))
    with serving_process(env) as (_, url), httpx.Client(base_url=url, timeout=30) as client:
        assert client.get("/healthz").status_code == client.get("/readyz").status_code == 200  # connection warm
        answer: dict = {}
        big = threading.Thread(target=_post, args=(url, body, answer))
        big.start()
        latencies = _checks_while(big.is_alive, client)
        big.join()
    assert answer["status"] == 200 and answer["predictions"] == body.count(b"{"), answer
    assert len(latencies) >= MIN_SAMPLES, f"only {len(latencies)} health checks ran during the request"
    slowest = sorted(s for _, s in latencies)
    assert slowest[-1] < STALL_S, f"a check took {slowest[-1]:.3f} s: the event loop stalled ({len(slowest)} checks)"
    over = [(path, round(s, 3)) for path, s in latencies if s >= BUDGET_S]
    assert len(over) <= len(latencies) // 20, f"{len(over)} of {len(latencies)} checks took {BUDGET_S} s+: {over}"


def _batch(size: int) -> bytes:
    """A JSON list of patients of about `size` bytes (each a little different)."""
    one = len(json.dumps(PATIENT, separators=(",", ":"))) + 1
    records = [{**PATIENT, "bmi": 20.0 + i % 100 / 10} for i in range(size // one)]
    return json.dumps(records, separators=(",", ":")).encode()


def _post(url: str, body: bytes, answer: dict) -> None:
    response = httpx.post(f"{url}/predict/{MODEL}", content=body, timeout=120,
                          headers={"content-type": "application/json"})
    answer.update(status=response.status_code, predictions=len(response.json().get("predictions", [])))


def _checks_while(running, client: httpx.Client) -> list[tuple[str, float]]:
    """(path, seconds) of /healthz and /readyz, alternately, for as long as `running()`."""
    latencies = []
    while running():
        for path in ("/healthz", "/readyz"):
            started = time.perf_counter()
            assert client.get(path).status_code == 200
            latencies.append((path, time.perf_counter() - started))
    return latencies
