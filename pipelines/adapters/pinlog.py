"""The pin file through git history: what `models/production.yaml` held at each commit
of a branch's first-parent line (the merges and direct pushes that landed on it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from pipelines.adapters import git
from pipelines.adapters.yamlfile import parse_document
from pipelines.core.errors import MlpinError
from pipelines.core.history import PinSnapshot
from pipelines.core.schemas import ProductionPins
from pipelines.core.workspace import PIN_PATH


def pins_at(root: Path, commit: str) -> ProductionPins | None:
    """The pin file at a commit; None when it did not exist or did not validate then."""
    try:
        text = git.file_at(root, commit, PIN_PATH).decode()
        return parse_document(text, PIN_PATH, schema=ProductionPins)
    except (MlpinError, UnicodeDecodeError):
        return None


def snapshots(root: Path, ref: str = "HEAD") -> list[PinSnapshot]:
    """Every first-parent commit of `ref` that changed the pin file, oldest first, with
    the committed time and committer, and the pins as they stood (None: unreadable)."""
    return [PinSnapshot(commit=c.sha, time=c.time, committer=c.committer, pins=pins_at(root, c.sha))
            for c in git.path_history(root, PIN_PATH, ref=ref)]


def pins_newest_first(root: Path, ref: str = "HEAD") -> Iterator[tuple[str, ProductionPins | None]]:
    """Each first-parent commit of `ref` that changed the pin file, newest first, with the
    pins it left (None: unreadable); each file is read only when the caller gets that far."""
    for commit in reversed(git.path_history(root, PIN_PATH, ref=ref)):
        yield commit.sha, pins_at(root, commit.sha)
