"""Shipping closed prediction log files through fsspec, to a local folder URI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.adapters.logship import ship_closed
from pipelines.adapters.logsink import PredictionLog, read_records
from pipelines.core.errors import OutsideSystemError


def written(folder: Path, count: int) -> PredictionLog:
    log = PredictionLog(folder, max_bytes=120, max_age_s=3600)
    for n in range(count):
        log.write({"request_id": f"r{n}", "outputs": [n]})
    return log


def test_closed_files_move_and_the_open_one_stays(tmp_path: Path) -> None:
    log = written(tmp_path / "local", 12)
    remote = tmp_path / "remote"
    shipped = ship_closed(log.folder, remote.as_uri(), writing=lambda: log.current_name)
    assert len(shipped) >= 2
    assert [p.name for p in log.folder.iterdir()] == [log.current_name]
    log.close()
    ship_closed(log.folder, remote.as_uri(), writing=lambda: None)
    assert list(log.folder.iterdir()) == []
    assert [r["request_id"] for r in read_records(remote)] == [f"r{n}" for n in range(12)]


def test_files_of_a_running_writer_stay_and_of_a_dead_one_move(tmp_path: Path) -> None:
    folder = tmp_path / "local"
    folder.mkdir()
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    alive, gone = os.getppid(), int(dead.stdout)
    for pid in (alive, gone):
        (folder / f"predictions-20260101T000000Z-{pid}-0001-abcd1234.jsonl").write_text('{"request_id": "x"}\n')
    shipped = ship_closed(folder, (tmp_path / "remote").as_uri(), writing=lambda: None)
    assert [Path(s).name.split("-")[2] for s in shipped] == [str(gone)]
    assert [p.name.split("-")[2] for p in folder.iterdir()] == [str(alive)]


def test_a_failed_upload_keeps_the_files(tmp_path: Path) -> None:
    log = written(tmp_path / "local", 3)
    log.close()
    before = sorted(p.name for p in log.folder.iterdir())
    with pytest.raises(OutsideSystemError, match="log store"):
        ship_closed(log.folder, "nosuchprotocol://bucket/predictions", writing=lambda: None)
    assert sorted(p.name for p in log.folder.iterdir()) == before


def test_a_file_opened_while_listing_is_not_shipped(tmp_path: Path) -> None:
    log = written(tmp_path / "local", 1)
    first = log.current_name

    def rotate_then_answer() -> str | None:  # the log rotates between listing and asking
        log.write({"request_id": "big", "pad": "x" * 200})
        return log.current_name

    shipped = ship_closed(log.folder, (tmp_path / "remote").as_uri(), writing=rotate_then_answer)
    assert [Path(s).name for s in shipped] == [first]
    log.write({"request_id": "after"})
    assert [r["request_id"] for r in read_records(log.folder)] == ["big", "after"]


def test_a_file_listed_while_the_log_rotates_to_it_is_never_shipped_from_under_the_writer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    import pipelines.adapters.logsink as logsink

    log = PredictionLog(tmp_path / "local", max_bytes=120, max_age_s=3600)
    log.write({"request_id": "r0", "outputs": [0]})
    remote = tmp_path / "remote"
    real_fsync_folder, rounds = logsink._fsync_folder, []

    def ship_in_between(folder: Path) -> None:
        # the next file exists on disk but is not current yet: a shipper lists it now
        real_fsync_folder(folder)
        if not rounds:
            rounds.append(threading.Thread(target=ship_closed, args=(log.folder, remote.as_uri()),
                                           kwargs={"writing": lambda: log.current_name}))
            rounds[0].start()
            rounds[0].join(timeout=0.5)  # without the lock it ships (and deletes) the new file here

    monkeypatch.setattr(logsink, "_fsync_folder", ship_in_between)
    for n in range(1, 6):
        log.write({"request_id": f"r{n}", "outputs": [n]})
    rounds[0].join(timeout=10)
    log.close()
    ship_closed(log.folder, remote.as_uri(), writing=lambda: log.current_name)
    assert sorted(r["request_id"] for r in read_records(remote)) == [f"r{n}" for n in range(6)]


def test_shippers_sharing_a_folder_ship_each_file_once(tmp_path: Path) -> None:
    import fcntl
    import threading

    log = written(tmp_path / "local", 30)
    log.close()
    names = sorted(p.name for p in log.folder.iterdir())
    held = (log.folder / names[0]).open("rb")  # another worker is uploading this one right now
    fcntl.flock(held, fcntl.LOCK_EX)
    start = threading.Barrier(4)
    results: list[list[str]] = []

    def ship() -> None:
        start.wait()
        results.append(ship_closed(log.folder, (tmp_path / "remote").as_uri(), writing=lambda: None))

    threads = [threading.Thread(target=ship) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    shipped = sorted(Path(uri).name for found in results for uri in found)
    assert shipped == names[1:], "every closed file once; the claimed one left to its claimer"
    held.close()
    assert [Path(u).name for u in ship_closed(log.folder, (tmp_path / "remote").as_uri(), writing=lambda: None)] \
        == names[:1]
    assert sorted(r["request_id"] for r in read_records(tmp_path / "remote")) == sorted(f"r{n}" for n in range(30))
