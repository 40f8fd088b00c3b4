"""Serving's prediction log read back for history: files written by the real log writer,
in a local folder or behind an fsspec URI, one model's requests, unreadable lines counted."""

from __future__ import annotations

import io
import json
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipelines.adapters.logsink import PredictionLog
from pipelines.adapters.requestlog import MAX_LINE_BYTES, RequestLog, bounded_lines
from pipelines.core.errors import InvalidInput


def write_log(folder: Path) -> list[dict]:
    records = [{"request_id": f"r{n}", "timestamp": datetime(2026, 11, 30, 12, n, tzinfo=UTC).isoformat(),
                "model": model, "version": version, "inputs": [{}], "outputs": [1]}
               for n, (model, version) in enumerate([("wine", 1), ("other", 7), ("wine", 2)])]
    log = PredictionLog(folder, max_bytes=1, max_age_s=3600)  # a file per record: several files to read
    for record in records:
        log.write(record)
    log.close()
    return records


def test_a_folder_yields_one_models_requests(tmp_path: Path) -> None:
    write_log(tmp_path)
    with next(tmp_path.glob("predictions-*.jsonl")).open("a") as handle:
        handle.write('{"model": "wine", "timest')  # a line cut short by a crash
    log = RequestLog(str(tmp_path), "wine")
    found = sorted((r.request_id, r.version, r.time.minute) for r in log.requests())
    assert found == [("r0", 1, 0), ("r2", 2, 2)] and log.skipped == 1


def test_an_fsspec_uri_is_read_like_a_folder(tmp_path: Path) -> None:
    import fsspec

    uri = f"memory://shipped-{uuid.uuid4().hex}"
    write_log(tmp_path / "local")
    for path in sorted((tmp_path / "local").glob("*.jsonl")):  # shipped as logship does: <uri>/<name>
        with fsspec.open(f"{uri}/{path.name}", "wb") as sink:
            sink.write(path.read_bytes())
    assert sorted(r.request_id for r in RequestLog(uri, "wine").requests()) == ["r0", "r2"]


