"""Processes are known by pid AND start time, stopped as a group, and a failed start shows its log."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pipelines.stack import processes
from pipelines.stack.settings import StackError

# a parent that starts a child and both sleep: stopping the parent's group must stop both
PARENT = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']);" \
         "print('started', flush=True); time.sleep(60)"


@pytest.fixture
def sleeper(tmp_path: Path):
    record = processes.spawn("sleeper", [sys.executable, "-c", PARENT], env={}, log_path=tmp_path / "log",
                             url="-")
    yield record
    processes.stop(record, timeout=1)


def test_a_spawned_process_is_alive_until_stopped_with_its_children(sleeper, tmp_path: Path) -> None:
    assert processes.alive(sleeper)
    processes.wait_ready(sleeper, lambda: "started" in (tmp_path / "log").read_text(), timeout=20)
    children = Path(f"/proc/{sleeper.pid}/task/{sleeper.pid}/children").read_text().split()
    assert processes.stop(sleeper, timeout=5) is True
    assert not processes.alive(sleeper)
    assert all(processes.start_ticks(int(child)) is None for child in children), "the group's child survived"
    assert processes.stop(sleeper) is False, "stopping twice signals nothing"


def test_a_recycled_pid_is_never_signalled(sleeper) -> None:
    impostor = sleeper.model_copy(update={"start_ticks": sleeper.start_ticks - 1})
    assert not processes.alive(impostor)
    assert processes.stop(impostor, timeout=1) is False
    assert processes.alive(sleeper), "the process that now has the pid was left alone"


def test_a_process_that_dies_while_starting_is_reported_with_its_log(tmp_path: Path) -> None:
    record = processes.spawn("crasher", [sys.executable, "-c", "import sys; print('no database'); sys.exit(3)"],
                             env={}, log_path=tmp_path / "log", url="-")
    with pytest.raises(StackError, match="crasher exited while starting") as caught:
        processes.wait_ready(record, lambda: False, timeout=20)
    assert "no database" in str(caught.value)


def test_another_server_answering_does_not_make_a_dead_process_ready(tmp_path: Path) -> None:
    """A server already on the port answers the readiness check; ours died on 'address in use' meanwhile."""
    import time

    record = processes.spawn("mlflow", [sys.executable, "-c", "import sys; print('address in use'); sys.exit(1)"],
                             env={}, log_path=tmp_path / "log", url="-")

    def foreign_server_answers() -> bool:
        while processes.alive(record):  # the check outlasts our process (as a slow HTTP answer may)
            time.sleep(0.05)
        return True

    with pytest.raises(StackError, match="mlflow exited while starting") as caught:
        processes.wait_ready(record, foreign_server_answers, timeout=20)
    assert "address in use" in str(caught.value)


def test_a_missing_program_is_a_stack_error(tmp_path: Path) -> None:
    with pytest.raises(StackError, match="cannot start"):
        processes.spawn("ghost", [str(tmp_path / "no-such-program")], env={}, log_path=tmp_path / "log", url="-")


def test_http_ok_is_false_when_nothing_listens() -> None:
    from tests.helpers import free_port

    assert processes.http_ok(f"http://127.0.0.1:{free_port()}/health", timeout=1) is False
