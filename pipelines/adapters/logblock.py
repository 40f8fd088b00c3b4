"""One block of prediction log lines turned into rows: the requests of one model in a time
window, their inputs one row each. Opens no file and decides nothing.

pyarrow reads the block's plausible lines in one call. It must never see a line that may
crash it or that it reads wrongly (pyarrow 25 segfaults on a `null` line and on deep
nesting, and reads a `null` list item as a struct of zeros), so such lines, and the lines
of a run pyarrow refuses (a bad line, a column that changes type), are read one by one
with json by requestlog's rules: runs are halved until what fails stands alone.
A record that is not serving's (see `requestlog.check_record`, plus inputs that are not
a list of objects with one output each) is counted in `Tally.skipped`, never raised.
"""

from __future__ import annotations

import json
from typing import Any

from pipelines.adapters.logtable import OUTPUT, TIME, VERSION, Query, Tally, Unreadable, table_rows
from pipelines.adapters.requestlog import check_record

MAX_OPENERS = 1000  # `[` and `{` in a line pyarrow may read: bounds its nesting depth
SMALL_RUN = 16  # a failing run of this many lines or fewer is read line by line
NULL_AFTER = b"[, \t\r"  # a `null` after one of these may be a list item


def read_block(block: bytes, query: Query, tally: Tally, *, limit: int) -> list[Any]:
    """Frames of the block's rows for `query` (lines end in a newline; longer than `limit`: skipped)."""
    import numpy as np

    data = np.frombuffer(block, dtype=np.uint8)
    ends = np.flatnonzero(data == ord("\n"))
    if len(ends) == 0:
        return []
    starts = np.concatenate(([0], ends[:-1] + 1))
    lengths = ends - starts
    tally.skipped += int((lengths > limit).sum())
    wanted = (lengths > 0) & (lengths <= limit)
    plain = wanted & _plain(block, data, starts, ends)
    frames = _read_run(_joined(block, starts, ends, plain), query, tally)
    odd = [block[s:e] for s, e in zip(starts[wanted & ~plain], ends[wanted & ~plain], strict=True)]
    return [*frames, *_read_lines(odd, query, tally)]


def _plain(block: bytes, data: Any, starts: Any, ends: Any) -> Any:
    """Lines pyarrow may see: an object on its own line, shallow, no null list item."""
    import numpy as np

    plain = (data[starts] == ord("{")) & (data[np.maximum(ends - 1, 0)] == ord("}"))
    openers = np.flatnonzero((data == ord("[")) | (data == ord("{")))
    plain &= np.bincount(np.searchsorted(ends, openers), minlength=len(ends)) <= MAX_OPENERS
    if b"null" in block:  # `[null` or `, null` (a `null` after `:` is a missing value: fine)
        n = np.flatnonzero(data[:-4] == ord("n"))
        n = n[(n > 0) & (data[n + 1] == ord("u")) & (data[n + 2] == ord("l")) & (data[n + 3] == ord("l"))]
        plain[np.searchsorted(ends, n[np.isin(data[n - 1], list(NULL_AFTER))])] = False
    return plain


def _joined(block: bytes, starts: Any, ends: Any, keep: Any) -> bytes:
    """The kept lines with their newlines, copied only where some are left out."""
    if keep.all():
        return block
    return b"".join(block[s:e + 1] for s, e in zip(starts[keep], ends[keep], strict=True))


def _read_run(run: bytes, query: Query, tally: Tally) -> list[Any]:
    """Frames of a run of plain lines: in one pyarrow call, else halved, else line by line."""
    import numpy as np

    ends = np.flatnonzero(np.frombuffer(run, dtype=np.uint8) == ord("\n"))
    if len(ends) == 0:
        return []
    try:
        frame, found = _arrow_rows(run, len(ends), int(np.diff(ends, prepend=-1).max()), query)
    except Unreadable:
        if len(ends) <= SMALL_RUN:
            return _read_lines(run.splitlines(), query, tally)
        cut = int(ends[len(ends) // 2 - 1]) + 1
        return [*_read_run(run[:cut], query, tally), *_read_run(run[cut:], query, tally)]
    tally.add(found)
    return [] if frame is None else [frame]  # None: no row of the block is the query's


def _arrow_rows(run: bytes, lines: int, longest: int, query: Query) -> tuple[Any, Tally]:
    import pyarrow as pa
    import pyarrow.json as pj

    options = pj.ReadOptions(block_size=max(1 << 20, longest + 1))
    try:
        table = pj.read_json(pa.BufferReader(run), read_options=options)
    except (pa.ArrowException, ValueError) as exc:
        raise Unreadable(str(exc)) from exc
    if table.num_rows != lines:  # `{..}{..}` on one line: two objects, not one record
        raise Unreadable("a line holds more than one object")
    return table_rows(table, query)


def _read_lines(lines: list[bytes], query: Query, tally: Tally) -> list[Any]:
    """One frame of the lines' rows, each line read with json (NaN and Infinity read as pyarrow does)."""
    import pandas as pd

    rows: list[dict[str, Any]] = []
    for line in lines:
        if not line.strip():
            continue
        try:
            rows.extend(_line_rows(line, query, tally))
        except (ValueError, RecursionError, OverflowError, TypeError):
            tally.skipped += 1
    return [pd.DataFrame(rows)] if rows else []


def _line_rows(line: bytes, query: Query, tally: Tally) -> list[dict[str, Any]]:
    record = json.loads(line)
    request = check_record(record, query.model)
    if request is None:
        return []
    inputs, outputs = record.get("inputs"), record.get("outputs")
    if not isinstance(inputs, list) or not isinstance(outputs, list) or len(inputs) != len(outputs):
        raise ValueError("inputs and outputs are not lists of one output per input")
    if not all(isinstance(item, dict) for item in inputs):
        raise ValueError("an input is not an object")
    if not query.since <= request.time < query.until:
        return []
    tally.versions[request.version] += len(inputs)
    if query.version is not None and request.version != query.version:
        return []
    tally.requests += 1
    wanted = query.columns
    return [{**(item if wanted is None else {k: item[k] for k in wanted if k in item}),
             OUTPUT: output, TIME: request.time, VERSION: request.version}
            for item, output in zip(inputs, outputs, strict=True)]

