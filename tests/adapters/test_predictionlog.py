"""Serving's prediction log read back as columns for drift: files written by the real log
writer, one model's rows in a window, unreadable lines counted, types kept sensible, and
the fast reader checked against a plain json.loads reader on 200k records."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from pipelines.adapters.logsink import PredictionLog
from pipelines.adapters.predictionlog import read_window
from pipelines.adapters.requestlog import MAX_LINE_BYTES, check_record
from pipelines.core.errors import InvalidInput

T0 = datetime(2026, 11, 30, 12, tzinfo=UTC)
WINDOW = {"since": T0, "until": T0 + timedelta(hours=1)}


def record(n: int, *, model: str = "wine", version: int = 1, minutes: float = 0, rows: int = 1, **changes) -> dict:
    """A record as serving's `log_record` writes it: `rows` inputs, one output each."""
    inputs = [{"alcohol": n + row / 10, "colour": "red"} for row in range(rows)]
    return {"request_id": f"req-{n}", "timestamp": (T0 + timedelta(minutes=minutes)).isoformat(), "model": model,
            "version": version, "inputs": inputs, "outputs": [n % 2] * rows, **changes}


def write(folder: Path, records: list[dict], *, extra: bytes = b"") -> Path:
    log = PredictionLog(folder, max_bytes=1 << 30, max_age_s=3600)
    log.write_many(records)
    log.close()
    (path,) = sorted(folder.glob("predictions-*.jsonl"))[-1:]
    with path.open("ab") as handle:
        handle.write(extra)
    return path


def test_one_models_rows_in_the_window_with_their_outputs_times_and_versions(tmp_path: Path) -> None:
    write(tmp_path, [record(1, minutes=0, rows=2), record(2, model="other", minutes=1), record(3, version=2, minutes=5),
                     record(4, minutes=60), record(5, minutes=-1)])
    window = read_window(str(tmp_path), "wine", **WINDOW)
    assert window.frame.to_dict("records") == [
        {"alcohol": 1.0, "colour": "red", "__output": 1, "__time": pd.Timestamp(T0), "__version": 1},
        {"alcohol": 1.1, "colour": "red", "__output": 1, "__time": pd.Timestamp(T0), "__version": 1},
        {"alcohol": 3.0, "colour": "red", "__output": 1, "__time": pd.Timestamp(T0 + timedelta(minutes=5)),
         "__version": 2}]
    assert (window.requests, window.rows, window.skipped_lines, window.files) == (2, 3, 0, 1)
    assert window.versions == {1: 2, 2: 1}


def test_a_version_filter_keeps_the_counts_of_every_version(tmp_path: Path) -> None:
    write(tmp_path, [record(1, rows=3), record(2, version=2, rows=2), record(3, version=2)])
    window = read_window(str(tmp_path), "wine", **WINDOW, version=2, columns=["alcohol", "missing"])
    assert list(window.frame.columns) == ["alcohol", "missing", "__output", "__time", "__version"]
    assert window.frame["alcohol"].tolist() == [2.0, 2.1, 3.0] and window.frame["missing"].isna().all()
    assert (window.requests, window.rows, window.versions) == (2, 3, {1: 3, 2: 3})


@pytest.mark.parametrize("bad", [
    b'{"request_id": "req-9", "model": "wine", "timest',
    b"not json at all",
    b"null",
    b"[1, 2]",
    b'{"some": "other tool", "model": "wine"}',
    json.dumps(record(9, version=1.0)).encode(),
    json.dumps(record(9, version="2")).encode(),
    json.dumps(record(9, version=0)).encode(),
    json.dumps(record(9, timestamp="yesterday")).encode(),
    json.dumps(record(9, timestamp="0001-01-01T00:00:00+05:00")).encode(),
    json.dumps(record(9, request_id="\x1b[2J")).encode(),
    json.dumps(record(9, outputs=[])).encode(),
    json.dumps(record(9, inputs=[1])).encode(),
    json.dumps(record(9, inputs=[None])).encode(),
    b'{"model": "wine", "inputs": [' + b"[" * 20_000 + b"]" * 20_000 + b"]}",
    json.dumps(record(9)).encode() + json.dumps(record(10)).encode(),
], ids=["cut-short", "not-json", "null", "a-list", "foreign-shape", "version-float", "version-string", "version-zero",
        "timestamp-text", "timestamp-out-of-range", "request-id-escapes", "outputs-missing", "inputs-not-objects",
        "input-null", "deeply-nested", "two-objects"])