@pytest.mark.parametrize(("make", "message"), [
    (lambda tmp: tmp / "missing", "no such folder"),
    (lambda tmp: tmp, "no prediction log files"),
], ids=["missing-folder", "empty-folder"])
def test_a_folder_without_logs_says_so(tmp_path: Path, make, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        list(RequestLog(str(make(tmp_path)), "wine").requests())


GOOD = {"request_id": "ok-1", "timestamp": "2026-11-30T12:00:00+00:00", "model": "wine", "version": 2}


def line(**changes) -> bytes:
    return json.dumps({**GOOD, **changes}).encode()


@pytest.mark.parametrize("bad", [
    b'{"request_id": "r", "timestamp": "2026-11-30T12:00:00+00:00", "model": "wine", "version": Infinity}',
    b'{"request_id": "r", "timestamp": "2026-11-30T12:00:00+00:00", "model": "wine", "version": NaN}',
    b"[" * 100_000,
    b'{"model": "wine", "version": ' + b"9" * 5000 + b"}",
    line(version=True), line(version=1.9), line(version="007"), line(version=0), line(version=-1),
    line(version=None), line(timestamp=12345), line(timestamp="yesterday"), line(timestamp=None),
    line(timestamp="0001-01-01T00:00:00+05:00"), line(request_id="\x1b[2Jowned"), line(request_id=7),
    line(request_id=""), b"[1, 2]", b'"wine"', b"null", b"\xff\xfe{", b'{"model": "wine", "timest',
], ids=["infinity", "nan", "deeply-nested", "huge-int", "version-true", "version-float", "version-string",
        "version-zero", "version-negative", "version-null", "timestamp-number", "timestamp-text",
        "timestamp-null", "timestamp-out-of-range", "request-id-escapes", "request-id-number", "request-id-empty",
        "a-list", "a-string", "null", "not-utf8", "cut-short"])
def test_a_hostile_or_corrupt_line_is_counted_and_skipped(tmp_path: Path, bad: bytes) -> None:
    (tmp_path / "predictions-1.jsonl").write_bytes(bad + b"\n" + line() + b"\n")
    log = RequestLog(str(tmp_path), "wine")
    assert [(r.request_id, r.version) for r in log.requests()] == [("ok-1", 2)] and log.skipped == 1


@pytest.mark.parametrize(("stamp", "expected"), [
    ("2026-11-30T12:00:00+00:00", datetime(2026, 11, 30, 12, tzinfo=UTC)),
    ("2026-11-30T12:00:00Z", datetime(2026, 11, 30, 12, tzinfo=UTC)),
    ("2026-11-30T12:00:00.250Z", datetime(2026, 11, 30, 12, 0, 0, 250_000, tzinfo=UTC)),
    ("2026-11-30T14:00:00+02:00", datetime(2026, 11, 30, 12, tzinfo=UTC)),
    ("2026-11-30T12:00:00", datetime(2026, 11, 30, 12, tzinfo=UTC)),
], ids=["utc-offset", "z", "z-millis", "other-offset", "naive-is-utc"])
def test_timestamps_are_read_as_utc_instants(tmp_path: Path, stamp: str, expected: datetime) -> None:
    (tmp_path / "predictions-1.jsonl").write_bytes(line(timestamp=stamp) + b"\n")
    (found,) = RequestLog(str(tmp_path), "wine").requests()
    assert found.time == expected and found.time.utcoffset() == timedelta(0)


def test_other_models_and_blank_lines_are_not_counted_as_unreadable(tmp_path: Path) -> None:
    (tmp_path / "predictions-1.jsonl").write_bytes(b"\n".join([
        line(model="other", version="not even a version"), b"", b"   ", line(model="wine_v2"), line(), b""]))
    log = RequestLog(str(tmp_path), "wine")
    assert [r.request_id for r in log.requests()] == ["ok-1"] and log.skipped == 0


def test_entries_that_are_not_files_are_not_opened(tmp_path: Path) -> None:
    (tmp_path / "predictions-1.jsonl").write_bytes(line() + b"\n")
    (tmp_path / "predictions-2.jsonl").mkdir()
    (tmp_path / "predictions-3.jsonl").symlink_to("/dev/zero")  # would never end
    assert [r.request_id for r in RequestLog(str(tmp_path), "wine").requests()] == ["ok-1"]


def test_a_line_longer_than_the_limit_is_skipped_without_being_held(tmp_path: Path) -> None:
    pad = b"x" * (2 * MAX_LINE_BYTES)
    (tmp_path / "predictions-1.jsonl").write_bytes(b'{"model": "wine", "pad": "' + pad + b'"}\n' + line() + b"\n"
                                                   + b"y" * (MAX_LINE_BYTES + 1))  # and one with no newline at all
    log = RequestLog(str(tmp_path), "wine")
    tracemalloc.start()
    try:
        found = [r.request_id for r in log.requests()]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert found == ["ok-1"] and log.skipped == 2
    assert peak < 1.5 * MAX_LINE_BYTES, f"{peak} bytes held for a {len(pad)}-byte line"


def chunks(data: bytes, size: int) -> io.BufferedReader:
    """A stream that hands out at most `size` bytes per read, as a remote file would."""

    class Raw(io.RawIOBase):
        def __init__(self) -> None:
            self.data = memoryview(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            n = min(len(buffer), size, len(self.data))
            buffer[:n], self.data = self.data[:n], self.data[n:]
            return n

    return io.BufferedReader(Raw(), buffer_size=size)


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 7, 64], ids=lambda n: f"chunk-{n}")
@pytest.mark.parametrize(("data", "expected"), [
    (b"", []),
    (b"abc", [b"abc"]),
    (b"abc\n", [b"abc"]),
    (b"abc\n\nde\n", [b"abc", b"", b"de"]),
    (b"12345\nab", [b"12345", b"ab"]),
    (b"123456\nab\n", [None, b"ab"]),
    (b"ab\n123456789012\ncd", [b"ab", None, b"cd"]),
    (b"ab\n123456", [b"ab", None]),
], ids=["empty", "no-newline", "one", "blank-line-kept", "at-the-limit", "over", "over-between", "over-at-end"])
def test_bounded_lines_resynchronise_after_an_over_long_line(data: bytes, expected: list, chunk: int) -> None:
    assert list(bounded_lines(chunks(data, chunk), limit=5, chunk=chunk)) == expected
