"""Serving's prediction log read back as columns for drift checks: one model's logged inputs
and outputs in a time window, from every `predictions-*.jsonl` file in a local folder or
under any fsspec URI. Nothing here decides.

Files are untrusted and read as `requestlog` reads them: a line is never held past
`MAX_LINE_BYTES`, and a line that is not one of serving's records is counted in
`LoggedWindow.skipped_lines`, never raised (see `logblock` for how, fast).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from pipelines.adapters.logblock import read_block
from pipelines.adapters.logtable import OUTPUT, TIME, VERSION, Query, Tally
from pipelines.adapters.requestlog import MAX_LINE_BYTES, log_files
from pipelines.core.errors import InvalidInput, OutsideSystemError

BLOCK_BYTES = 16 << 20  # read and parsed at a time (plus at most one line carried over)


@dataclass(frozen=True)
class LoggedWindow:
    """One model's logged rows in a window: inputs as logged, plus `__output`, `__time` (UTC), `__version`."""

    frame: Any  # pandas.DataFrame, one row per input record, in no promised order
    requests: int  # requests in the window for the model (and version, if asked)
    rows: int
    skipped_lines: int  # lines that are not serving's records (any model's): truncated, not JSON, over-long ...
    files: int
    versions: dict[int, int]  # rows per version in the window, before the version filter


def read_window(uri: str, model: str, *, since: datetime, until: datetime, version: int | None = None,
                columns: list[str] | None = None) -> LoggedWindow:
    """The rows of `model` (of `version`, if given) received in [since, until) logged under `uri`."""
    if since.tzinfo is None or until.tzinfo is None:
        raise InvalidInput("the window's since and until must be aware datetimes (UTC or with an offset)")
    fs, paths = log_files(uri)
    query, tally = Query(model, since, until, version, columns), Tally()
    frames: list[Any] = []
    for path in paths:
        try:
            with fs.open(path, "rb") as handle:
                for block in blocks(handle, tally=tally):
                    frames.extend(read_block(block, query, tally, limit=MAX_LINE_BYTES))
        except OSError as exc:
            raise OutsideSystemError("log store", f"reading {path} failed: {exc}") from exc
    frame = _combined(frames, columns)
    return LoggedWindow(frame=frame, requests=tally.requests, rows=len(frame), skipped_lines=tally.skipped,
                        files=len(paths), versions=dict(sorted(tally.versions.items())))


def blocks(handle: IO[bytes], *, tally: Tally, size: int = BLOCK_BYTES,
           limit: int = MAX_LINE_BYTES) -> Iterator[bytes]:
    """Runs of whole lines, each ending in a newline; a line seen to pass `limit` bytes before
    its newline is dropped as it is read (counted in `tally.skipped`), never held whole."""
    carry, dropping = b"", False
    while chunk := handle.read(size):
        if dropping:  # the rest of an over-long line
            newline = chunk.find(b"\n")
            if newline < 0:
                continue
            chunk, dropping = chunk[newline + 1:], False
        data = carry + chunk if carry else chunk
        cut = data.rfind(b"\n") + 1
        carry = data[cut:]
        if len(carry) > limit:
            tally.skipped += 1
            carry, dropping = b"", True
        if cut:
            yield data[:cut]
    if carry:  # a last line without its newline: most likely cut short, read (or skipped) all the same
        yield carry + b"\n"


def _combined(frames: list[Any], columns: list[str] | None) -> Any:
    """One frame; a column null throughout a piece is left out of it, so it cannot turn numbers into objects."""
    import pandas as pd

    names: dict[str, None] = dict.fromkeys(columns or [])
    kept = []
    for frame in frames:
        names.update(dict.fromkeys(c for c in frame.columns if c not in (OUTPUT, TIME, VERSION)))
        kept.append(frame.loc[:, frame.notna().any() | frame.columns.isin([OUTPUT, TIME, VERSION])])
    order = [*names, OUTPUT, TIME, VERSION]
    if not kept:
        return pd.DataFrame(columns=order)
    frame = pd.concat(kept, ignore_index=True, sort=False).reindex(columns=order)
    frame[TIME] = pd.to_datetime(frame[TIME], utc=True).astype("datetime64[us, UTC]")
    frame[VERSION] = frame[VERSION].astype("int64")
    return frame
