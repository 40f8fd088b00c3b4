"""Serving's prediction log read back, one model's requests at a time, for `mlpin history
--logs`: every `predictions-*.jsonl` file in a local folder or under any fsspec URI (where
serving ships them). Only what history needs is kept; nothing here decides.

The files are read as untrusted: a line is never held past `MAX_LINE_BYTES` (longer ones
are skipped up to the next newline), and a line that is not one of serving's records
(cut short, not JSON, nested too deeply, a version that is not a positive integer, a
time that is not ISO 8601, a request id serving would not have written) is counted in
`skipped`, never raised.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from pipelines.adapters.logsink import PREFIX
from pipelines.core.answered import LoggedRequest
from pipelines.core.errors import InvalidInput, OutsideSystemError

# Serving's body limit is 8 MiB by default; a record holds the inputs once, plus outputs.
MAX_LINE_BYTES = 16 << 20
CHUNK_BYTES = 1 << 20
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")  # what serving/http.py accepts or makes (uuid hex)
MAX_TIMESTAMP_CHARS = 40


class RequestLog:
    """The logged requests of `model` under `uri`; `skipped` counts its lines that could not be read."""

    def __init__(self, uri: str, model: str) -> None:
        self.uri = uri
        self.model = model
        self.skipped = 0

    def requests(self) -> Iterator[LoggedRequest]:
        """Each logged request of the model, file by file (in no promised order), streamed."""
        fs, paths = self._files()
        for path in paths:
            try:
                with fs.open(path, "rb") as handle:
                    yield from self._parse(handle)
            except OSError as exc:
                raise OutsideSystemError("log store", f"reading {path} failed: {exc}") from exc

    def _files(self) -> tuple[Any, list[str]]:
        return log_files(self.uri)

    def _parse(self, handle: IO[bytes]) -> Iterator[LoggedRequest]:
        for line in bounded_lines(handle, limit=MAX_LINE_BYTES):
            if line is None:  # longer than any record serving writes
                self.skipped += 1
                continue
            if not line.strip():
                continue
            try:
                request = read_request(line, self.model)
            except (ValueError, RecursionError, OverflowError):  # e.g. a line cut short by a crash
                self.skipped += 1
                continue
            if request is not None:
                yield request


def log_files(uri: str) -> tuple[Any, list[str]]:
    """The filesystem and sorted paths of every prediction log file (regular files only) under `uri`."""
    import fsspec

    local = "://" not in uri
    if local and not Path(uri).is_dir():
        raise InvalidInput(f"--logs {uri}: no such folder; pass serving's MLPIN_LOG_DIR or MLPIN_LOG_URI")
    try:
        fs, root = fsspec.core.url_to_fs(str(Path(uri).resolve()) if local else uri)
        found = fs.glob(f"{root.rstrip('/')}/{PREFIX}*.jsonl", detail=True)
    except Exception as exc:  # fsspec backends raise their own types
        raise OutsideSystemError("log store", f"listing {uri} failed: {exc}") from exc
    # a folder, a device or a pipe by that name is not a log file (/dev/zero would never end)
    paths = sorted(path for path, info in found.items() if info.get("type", "file") == "file")
    if not paths:
        raise InvalidInput(f"--logs {uri}: no prediction log files ({PREFIX}*.jsonl) there")
    return fs, paths


def read_request(line: bytes, model: str) -> LoggedRequest | None:
    """The request a log line records for `model`; None for another model's line. Raises
    ValueError (or RecursionError, OverflowError) for a line that is not a readable record."""
    return check_record(json.loads(line, parse_constant=_no_constant), model)


def check_record(record: Any, model: str) -> LoggedRequest | None:
    """`read_request` for a line already parsed: None for another model's record; ValueError
    (or OverflowError) for one that is not serving's."""
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    if record.get("model") != model:
        return None
    request_id, version = record.get("request_id"), record.get("version")
    if not isinstance(request_id, str) or not REQUEST_ID.fullmatch(request_id):
        raise ValueError("request_id is not a request id serving writes")
    if type(version) is not int or version < 1:  # not True, 1.9 or "007"
        raise ValueError("version is not a positive integer")
    return LoggedRequest(request_id=request_id, time=read_time(record.get("timestamp")), version=version)


def bounded_lines(handle: IO[bytes], *, limit: int, chunk: int = CHUNK_BYTES) -> Iterator[bytes | None]:
    """Each line of a binary stream, without its newline; None for a line longer than
    `limit` bytes, which is dropped as it is read (never held whole) up to its newline."""
    parts: list[bytes] = []
    size, over = 0, False
    while block := handle.read(chunk):
        start = 0
        while (end := block.find(b"\n", start)) >= 0:
            over = over or size + end - start > limit
            yield None if over else b"".join([*parts, block[start:end]])
            parts, size, over, start = [], 0, False, end + 1
        size += len(block) - start
        over = over or size > limit
        parts = [] if over else [*parts, block[start:]]
    if over or size:
        yield None if over else b"".join(parts)


def read_time(text: object) -> datetime:
    """The UTC instant of a logged ISO 8601 time (no offset: UTC); ValueError or OverflowError if it is none."""
    if not isinstance(text, str) or len(text) > MAX_TIMESTAMP_CHARS:
        raise ValueError("timestamp is not an ISO 8601 time")
    value = datetime.fromisoformat(text)  # `Z`, `+00:00` and other offsets; no offset: UTC
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)


def _no_constant(name: str) -> Any:
    # Python's json reads NaN and Infinity; serving never writes them (JSON has no such numbers).
    raise ValueError(f"{name} is not a JSON number")
