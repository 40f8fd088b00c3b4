"""Stage fixtures: the in-memory model registry that stage tests inject, and a model
promoted and deployed on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.adapters.localforge import LocalForge
from tests.fakes.registry import MemoryRegistry
from tests.helpers import ctx
from tests.stages.helpers import candidate_on_branch, pin_pr


@pytest.fixture
def registry(tmp_path: Path) -> MemoryRegistry:
    """One in-memory registry per test: pass `ctx(git_repo, registry=registry)` to every
    stage call, so what one stage registers the next one finds."""
    return MemoryRegistry(tmp_path / "registry")


@pytest.fixture
def deployed(git_repo: Path, registry: MemoryRegistry) -> dict:
    """A candidate for a tuned wine_logreg, pinned through a merged PR and deployed on
    `registry` and the local forge; its pin entry."""
    from pipelines.stages.deploy import deploy

    pinned = candidate_on_branch(git_repo, "tune", 0.5, registry=registry)
    pin_pr(git_repo, "promote", pinned, merge=True)
    deploy(ctx(git_repo, registry=registry, forge=LocalForge(git_repo)))
    return pinned
