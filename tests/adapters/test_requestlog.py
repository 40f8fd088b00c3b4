"""Serving's prediction log read back for history: files written by the real log writer,
in a local folder or behind an fsspec URI, one model's requests, unreadable lines counted."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipelines.adapters.logsink import PredictionLog
from pipelines.adapters.requestlog import RequestLog
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
