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
    port = choose_port(StackState(ports=recorded), "mlflow", configured)
    assert port == expected if expected is not None else 1024 <= port < 65536