@pytest.mark.parametrize("where", ["middle", "last"])
def test_a_bad_line_is_counted_and_the_rest_is_read(tmp_path: Path, bad: bytes, where: str) -> None:
    good = [record(n, minutes=n) for n in range(40)]
    path = write(tmp_path, good[:20])
    with path.open("ab") as handle:
        handle.write(bad + b"\n")
        handle.write(b"".join(json.dumps(r).encode() + b"\n" for r in good[20:]) if where == "middle" else b"")
    window = read_window(str(tmp_path), "wine", **WINDOW)
    assert window.skipped_lines == 1
    assert sorted(window.frame["alcohol"]) == [float(n) for n in range(40 if where == "middle" else 20)]


def test_another_models_odd_lines_are_not_its_problem(tmp_path: Path) -> None:
    write(tmp_path, [record(1), record(2, model="other", version=1.5, timestamp="soon")])
    window = read_window(str(tmp_path), "wine", **WINDOW)
    assert (window.rows, window.skipped_lines) == (1, 0)


def test_a_truncated_last_line_after_a_crash(tmp_path: Path) -> None:
    whole = json.dumps(record(2, minutes=1)).encode()
    write(tmp_path, [record(1)], extra=whole[: len(whole) // 2])
    window = read_window(str(tmp_path), "wine", **WINDOW)
    assert (window.requests, window.skipped_lines) == (1, 1)


def test_a_last_line_without_its_newline_is_still_read(tmp_path: Path) -> None:
    write(tmp_path, [record(1)], extra=json.dumps(record(2, minutes=1)).encode())
    assert read_window(str(tmp_path), "wine", **WINDOW).requests == 2


def test_int_and_float_values_of_a_column_read_as_float(tmp_path: Path) -> None:
    mixed = [record(n, minutes=n, inputs=[{"x": n if n % 2 else n + 0.5}]) for n in range(6)]
    write(tmp_path / "a", mixed)
    write(tmp_path / "b", [record(n, minutes=n, inputs=[{"x": n}]) for n in range(4)])  # a file of ints,
    write(tmp_path / "b", [record(n, minutes=n, inputs=[{"x": n / 2}]) for n in range(4)])  # one of floats
    for folder in ("a", "b"):
        frame = read_window(str(tmp_path / folder), "wine", **WINDOW).frame
        assert frame["x"].dtype == "float64", folder


@pytest.mark.parametrize("where", [0, 7, 39], ids=["first", "middle", "last"])
def test_a_column_that_turns_to_text_is_kept_as_objects(tmp_path: Path, where: int) -> None:
    records = [record(n, minutes=n, inputs=[{"x": "n/a" if n == where else n, "y": 1.5}]) for n in range(40)]
    write(tmp_path, records)
    window = read_window(str(tmp_path), "wine", **WINDOW)
    values = dict(zip(window.frame["__time"], window.frame["x"], strict=True))
    assert values[pd.Timestamp(T0 + timedelta(minutes=where))] == "n/a"
    assert sorted(v for v in values.values() if v != "n/a") == [n for n in range(40) if n != where]
    assert window.skipped_lines == 0 and window.frame["y"].dtype == "float64"


def test_a_column_that_changes_type_inside_one_request(tmp_path: Path) -> None:
    write(tmp_path, [record(1, inputs=[{"x": 1}, {"x": "one"}], outputs=[0, 1])])
    assert read_window(str(tmp_path), "wine", **WINDOW).frame["x"].tolist() == [1, "one"]


def test_missing_keys_read_as_missing_values(tmp_path: Path) -> None:
    write(tmp_path, [record(1, inputs=[{"x": 1.5}]), record(2, minutes=1, inputs=[{"y": "b"}]),
                     record(3, minutes=2, inputs=[{"x": None, "y": None}])])
    frame = read_window(str(tmp_path), "wine", **WINDOW).frame
    assert frame["x"].dtype == "float64" and frame["x"].isna().tolist() == [False, True, True]
    assert frame["y"].tolist()[1] == "b" and frame["y"].isna().tolist() == [True, False, True]


def test_an_over_long_line_is_skipped(tmp_path: Path) -> None:
    huge = json.dumps(record(2, inputs=[{"x": "a" * (MAX_LINE_BYTES + 10)}])).encode()
    write(tmp_path, [record(1)], extra=huge + b"\n" + json.dumps(record(3, minutes=1)).encode() + b"\n" + huge)
    window = read_window(str(tmp_path), "wine", **WINDOW)
    assert (window.requests, window.skipped_lines) == (2, 2)


def test_an_fsspec_uri_is_read_like_a_folder(tmp_path: Path) -> None:
    import fsspec

    uri = f"memory://shipped-{uuid.uuid4().hex}"
    for n in range(3):  # shipped as logship does: <uri>/<name>
        path = write(tmp_path / str(n), [record(n, minutes=n)])
        with fsspec.open(f"{uri}/{path.name}", "wb") as sink:
            sink.write(path.read_bytes())
    window = read_window(uri, "wine", **WINDOW)
    assert (window.files, window.requests) == (3, 3)


@pytest.mark.parametrize(("make", "message"), [
    (lambda tmp: tmp / "missing", "no such folder"),
    (lambda tmp: tmp, "no prediction log files"),
], ids=["missing-folder", "empty-folder"])
def test_a_folder_without_logs_says_so(tmp_path: Path, make, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        read_window(str(make(tmp_path)), "wine", **WINDOW)


def test_the_fast_reader_equals_a_json_loads_reader_on_200k_records(tmp_path: Path) -> None:
    lines = _varied_lines(200_000, random.Random(10))
    for part in range(4):
        (tmp_path / f"predictions-{part}.jsonl").write_bytes(b"".join(lines[part::4]))
    since, until = T0 + timedelta(minutes=5), T0 + timedelta(minutes=55)
    window = read_window(str(tmp_path), "wine", since=since, until=until)
    expected, skipped = _reference(tmp_path, "wine", since, until)
    key = ["id", "__output"]
    pd.testing.assert_frame_equal(window.frame.sort_values(key).reset_index(drop=True),
                                  expected[list(window.frame.columns)].sort_values(key).reset_index(drop=True))
    assert window.skipped_lines == skipped > 0 and window.rows > 100_000


def _varied_lines(count: int, rng: random.Random) -> list[bytes]:
    lines = []
    for n in range(count):
        rows = rng.choice([1, 1, 2, 3])
        inputs = [{"id": n * 10 + row, "a": rng.random(), "b": rng.choice([1, 2, 2.5]), "k": rng.choice("xyz")}
                  for row in range(rows)]
        if n % 997 == 0:
            del inputs[0]["a"]
        item = record(n, model=rng.choice(["wine", "wine", "other"]), version=rng.choice([1, 2]),
                      minutes=rng.random() * 60, inputs=inputs, outputs=list(range(rows)))
        line = json.dumps(item).encode()
        if n % 20_011 == 0:
            line = line[: len(line) // 2]
        lines.append(line + b"\n")
    return lines


def _reference(folder: Path, model: str, since: datetime, until: datetime) -> tuple[pd.DataFrame, int]:
    rows, skipped = [], 0
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_bytes().splitlines():
            try:
                item = json.loads(line)
                request = check_record(item, model)
            except ValueError:
                skipped += 1
                continue
            if request is not None and since <= request.time < until:
                rows += [{**inp, "__output": out, "__time": request.time, "__version": request.version}
                         for inp, out in zip(item["inputs"], item["outputs"], strict=True)]
    frame = pd.DataFrame(rows)
    frame["__time"] = pd.to_datetime(frame["__time"], utc=True).astype("datetime64[us, UTC]")
    return frame, skipped


def test_a_file_with_no_row_for_the_model_is_read_as_none(tmp_path: Path) -> None:
    """serving logs every model into one file: a file (or block) of only other models' requests."""
    write(tmp_path / "one", [record(1, model="other"), record(2, model="other")])
    assert read_window(str(tmp_path / "one"), "wine", **WINDOW).rows == 0
    write(tmp_path / "two", [record(1, model="other")])
    write(tmp_path / "two", [record(2, minutes=1)])
    window = read_window(str(tmp_path / "two"), "wine", **WINDOW)
    assert (window.rows, window.requests) == (1, 1)
