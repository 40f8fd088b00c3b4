"""The prediction log: JSON Lines files in a local folder, rotated by size and age.

`write` returns only after the record is on disk (flush + fsync), so a caller that
answers after writing never answers a request it has no record of, even if the
process is killed right after. A write that fails leaves no whole record of its batch
behind (the file is cut back to where the write began), and `failure` says why the log
cannot be written until a write, or `check`, succeeds again: readiness reads it.
Drift checks read these files; nothing here decides.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

PREFIX = "predictions-"
MIN_FREE_BYTES = 1 << 20  # `check` calls a folder with less free space than this unwritable
log = logging.getLogger("mlpin.predictions")


class LogUnwritable(OSError):
    """A record could not be written (its `failure` says why): the request it belongs to must not be answered."""


class PredictionLog:
    """Appends one JSON line per record; a new file past `max_bytes` or `max_age_s`."""

    def __init__(
        self, folder: Path, *, max_bytes: int, max_age_s: float, clock: Callable[[], float] = time.time
    ) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self.max_age_s = max_age_s
        self.clock = clock
        self._lock = threading.Lock()
        self._handle: IO[bytes] | None = None
        self._opened_at = 0.0
        self._sequence = 0
        self.failure: str | None = None  # why the last write failed; None once one succeeds
        self.observers: list[Callable[[str | None], None]] = []  # told when `failure` changes

    def write(self, record: dict[str, Any]) -> None:
        """Append `record` durably (written, flushed and fsynced) before returning."""
        self.write_many([record])

    def write_many(self, records: list[dict[str, Any]]) -> None:
        """Append every record durably with one fsync (a group commit), in one file."""
        lines = b"".join(map(encode_line, records))
        with self._lock:
            try:
                self._append(lines)
            except OSError as exc:
                self._failed(exc)
                raise LogUnwritable(exc.errno, self.failure) from exc
            self._succeeded()

    def check(self) -> str | None:
        """While writes fail, try again without a record (open a file, look for free space); the failure, if any."""
        if self.failure is None:
            return None
        with self._lock:
            try:
                self._current(0)
                free = os.statvfs(self.folder)
                if free.f_bavail * free.f_frsize < MIN_FREE_BYTES:
                    raise OSError(28, f"No space left on device (under {MIN_FREE_BYTES} bytes free)")
            except OSError as exc:
                self._failed(exc)
                return self.failure
            self._succeeded()
        return None

    def _append(self, lines: bytes) -> None:
        handle = self._current(len(lines))
        start = handle.tell()
        try:
            handle.write(lines)
            handle.flush()
            os.fsync(handle.fileno())
        except BaseException:
            self._abandon()  # part of a line may be on disk: never append after it
            with contextlib.suppress(OSError):  # and no whole record of a batch that is not answered
                os.truncate(handle.name, start)
            raise

    def _failed(self, exc: OSError) -> None:
        failure = f"cannot write the prediction log in {self.folder}: {exc.strerror or exc}"
        changed, self.failure = failure != self.failure, failure
        if changed:
            self._notify()

    def _succeeded(self) -> None:
        if self.failure is not None:
            self.failure = None
            self._notify()

    def _notify(self) -> None:
        for observer in self.observers:
            observer(self.failure)

    @property
    def current_name(self) -> str | None:
        """The file being written now (never shipped while open), or None. Asked under the
        write lock: a rotation creates the next file before it becomes current, and a shipper
        that listed it in between must see it as open, never ship and delete it."""
        with self._lock:
            handle = self._handle
        return Path(handle.name).name if handle is not None else None

    def close(self) -> None:
        """Close the current file; the next write opens a new one."""
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None

    def _abandon(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            with contextlib.suppress(OSError):  # the disk that failed the write may fail the close
                handle.close()

    def _current(self, incoming: int) -> IO[bytes]:
        handle = self._handle
        if handle is not None and not self._due(handle, incoming):
            return handle
        try:
            new = self._open()  # before closing the old one: a failed open leaves it writable
        except OSError:
            if handle is None:
                raise
            return handle  # rotation is retried on the next write; the old file grows meanwhile
        if handle is not None:
            handle.close()
        return new

    def _due(self, handle: IO[bytes], incoming: int) -> bool:
        size = handle.tell()
        too_big = size > 0 and size + incoming > self.max_bytes
        return too_big or self.clock() - self._opened_at >= self.max_age_s

    def _open(self) -> IO[bytes]:
        self.folder.mkdir(parents=True, exist_ok=True)
        opened_at = self.clock()
        self._sequence += 1
        stamp = datetime.fromtimestamp(opened_at, UTC).strftime("%Y%m%dT%H%M%SZ")
        # Unique even for a restarted container (pid 1 again, same second): a shipped
        # file must never be overwritten by a new one of the same name.
        name = f"{PREFIX}{stamp}-{os.getpid()}-{self._sequence:04d}-{secrets.token_hex(4)}.jsonl"
        handle = (self.folder / name).open("ab")
        _fsync_folder(self.folder)  # the new file's name survives a crash too
        self._handle, self._opened_at = handle, opened_at
        return handle


def encode_line(record: dict[str, Any]) -> bytes:
    """One JSON line: orjson (a 10k-row batch's record: ~6 ms; json took ~130 ms, holding the GIL
    throughout), or json where orjson refuses (integers past 64 bits); numpy values as numbers, anything
    else unknown as str."""
    import orjson

    try:
        options = orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
        return orjson.dumps(record, default=_plain, option=options | orjson.OPT_SERIALIZE_NUMPY)
    except orjson.JSONEncodeError:
        return json.dumps(record, separators=(",", ":"), default=_plain).encode() + b"\n"


def _plain(value: Any) -> Any:
    # numpy's scalars and arrays as numbers and lists, whichever encoder asks
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, float):
        return float(value)
    if isinstance(value, int):
        return int(value)
    return str(value)


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_records(folder: Path) -> list[dict[str, Any]]:
    """Every record in the folder, oldest file first (for tests and drift checks); a last line
    without its newline (the process was killed while writing it) is skipped with a warning."""
    files = sorted(folder.glob(f"{PREFIX}*.jsonl"), key=lambda p: (p.stat().st_mtime, p.name))
    return [record for path in files for record in _file_records(path)]


def _file_records(path: Path) -> list[dict[str, Any]]:
    text = path.read_text()
    lines = text.split("\n")
    if lines[-1]:
        log.warning("%s: skipped its last line, cut short (%d bytes without a newline)", path.name, len(lines[-1]))
    return [json.loads(line) for line in lines[:-1] if line]
