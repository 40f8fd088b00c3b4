"""Where a prediction's time goes in mlpin, step by step, in the benchmark's own process.

The floor evidence of scripts/bench_serving: each step of the 10k-row batch path (parse,
check, frame from the values the check gathered, the estimator's own predict, log line
encoding, the durable write with its fsync, the answer's encoding) and of a single row
(the estimator on one row, one fsync), timed alone on the same model folder the servers
load (median of repeats). A step no server can skip (the estimator, the fsync mlpin owes
every answer) bounds what any change elsewhere can win.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def step_costs(folder: Path, *, sha256: str, record: dict, rows: int) -> dict[str, float]:
    """Median seconds of each step, for a batch of `rows` copies of `record` and for `record` alone."""
    from pipelines.adapters.logsink import PredictionLog, encode_line
    from pipelines.core.inputs import check_batch
    from serving.fastjson import dumps
    from serving.http import parse_json
    from serving.loader import load
    from serving.slot import to_frame

    live = load(folder, name="bench", version=1, artifact_sha256=sha256, tags={}, now=datetime.now(UTC))
    body = json.dumps([record] * rows).encode()
    records = parse_json(body)
    values = check_batch(records, live.columns)[2]  # the batch's values per column, as the server keeps them
    frame = to_frame(records, live.columns, values=values)
    outputs = live.predict(records)
    line = {"request_id": "r", "timestamp": "t", "model": "bench", "version": 1, "inputs": records, "outputs": outputs}
    one = to_frame([record], live.columns)
    with tempfile.TemporaryDirectory(prefix="mlpin-costs-") as tmp:
        log = PredictionLog(Path(tmp), max_bytes=1 << 30, max_age_s=3600)
        single_line = {**line, "inputs": [record], "outputs": outputs[:1]}
        costs = {
            "batch_parse": _median(lambda: parse_json(body)),
            "batch_check": _median(lambda: check_batch(records, live.columns)),
            "batch_frame": _median(lambda: to_frame(records, live.columns, values=values)),
            "batch_estimator": _median(lambda: live.predictor.predict(frame)),
            "batch_log_encode": _median(lambda: encode_line(line)),
            "batch_log_write_fsync": _median(lambda: log.write_many([line])),
            "batch_answer_encode": _median(lambda: dumps({"predictions": outputs})),
            "row_estimator": _median(lambda: live.predictor.predict(one), times=50),
            "row_log_write_fsync": _median(lambda: log.write_many([single_line]), times=50),
        }
        log.close()
    return costs


def _median(call: Callable[[], Any], *, times: int = 5) -> float:
    found = []
    for _ in range(times):
        begin = time.perf_counter()
        call()
        found.append(time.perf_counter() - begin)
    return statistics.median(found)
