"""`mlpin evaluate`: candidate and the pinned production model on identical held-out rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.adapters.registry import Registry
from pipelines.core.errors import ArtifactMismatch, NotFound
from pipelines.stages.evaluate import evaluate
from pipelines.stages.train import train
from tests.helpers import commit_all, ctx, edit_yaml, entry, pin


def test_first_model_has_no_production_to_compare(repo: Path) -> None:
    trained = train(ctx(repo), "wine_logreg")
    result = evaluate(ctx(repo), "wine_logreg")
    assert result.candidate.version == trained.version
    assert result.candidate.metrics == trained.metrics  # reloaded from the registry: same bytes, same scores
    assert result.production is None
    assert result.production_note == "no production model is pinned for wine_logreg yet"
    assert all(row.production is None for row in result.comparison)


def test_production_is_rescored_on_the_same_rows(repo: Path) -> None:
    incumbent = train(ctx(repo), "wine_logreg")
    pin(repo, wine_logreg=entry(incumbent))
    edit_yaml(repo / "models/wine_logreg.yaml", estimator={"kind": "logistic_regression", "params": {"C": 0.001}}, features=["alcohol", "ash", "hue"])
    commit_all(repo, "weaker candidate on three features")
    candidate = train(ctx(repo), "wine_logreg")
    result = evaluate(ctx(repo), "wine_logreg")
    assert (result.candidate.version, result.production.version) == (candidate.version, incumbent.version)
    assert result.eval_rows == incumbent.eval_rows == 45
    assert result.production.metrics == incumbent.metrics  # same held-out rows as when it was trained
    accuracy = next(row for row in result.comparison if row.metric == "accuracy")
    assert accuracy.better is False and accuracy.delta < 0
    run = Registry(repo).client.get_run(candidate.run_id)
    assert run.data.metrics["production.accuracy"] == incumbent.metrics["accuracy"]


def test_pinned_artifact_with_wrong_digest_is_never_loaded(repo: Path) -> None:
    pin(repo, wine_logreg=entry(train(ctx(repo), "wine_logreg"), artifact_sha256="f" * 64))
    with pytest.raises(ArtifactMismatch, match="refusing to load it"):
        evaluate(ctx(repo), "wine_logreg")


def test_evaluate_before_training_says_what_to_run(repo: Path) -> None:
    with pytest.raises(NotFound, match="run: mlpin train wine_logreg"):
        evaluate(ctx(repo), "wine_logreg")


def test_explicit_unknown_version(repo: Path) -> None:
    train(ctx(repo), "wine_logreg")
    with pytest.raises(NotFound, match="no registered version 7"):
        evaluate(ctx(repo), "wine_logreg", version=7)
