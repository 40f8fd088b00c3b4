"""Shipping closed prediction log files to object storage (any fsspec URI).

Requests only ever write the local folder, durably; this copies each file nobody writes
any more to `<uri>/<name>` and deletes the local copy only after the upload finished.
A crash at any point leaves every record local, shipped, or briefly both (a re-upload
writes the same bytes under the same, never reused, name). Shippers sharing a folder
(the workers of `python -m serving --workers N`) claim each file with an exclusive lock
before uploading it, so no file is shipped twice.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from pipelines.adapters.logsink import PREFIX
from pipelines.core.errors import OutsideSystemError

PID = re.compile(rf"^{PREFIX}[0-9TZ]+-(\d+)-")


def ship_closed(folder: Path, uri: str, *, writing: Callable[[], str | None]) -> list[str]:
    """Upload and remove every closed log file; returns the URIs written.

    Closed: not the file `writing()` names (this process's open one), and made by this
    process or by one that no longer runs (a replica sharing the folder keeps its open
    file). `writing()` is asked after listing: a file the log rotated to meanwhile is
    then the open one, and every other listed file of ours was closed before it opened.
    """
    paths = sorted(folder.glob(f"{PREFIX}*.jsonl"))
    open_now = writing()
    shipped = []
    for path in paths:
        if path.name == open_now or not _writer_gone_or_me(path.name):
            continue
        with _claimed(path) as source:
            if source is not None:
                shipped.append(_upload(source, path.name, f"{uri.rstrip('/')}/{path.name}"))
                path.unlink(missing_ok=True)
    return shipped


@contextlib.contextmanager
def _claimed(path: Path) -> Iterator[IO[bytes] | None]:
    """The file, open and locked for this shipper alone; None when another shipper (a worker
    process sharing the folder) holds it or has shipped and removed it meanwhile. The lock is
    released with the file, also when this process dies, so a file is never claimed for good."""
    try:
        source = path.open("rb")
    except FileNotFoundError:
        yield None
        return
    with source:
        try:
            fcntl.flock(source, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        try:
            still_there = os.stat(path).st_ino == os.fstat(source.fileno()).st_ino
        except FileNotFoundError:
            still_there = False  # shipped and removed between our open and our lock
        yield source if still_there else None


def _writer_gone_or_me(name: str) -> bool:
    match = PID.match(name)
    if match is None or int(match.group(1)) == os.getpid():
        return True
    try:
        os.kill(int(match.group(1)), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


def _upload(source: IO[bytes], name: str, target: str) -> str:
    import fsspec

    try:
        with fsspec.open(target, "wb") as sink:
            shutil.copyfileobj(source, sink)
    except Exception as exc:  # fsspec backends raise their own types
        raise OutsideSystemError("log store", f"uploading {name} to {target} failed: {exc}") from exc
    return target
