"""A pyarrow table of prediction log lines narrowed to one model's rows in a window, with
requestlog's checks done on whole columns: each request's inputs one row each, its
output, time and version beside them. Nothing here reads files or decides.

A column whose type a check cannot be made on (a version that is not always an integer,
a model that is not always a string, inputs that are not objects) raises `Unreadable`:
the caller reads those lines one by one instead.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pipelines.adapters.requestlog import MAX_TIMESTAMP_CHARS, REQUEST_ID, read_time

if TYPE_CHECKING:
    import pyarrow as pa

TIME, VERSION, OUTPUT = "__time", "__version", "__output"


class Unreadable(Exception):
    """pyarrow could not read a run of lines as serving's records."""


@dataclass(frozen=True)
class Query:
    """Which rows a reader wants: one model's, received in [since, until), of one version or any."""

    model: str
    since: datetime
    until: datetime
    version: int | None = None
    columns: list[str] | None = None


@dataclass
class Tally:
    """What reading found besides rows: lines skipped, requests kept, rows per version in the window."""

    skipped: int = 0
    requests: int = 0
    versions: Counter[int] = field(default_factory=Counter)

    def add(self, other: Tally) -> None:
        """Count `other` in too."""
        self.skipped += other.skipped
        self.requests += other.requests
        self.versions.update(other.versions)


def table_rows(table: pa.Table, query: Query) -> tuple[Any, Tally]:
    """A frame of the table's rows for `query` (None if none) and what was found on the way."""
    import pyarrow as pa
    import pyarrow.compute as pc

    found = Tally()
    if "model" not in table.column_names:
        return None, found
    model = _column(table, "model", pa.types.is_string, pa.string())
    mine = table.filter(pc.fill_null(pc.equal(model, query.model), False))
    if mine.num_rows == 0:
        return None, found
    request_id = _column(mine, "request_id", pa.types.is_string, pa.string())
    version = _column(mine, "version", lambda t: t == pa.int64(), pa.int64())
    inputs = _column(mine, "inputs", _is_records, pa.list_(pa.struct([])))
    outputs = _column(mine, "outputs", pa.types.is_list, pa.list_(pa.null()))
    times = _times(_column(mine, "timestamp", pa.types.is_string, pa.string()))
    valid = _all(pc.match_substring_regex(request_id, f"^(?:{REQUEST_ID.pattern})$"),
                 pc.greater_equal(version, 1), pc.is_valid(times),
                 pc.equal(pc.list_value_length(inputs), pc.list_value_length(outputs)))
    found.skipped = mine.num_rows - pc.sum(valid).as_py()
    keep = _all(valid, pc.greater_equal(times, _stamp(query.since)), pc.less(times, _stamp(query.until)))
    version, inputs, outputs, times = (pc.filter(a, keep) for a in (version, inputs, outputs, times))
    found.versions.update(_rows_per_version(version, inputs))
    if query.version is not None:
        mask = pc.equal(version, query.version)
        version, inputs, outputs, times = (pc.filter(a, mask) for a in (version, inputs, outputs, times))
    found.requests = len(version)
    return _exploded(inputs, outputs, times, version, query.columns), found


def _column(table: pa.Table, name: str, accept: Any, empty: pa.DataType) -> pa.Array:
    import pyarrow as pa

    if name not in table.column_names or pa.types.is_null(table[name].type):
        return pa.nulls(table.num_rows, empty)
    column = table[name].combine_chunks()
    if not accept(column.type):
        raise Unreadable(f"{name} is {column.type}")
    return column


def _is_records(kind: pa.DataType) -> bool:
    import pyarrow as pa

    return pa.types.is_list(kind) and (pa.types.is_struct(kind.value_type) or pa.types.is_null(kind.value_type))


def _all(*conditions: pa.Array) -> pa.Array:
    import pyarrow.compute as pc

    result = conditions[0]
    for condition in conditions[1:]:
        result = pc.and_kleene(result, condition)
    return pc.fill_null(result, False)


def _times(text: pa.Array) -> pa.Array:
    """UTC instants of ISO 8601 strings; null where requestlog's `read_time` would refuse one."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = pa.timestamp("us", "UTC")
    text = pc.if_else(pc.less_equal(pc.utf8_length(text), MAX_TIMESTAMP_CHARS), text, None)
    try:
        times = text.cast(kind)
    except (pa.ArrowInvalid, OverflowError):  # no offset (UTC to read_time) or not a time: ask Python
        times = pa.array([_time_or_none(value) for value in text.to_pylist()], kind)
    in_range = _all(pc.greater_equal(times, _stamp(datetime.min)), pc.less_equal(times, _stamp(datetime.max)))
    return pc.if_else(in_range, times, None)


def _time_or_none(text: str | None) -> datetime | None:
    try:
        return read_time(text)
    except (ValueError, OverflowError):
        return None


def _stamp(when: datetime) -> pa.Scalar:
    import pyarrow as pa

    return pa.scalar(when if when.tzinfo else when.replace(tzinfo=UTC), pa.timestamp("us", "UTC"))


def _rows_per_version(version: pa.Array, inputs: pa.Array) -> dict[int, int]:
    import pyarrow as pa
    import pyarrow.compute as pc

    counts = pa.table({"v": version, "n": pc.list_value_length(inputs)}).group_by("v").aggregate([("n", "sum")])
    return dict(zip(counts["v"].to_pylist(), counts["n_sum"].to_pylist(), strict=True))


def _exploded(inputs: pa.Array, outputs: pa.Array, times: pa.Array, version: pa.Array,
              wanted: list[str] | None) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    flat, parents = pc.list_flatten(inputs), pc.list_parent_indices(inputs)
    if len(flat) == 0:
        return None
    names = [f.name for f in flat.type] if pa.types.is_struct(flat.type) else []
    fields = dict(zip(names, flat.flatten(), strict=True)) if names else {}
    columns = fields if wanted is None else {name: fields[name] for name in wanted if name in fields}
    return pa.table({**columns, OUTPUT: pc.list_flatten(outputs), TIME: pc.take(times, parents),
                     VERSION: pc.take(version, parents)}).to_pandas()
