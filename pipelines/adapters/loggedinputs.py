"""The logged inputs of chosen requests, read back from serving's prediction logs so labels
that arrive later can be joined to what the model was asked. Nothing here decides.

Unlike `predictionlog` (whole windows, column-wise, for drift), this keeps the request id
and reads every file line by line with requestlog's rules: a line is never held past
`MAX_LINE_BYTES`, and one that is not serving's record is skipped, never raised. Only the
records of the wanted ids are kept, so memory follows the labelled batch, not the logs.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from pipelines.adapters.requestlog import MAX_LINE_BYTES, bounded_lines, check_record, log_files
from pipelines.core.errors import OutsideSystemError


def logged_inputs(uri: str, model: str, wanted: Collection[str]) -> dict[str, list[list[dict[str, Any]]]]:
    """Request id -> the input records of each logged request of `model` with that id (an id
    serving logged twice appears twice), for the ids in `wanted`, over every log file under `uri`."""
    ids = set(wanted)
    found: dict[str, list[list[dict[str, Any]]]] = {}
    fs, paths = log_files(uri)
    for path in paths:
        try:
            with fs.open(path, "rb") as handle:
                for line in bounded_lines(handle, limit=MAX_LINE_BYTES):
                    request = _request(line, model, ids) if line else None
                    if request is not None:
                        found.setdefault(request[0], []).append(request[1])
        except OSError as exc:
            raise OutsideSystemError("log store", f"reading {path} failed: {exc}") from exc
    return found


def _request(line: bytes, model: str, ids: set[str]) -> tuple[str, list[dict[str, Any]]] | None:
    """(request id, inputs) of a wanted request's line; None for any other or unreadable line."""
    try:
        record = json.loads(line)
        request = check_record(record, model)
    except (ValueError, RecursionError, OverflowError):  # e.g. a line cut short by a crash
        return None
    if request is None or request.request_id not in ids:
        return None
    inputs = record.get("inputs")
    if not isinstance(inputs, list) or not all(isinstance(item, dict) for item in inputs):
        return None
    return request.request_id, inputs
