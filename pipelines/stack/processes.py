"""Processes the stack starts and stops: spawned into their own session with a log file,
known again by pid AND start time (a recycled pid is never signalled), stopped with
SIGTERM then SIGKILL. Knows nothing of what the processes are."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from pipelines.stack.settings import StackError
from pipelines.stack.state import ProcessRecord


def start_ticks(pid: int) -> int | None:
    """The process's start time (clock ticks after boot), or None when it is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()  # the command name may hold spaces and ')'
    if fields[0] in ("Z", "X"):
        _reap(pid)
        return None
    return int(fields[19])


def _reap(pid: int) -> None:
    # A child of this very process (tests start the stack in-process too) stays a zombie until waited.
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def spawn(name: str, argv: list[str], *, env: dict[str, str], log_path: Path, url: str) -> ProcessRecord:
    """Start `argv` in a new session (its own process group), stdout and stderr to `log_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        try:
            proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        except OSError as exc:
            raise StackError(f"{name}: cannot start {argv[0]}: {exc}") from exc
    ticks = start_ticks(proc.pid)
    return ProcessRecord(name=name, pid=proc.pid, start_ticks=ticks or 0, url=url, log_path=str(log_path))


def alive(record: ProcessRecord) -> bool:
    """The recorded process still runs (same pid, same start time)."""
    return start_ticks(record.pid) == record.start_ticks


def stop(record: ProcessRecord, *, timeout: float = 10.0) -> bool:
    """SIGTERM the recorded process's group, SIGKILL it after `timeout`, until none of the group is left;
    False when it was not running."""
    if not alive(record):
        return False
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(record.pid, sig)  # the group is the session spawn() made: the process and its workers
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not alive(record) and not group_alive(record.pid):
                return True
            time.sleep(0.05)
    return not alive(record)


def group_alive(pgid: int) -> bool:
    """Some process of the group `pgid` still runs (a worker may outlive its leader by a moment);
    zombies waiting for init to reap them do not count."""
    for stat_path in Path("/proc").glob("[0-9]*/stat"):
        try:
            stat = stat_path.read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            return True
    return False


def wait_ready(record: ProcessRecord, ready: Callable[[], bool], *, timeout: float) -> None:
    """Poll `ready` until true while the process runs; fail early, with the log's tail, when it dies or
    time runs out. Ready counts only if the process was alive before and after the check: a server
    of someone else's answering on the same port must not pass for ours."""
    deadline = time.monotonic() + timeout
    while True:
        if not alive(record):
            raise StackError(f"{record.name} exited while starting; the end of {record.log_path}:\n"
                             f"{log_tail(Path(record.log_path))}")
        if ready() and alive(record):
            return
        if time.monotonic() > deadline:
            raise StackError(f"{record.name} was not ready after {timeout:.0f} s; the end of {record.log_path}:\n"
                             f"{log_tail(Path(record.log_path))}")
        time.sleep(0.2)


def log_tail(path: Path, lines: int = 20) -> str:
    """The last lines of a log file (empty when there is none)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join("    " + line for line in text.splitlines()[-lines:])


def http_ok(url: str, *, timeout: float = 2.0) -> bool:
    """GET `url` answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 (our own loopback URLs)
            return answer.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False
