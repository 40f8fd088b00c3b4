"""What `up` started, kept in `<dir>/state.json` (written atomically) so that `status`
and `down` find exactly those processes again, and nothing else. No secrets in it."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from pipelines.adapters.atomic import write_atomic
from pipelines.stack.settings import StackError

STATE_FILE = "state.json"


class ProcessRecord(BaseModel):
    """One started process: its pid and start time identify it; `url` is what it serves."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    pid: int
    start_ticks: int
    url: str
    log_path: str


class StackState(BaseModel):
    """The processes of a running stack, in start order, and the ports they were given."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = 1
    processes: list[ProcessRecord] = []
    ports: dict[str, int] = {}

    def find(self, name: str) -> ProcessRecord | None:
        """The record of the process called `name`, if one was started."""
        return next((p for p in self.processes if p.name == name), None)

    def replicas(self) -> list[ProcessRecord]:
        """The serving replicas, in port order."""
        return [p for p in self.processes if p.name.startswith("replica-")]


def load_state(stack_dir: Path) -> StackState:
    """The recorded state; empty when nothing was started."""
    path = stack_dir / STATE_FILE
    if not path.exists():
        return StackState()
    try:
        return StackState.model_validate_json(path.read_text())
    except (ValidationError, ValueError) as exc:
        raise StackError(f"{path} does not load ({exc}); stop what it names by hand and delete it") from exc


def save_state(stack_dir: Path, state: StackState) -> None:
    """Replace the state file at once (a crash leaves the old one or the new, never a part)."""
    write_atomic(stack_dir / STATE_FILE, state.model_dump_json(indent=2) + "\n")
