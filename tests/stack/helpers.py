"""What tests of a real PostgreSQL cluster share."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest


def postgres_folder(prefix: str, *, needed_by: str) -> Path:
    """A fresh folder the postgres user can reach (as root, PostgreSQL runs as `postgres`, and pytest's
    0700 temporary root blocks it); skips, saying why, when PostgreSQL cannot be run here. The caller
    removes it."""
    from pipelines.stack import postgres
    from pipelines.stack.settings import StackError

    try:
        postgres.usable_binaries()
    except StackError as exc:
        pytest.skip(f"{needed_by} needs PostgreSQL: {exc}")
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    folder.chmod(0o755)
    return folder
