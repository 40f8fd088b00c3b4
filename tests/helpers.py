"""Helpers shared by test modules (tests import from here, never from each other)."""

from __future__ import annotations

from pathlib import Path

from pipelines.stages.context import StageContext


def ctx(root: Path, **given) -> StageContext:
    """A fresh stage context on `root`: the workspace is read again, as a new command would."""
    return StageContext(root, **given)
