"""Stage fixtures: the in-memory model registry that stage tests inject."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.registry import MemoryRegistry


@pytest.fixture
def registry(tmp_path: Path) -> MemoryRegistry:
    """One in-memory registry per test: pass `ctx(git_repo, registry=registry)` to every
    stage call, so what one stage registers the next one finds."""
    return MemoryRegistry(tmp_path / "registry")
