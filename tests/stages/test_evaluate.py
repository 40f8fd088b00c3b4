"""`mlpin evaluate`: candidate and the pinned production model on identical held-out rows,
with real git and the in-memory registry (the MLflow path: tests/e2e)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pipelines.core.errors import ArtifactMismatch, MlpinError, NotFound
from pipelines.stages.evaluate import evaluate
from pipelines.stages.train import train
from tests.fakes.registry import MemoryRegistry
from tests.helpers import commit_all, ctx, edit_yaml, entry, pin


def test_first_model_has_no_production_to_compare(git_repo: Path, registry: MemoryRegistry) -> None:
    trained = train(ctx(git_repo, registry=registry), "wine_logreg")
    result = evaluate(ctx(git_repo, registry=registry), "wine_logreg")
    assert result.candidate.version == trained.version
    assert result.candidate.metrics == trained.metrics  # reloaded from the registry: same bytes, same scores
    assert result.production is None
    assert result.production_note == "no production model is pinned for wine_logreg yet"
    assert all(row.production is None for row in result.comparison)


def test_production_is_rescored_on_the_same_rows(git_repo: Path, registry: MemoryRegistry) -> None:
    incumbent = train(ctx(git_repo, registry=registry), "wine_logreg")
    pin(git_repo, wine_logreg=entry(incumbent))
    edit_yaml(git_repo / "models/wine_logreg.yaml", estimator={"kind": "logistic_regression", "params": {"C": 0.001}},
              features=["alcohol", "ash", "hue"])
    commit_all(git_repo, "weaker candidate on three features")
    candidate = train(ctx(git_repo, registry=registry), "wine_logreg")
    result = evaluate(ctx(git_repo, registry=registry), "wine_logreg")
    assert (result.candidate.version, result.production.version) == (candidate.version, incumbent.version)
    assert result.eval_rows == incumbent.eval_rows == 45
    assert result.production.metrics == incumbent.metrics  # same held-out rows as when it was trained
    accuracy = next(row for row in result.comparison if row.metric == "accuracy")
    assert accuracy.better is False and accuracy.delta < 0
    assert registry.run_metrics(candidate.run_id)["production.accuracy"] == incumbent.metrics["accuracy"]


def _nothing(repo: Path, registry: MemoryRegistry) -> None:
    pass


def _trained(repo: Path, registry: MemoryRegistry) -> None:
    train(ctx(repo, registry=registry), "wine_logreg")


def _pinned_with_a_wrong_digest(repo: Path, registry: MemoryRegistry) -> None:
    pin(repo, wine_logreg=entry(train(ctx(repo, registry=registry), "wine_logreg"), artifact_sha256="f" * 64))


@pytest.mark.parametrize(
    ("arrange", "version", "error", "message"),
    [
        (_nothing, None, NotFound, "run: mlpin train wine_logreg"),
        (_trained, 7, NotFound, "no registered version 7"),
        (_pinned_with_a_wrong_digest, None, ArtifactMismatch, "refusing to load it"),
    ],
    ids=["before-training-says-what-to-run", "unknown-version", "pinned-artifact-with-wrong-digest-is-never-loaded"],
)
def test_evaluate_refuses_with_what_to_do(git_repo: Path, registry: MemoryRegistry,
                                          arrange: Callable[[Path, MemoryRegistry], None], version: int | None,
                                          error: type[MlpinError], message: str) -> None:
    arrange(git_repo, registry)
    with pytest.raises(error, match=message):
        evaluate(ctx(git_repo, registry=registry), "wine_logreg", version=version)
