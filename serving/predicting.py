"""What a batch of requests does in its worker thread: predict once, log every request
with one fsync, and hand each request its own predictions.

A batch whose joint prediction fails is retried request by request, so one request's
bad values fail only that request. A log write failure fails them all: no request is
answered without its record.
"""

from __future__ import annotations

from typing import Any

from pipelines.adapters.logsink import PredictionLog
from serving.batching import Pending
from serving.slot import LiveModel


def run_batch(log: PredictionLog, live: LiveModel, *, group: list[Pending]) -> list[Any]:
    """Predictions (or the exception) per request of `group`, all made by `live`, all logged."""
    try:
        values = live.predict([record for pending in group for record in pending.records],
                              values=group[0].columns if len(group) == 1 else None)
    except Exception as exc:  # find the request(s) it came from
        return [exc] if len(group) == 1 else [run_batch(log, live, group=[pending])[0] for pending in group]
    outputs = split(values, [len(pending.records) for pending in group])
    log.write_many([log_record(live, pending, outputs=out) for pending, out in zip(group, outputs, strict=True)])
    return outputs


def split(values: list, sizes: list[int]) -> list[list]:
    """`values` cut into consecutive runs of `sizes`."""
    out, start = [], 0
    for size in sizes:
        out.append(values[start:start + size])
        start += size
    return out


def log_record(live: LiveModel, pending: Pending, *, outputs: list) -> dict[str, Any]:
    """The prediction log line of one answered request: an image is logged as its sha256, format, size
    and mean per channel, never its bytes."""
    inputs = [r.log_entry() for r in pending.records] if live.image is not None else pending.records
    return {"request_id": pending.request_id, "timestamp": pending.received.isoformat(), "model": live.name,
            "version": live.version, "inputs": inputs, "outputs": outputs}

