"""The prediction log on a real folder: durable lines, rotation by size and by age."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from pipelines.adapters.logsink import PredictionLog, read_records


def record(n: int) -> dict:
    return {"request_id": f"r{n}", "model": "m", "version": 1, "inputs": [{"x": n}], "outputs": [n]}


def test_records_are_lines_in_order(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path, max_bytes=1 << 20, max_age_s=3600)
    for n in range(3):
        log.write(record(n))
    log.close()
    assert [r["request_id"] for r in read_records(tmp_path)] == ["r0", "r1", "r2"]
    assert len(list(tmp_path.iterdir())) == 1


def test_rotates_by_size_without_splitting_a_record(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path, max_bytes=200, max_age_s=3600)
    for n in range(10):
        log.write(record(n))
    files = sorted(tmp_path.iterdir())
    assert len(files) >= 4
    assert all(p.stat().st_size <= 200 for p in files)
    assert [r["request_id"] for r in read_records(tmp_path)] == [f"r{n}" for n in range(10)]


def test_rotates_by_age(tmp_path: Path) -> None:
    now = [1000.0]
    log = PredictionLog(tmp_path, max_bytes=1 << 20, max_age_s=60, clock=lambda: now[0])
    log.write(record(0))
    now[0] += 59
    log.write(record(1))
    now[0] += 1
    log.write(record(2))
    assert sorted(len(p.read_text().splitlines()) for p in tmp_path.iterdir()) == [1, 2]


def test_concurrent_writers_never_interleave_lines(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path, max_bytes=4096, max_age_s=3600)
    threads = [
        threading.Thread(target=lambda base=t: [log.write(record(base * 100 + n)) for n in range(25)]) for t in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r["request_id"] for r in read_records(tmp_path)) == sorted(
        f"r{t * 100 + n}" for t in range(4) for n in range(25)
    )


def test_a_last_line_cut_short_by_a_crash_is_skipped_with_a_warning(tmp_path: Path, caplog) -> None:
    log = PredictionLog(tmp_path, max_bytes=1 << 20, max_age_s=3600)
    log.write({"request_id": "whole"})
    log.close()
    (path,) = tmp_path.glob("predictions-*.jsonl")
    with path.open("ab") as handle:
        handle.write(b'{"request_id": "cut sh')  # kill -9 in the middle of a write
    with caplog.at_level("WARNING"):
        assert read_records(tmp_path) == [{"request_id": "whole"}]
    assert path.name in caplog.text and "cut short" in caplog.text


def test_a_failed_write_is_never_appended_to(tmp_path: Path, monkeypatch) -> None:
    log = PredictionLog(tmp_path, max_bytes=1 << 20, max_age_s=3600)
    log.write({"request_id": "before"})
    first = log.current_name
    handle = log._handle
    real_write = handle.write

    def half_then_disk_full(data: bytes) -> int:
        real_write(data[: len(data) // 2])
        handle.flush()
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(handle, "write", half_then_disk_full)
    with pytest.raises(OSError):
        log.write({"request_id": "lost"})
    log.write({"request_id": "after"})  # in a new file, not after the half line
    assert log.current_name != first
    assert [r["request_id"] for r in read_records(tmp_path)] == ["before", "after"]


def test_a_rotation_that_cannot_open_its_new_file_keeps_writing_the_old_one_and_retries(
    tmp_path: Path, monkeypatch
) -> None:
    now = [0.0]
    log = PredictionLog(tmp_path, max_bytes=1 << 20, max_age_s=10, clock=lambda: now[0])
    log.write({"request_id": "first"})
    first = log.current_name
    real_open = Path.open
    monkeypatch.setattr(Path, "open", lambda *a, **k: (_ for _ in ()).throw(PermissionError(13, "denied")))
    now[0] = 11.0  # rotation due, and the new file cannot be opened
    log.write({"request_id": "second"})  # still logged, in the old file
    assert log.current_name == first
    monkeypatch.setattr(Path, "open", real_open)
    log.write({"request_id": "third"})  # the next write rotates
    assert log.current_name != first
    assert [r["request_id"] for r in read_records(tmp_path)] == ["first", "second", "third"]


def test_a_batch_whose_write_fails_leaves_no_record_claiming_an_answer(tmp_path: Path, monkeypatch) -> None:
    log = PredictionLog(tmp_path, max_bytes=1 << 20, max_age_s=3600)
    log.write({"request_id": "before"})
    handle = log._handle
    real_write = handle.write

    def first_line_then_disk_full(data: bytes) -> int:
        real_write(data[: data.index(b"\n") + 1])  # the batch's first record, whole, then the disk fills
        handle.flush()
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(handle, "write", first_line_then_disk_full)
    with pytest.raises(OSError):
        log.write_many([{"request_id": "lost-1"}, {"request_id": "lost-2"}])
    assert [r["request_id"] for r in read_records(tmp_path)] == ["before"]


def test_failure_is_set_by_a_failed_write_and_cleared_by_the_next_success(tmp_path: Path) -> None:
    blocker = tmp_path / "log"
    blocker.write_text("a file where the folder should be")
    seen: list[str | None] = []
    log = PredictionLog(blocker, max_bytes=1 << 20, max_age_s=3600)
    log.observers.append(seen.append)
    assert log.failure is None and log.check() is None
    with pytest.raises(OSError):
        log.write(record(0))
    assert log.failure is not None and str(blocker) in log.failure
    assert log.check() == log.failure  # still failing: the check changes nothing
    blocker.unlink()
    assert log.check() is None and log.failure is None  # recovers without a record (no traffic while not ready)
    log.write(record(1))
    assert [r["request_id"] for r in read_records(blocker)] == ["r1"]
    assert [s is None for s in seen] == [False, True]  # one change each way


def test_numpy_scalars_and_huge_integers_are_logged_as_json_would_log_them(tmp_path: Path) -> None:
    import numpy as np

    log = PredictionLog(tmp_path, max_bytes=1 << 20, max_age_s=3600)
    log.write_many([{"inputs": [{"x": 10**30}], "outputs": [np.float64(0.25), np.int64(3)]},
                    {"inputs": [{"x": 1.5}], "outputs": np.array([1, 2])}])
    log.close()
    assert read_records(tmp_path) == [{"inputs": [{"x": 10**30}], "outputs": [0.25, 3]},
                                      {"inputs": [{"x": 1.5}], "outputs": [1, 2]}]
