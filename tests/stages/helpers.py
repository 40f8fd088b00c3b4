"""Helpers shared by the stage tests: PRs that go through `mlpin candidate` and are rebuilt
after the merge, and PRs
that change the pin, in a test's git repository (`repo` or `git_repo`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from tests.helpers import commit_all, ctx, edit_yaml, entry, git, pin

if TYPE_CHECKING:
    from pipelines.adapters.modelregistry import ModelRegistry

MODEL = "wine_logreg"


def candidate_on_branch(repo: Path, branch: str, c: float, *, registry: ModelRegistry | None = None) -> dict:
    """A PR that tunes C, judged by mlpin candidate (which registers nothing), merged into
    main, then rebuilt, registered and judged there by trusted code as `mlpin propose`
    does (on `registry`, default MLflow); returns the registered version's pin entry."""
    from pipelines.stages.candidate import assess, candidate

    git(repo, "checkout", "-q", "-b", branch, "main")
    edit_yaml(repo / f"models/{MODEL}.yaml", estimator={"kind": "logistic_regression", "params": {"C": c}})
    commit_all(repo, f"C={c}")
    out = repo / ".mlpin" / branch
    result = candidate(ctx(repo, registry=registry), base="main", pr=branch, out_dir=out)
    assert result.outcomes[0].outcome == "passed"
    assert json.loads((out / MODEL / "candidate.json").read_text())["train"]["version"] is None
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "-m", f"merge {branch}", branch)
    report = assess(ctx(repo, registry=registry), MODEL, reasons=[f"merged {branch}"], pr=branch,
                    out_dir=repo / ".mlpin" / f"{branch}-rebuilt", register=True)
    assert report.decision.outcome == "passed"
    return entry(report.train.model_dump(mode="json"))


def pin_pr(repo: Path, branch: str, pinned: dict, *, merge: bool = False) -> None:
    """A PR branch off main that pins `pinned` for MODEL; merged into main when `merge`."""
    git(repo, "checkout", "-q", "-b", branch, "main")
    pin(repo, **{MODEL: pinned})
    if merge:
        git(repo, "checkout", "-q", "main")
        git(repo, "merge", "-q", "--no-ff", "-m", f"merge {branch}", branch)


def only_model(repo: Path, model: str = MODEL) -> None:
    """Leave `model` the repository's only model (propose reconciles every model; tests of
    one model's path need not train the others)."""
    for spec in (repo / "models").glob("*.yaml"):
        if spec.stem not in (model, "production"):
            git(repo, "rm", "-q", str(spec.relative_to(repo)))
    git(repo, "commit", "-q", "-m", f"only {model}")
