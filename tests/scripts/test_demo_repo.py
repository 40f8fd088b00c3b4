"""The demo's scratch repository (`scripts/demo_repo`, which `scripts/demo` plays the loop
in) is independent of what the user's own repository pins: its MLflow store starts empty."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from pipelines.stages.candidate import candidate
from tests.fakes.registry import MemoryRegistry
from tests.helpers import PROJECT, commit_all, ctx, edit_yaml, git, pin

# A version the user promoted in their own store, which the demo's new store does not have.
USERS_PIN = {"version": 7, "run_id": "r" * 32, "artifact_sha256": "a" * 64, "spec_hash": "b" * 64,
             "data_sha256": "c" * 64}


def demo_repo(src: Path, dest: Path) -> Path:
    subprocess.run(["bash", str(PROJECT / "scripts/demo_repo"), str(src), str(dest)], check=True, capture_output=True)
    return dest


def test_the_demo_starts_with_nothing_in_production_whatever_the_user_pinned(git_repo: Path, tmp_path: Path) -> None:
    git(git_repo, "switch", "-q", "-c", "work")  # the user is on a branch of their own
    pin(git_repo, wine_logreg=USERS_PIN)
    (git_repo / "notes.txt").write_text("uncommitted: not in the demo")
    demo = demo_repo(git_repo, tmp_path / "demo")
    assert yaml.safe_load((demo / "models/production.yaml").read_text())["models"] == {}
    assert (git(demo, "branch", "--show-current"), git(demo, "remote"), git(demo, "status", "--porcelain")) == (
        "main", "", ""
    )
    assert git(demo, "config", "user.name") == "Demo Reviewer" and not (demo / "notes.txt").exists()

    # the demo's first step: a PR tunes wine_logreg and mlpin candidate judges it
    git(demo, "switch", "-q", "-c", "tune-wine")
    edit_yaml(demo / "models/wine_logreg.yaml", description="tuned")
    commit_all(demo, "tune")
    run = candidate(ctx(demo, registry=MemoryRegistry(tmp_path / "registry")), base="main", pr="1",
                    out_dir=tmp_path / "out")
    assert [(o.model, o.outcome) for o in run.outcomes] == [("wine_logreg", "passed")]


def test_a_repository_that_pins_nothing_gets_no_extra_commit(git_repo: Path, tmp_path: Path) -> None:
    demo = demo_repo(git_repo, tmp_path / "demo")
    assert git(demo, "rev-parse", "HEAD") == git(git_repo, "rev-parse", "HEAD")
