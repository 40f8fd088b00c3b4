"""The pin file through git history: what `models/production.yaml` held at each commit
of a branch's first-parent line (the merges and direct pushes that landed on it)."""

from __future__ import annotations

from pathlib import Path

from pipelines.adapters import git
from pipelines.adapters.yamlfile import parse_yaml, validate
from pipelines.core.errors import MlpinError
from pipelines.core.history import PinSnapshot
from pipelines.core.schemas import ProductionPins
from pipelines.core.workspace import PIN_PATH


def pins_at(root: Path, commit: str) -> ProductionPins | None:
    """The pin file at a commit; None when it did not exist or did not validate then."""
    try:
        text = git.git_bytes(root, "show", f"{commit}:{PIN_PATH}").decode()
        return validate(parse_yaml(text, PIN_PATH), PIN_PATH, ProductionPins)
    except (MlpinError, UnicodeDecodeError):
        return None


def snapshots(root: Path, ref: str = "HEAD") -> list[PinSnapshot]:
    """Every first-parent commit of `ref` that changed the pin file, oldest first, with
    the committed time and committer, and the pins as they stood (None: unreadable)."""
    log = git.run_git(root, "log", "--first-parent", "--reverse", "--format=%H%x1f%cI%x1f%cn", ref, "--", PIN_PATH)
    found = []
    for line in log.splitlines():
        sha, when, committer = line.split("\x1f")
        found.append(PinSnapshot(commit=sha, time=when, committer=committer, pins=pins_at(root, sha)))
    return found
