"""The state file: what `up` started, read back exactly; a damaged one says what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.stack.settings import StackError
from pipelines.stack.stack import choose_port
from pipelines.stack.state import ProcessRecord, StackState, load_state, save_state


def _record(name: str, pid: int = 10) -> ProcessRecord:
    return ProcessRecord(name=name, pid=pid, start_ticks=5, url=f"http://127.0.0.1:{pid}", log_path="/x.log")


def test_state_round_trips_and_finds_processes(tmp_path: Path) -> None:
    state = StackState(processes=[_record("postgres", 1), _record("mlflow", 2), _record("replica-0", 3),
                                  _record("replica-1", 4)], ports={"mlflow": 5055})
    save_state(tmp_path, state)
    loaded = load_state(tmp_path)
    assert loaded == state
    assert loaded.find("mlflow").pid == 2 and loaded.find("nothing") is None
    assert [r.name for r in loaded.replicas()] == ["replica-0", "replica-1"]


def test_no_state_file_is_an_empty_stack(tmp_path: Path) -> None:
    assert load_state(tmp_path) == StackState()


def test_a_damaged_state_file_names_itself(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text('{"processes": [{"pid": "one"}]}')
    with pytest.raises(StackError, match="state.json does not load"):
        load_state(tmp_path)


@pytest.mark.parametrize(("configured", "recorded", "expected"), [
    (5055, {"mlflow": 6000}, 5055),
    (0, {"mlflow": 6000}, 6000),
    (0, {}, None),
], ids=["configured-wins", "zero-keeps-the-recorded-port", "zero-picks-a-free-port"])
def test_choose_port(configured: int, recorded: dict, expected: int | None) -> None:
    port = choose_port(StackState(ports=recorded), "mlflow", configured, setting="MLPIN_STACK_MLFLOW_PORT")
    assert port == expected if expected is not None else 1024 <= port < 65536


@pytest.fixture
def taken_port():
    """A port something else listens on."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_a_configured_port_in_use_names_the_setting_to_change(taken_port: int) -> None:
    with pytest.raises(StackError, match=f"port {taken_port} on 127.0.0.1 is already in use.*MLPIN_STACK_MLFLOW_PORT"):
        choose_port(StackState(), "mlflow", taken_port, setting="MLPIN_STACK_MLFLOW_PORT")


def test_a_recorded_port_now_in_use_is_given_up_for_a_free_one(taken_port: int) -> None:
    port = choose_port(StackState(ports={"mlflow": taken_port}), "mlflow", 0, setting="MLPIN_STACK_MLFLOW_PORT")
    assert port != taken_port


def test_a_started_process_is_recorded_before_it_is_ready(tmp_path: Path) -> None:
    """`up` killed while waiting must leave the process where `down` finds it."""
    from pipelines.stack.settings import StackSettings
    from pipelines.stack.stack import Stack, _keep_or_start

    stack = Stack(stack_dir=tmp_path, repo=tmp_path, settings=StackSettings())
    started: list[ProcessRecord] = []

    def start(state: StackState, record) -> None:
        record(_record("mlflow", 7), 5055)
        assert load_state(tmp_path).find("mlflow") == _record("mlflow", 7), "not recorded before the wait"
        raise StackError("not ready")

    with pytest.raises(StackError, match="not ready"):
        _keep_or_start(stack, StackState(), "mlflow", started, start)
    assert started == [_record("mlflow", 7)], "up's clean-up knows to stop it"


def test_one_up_or_down_at_a_time(tmp_path: Path) -> None:
    """While one holds the stack's lock, another process cannot take it (it would wait)."""
    import subprocess
    import sys

    from pipelines.stack.stack import locked

    probe = ("import fcntl, sys\nwith open(sys.argv[1], 'a') as f:\n"
             "    try:\n        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)\n    except BlockingIOError:\n"
             "        sys.exit(7)\n")
    with locked(tmp_path):
        held = subprocess.run([sys.executable, "-c", probe, str(tmp_path / ".lock")], check=False).returncode
    free = subprocess.run([sys.executable, "-c", probe, str(tmp_path / ".lock")], check=False).returncode
    assert (held, free) == (7, 0)
