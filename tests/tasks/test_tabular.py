"""Preprocessing from the column schema: every catalog estimator trains, including on
categorical columns with missing values, without code changes."""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines.core.catalog import ESTIMATORS, IMAGE_TASKS
from pipelines.core.schemas import DataPointer, ModelSpec
from pipelines.tasks.estimators import check_params, make_estimator
from pipelines.tasks.scoring import score
from pipelines.tasks.split import split_rows
from pipelines.tasks.tabular import build_pipeline
from tests.helpers import mixed_frame

POINTER = DataPointer(
    uri="d.csv", format="csv", sha256="0" * 64,
    columns=[{"name": "size", "type": "float"}, {"name": "colour", "type": "category"},
             {"name": "label", "type": "category", "role": "target"}, {"name": "amount", "type": "float"}],
)


CASES = [(task, kind) for task, kinds in ESTIMATORS.items() if task not in IMAGE_TASKS for kind in kinds]


@pytest.mark.parametrize(("task", "kind"), CASES, ids=[f"{t}-{k}" for t, k in CASES])
def test_every_estimator_trains_on_categorical_data_with_gaps(task: str, kind: str) -> None:
    target = "label" if task == "classification" else "amount"
    spec = ModelSpec.model_validate({"name": "m", "task": task, "data": "d", "target": target,
                                     "features": ["size", "colour"], "estimator": {"kind": kind}})
    split = split_rows(mixed_frame(), spec, target=target, features=["size", "colour"])
    fitted = build_pipeline(spec, POINTER, ["size", "colour"]).fit(split.x_train, split.y_train)
    result = score(fitted, split.x_test, split.y_test, task=task)
    if task == "classification":
        assert result.metrics["accuracy"] > 0.7
        assert set(result.metrics) == {
            "accuracy",
            "f1_weighted",
            "f1_macro",
            "precision_weighted",
            "recall_weighted",
            "roc_auc",
            "log_loss",
        }
        assert result.confusion["labels"] == ["big", "small"]
    else:
        assert result.metrics["r2"] > 0.5
        assert set(result.metrics) == {"mae", "rmse", "r2", "max_error"}


def test_unseen_category_at_prediction_time_is_tolerated() -> None:
    spec = ModelSpec.model_validate({"name": "m", "task": "classification", "data": "d", "target": "label",
                                     "estimator": {"kind": "logistic_regression"}})
    frame = mixed_frame()
    fitted = build_pipeline(spec, POINTER, ["size", "colour"]).fit(frame[["size", "colour"]], frame["label"])
    assert fitted.predict(pd.DataFrame({"size": [1.0], "colour": ["purple"]}))[0] in {"big", "small"}


def test_multiclass_auc_is_one_vs_rest() -> None:
    spec = ModelSpec.model_validate({"name": "m", "task": "classification", "data": "d", "target": "colour",
                                     "features": ["size", "amount"], "estimator": {"kind": "random_forest"}})
    frame = mixed_frame(600).dropna()
    split = split_rows(frame, spec, target="colour", features=["size", "amount"])
    fitted = build_pipeline(spec, POINTER, ["size", "amount"]).fit(split.x_train, split.y_train)
    result = score(fitted, split.x_test, split.y_test, task="classification")
    assert 0.5 < result.metrics["roc_auc"] <= 1.0
    assert len(result.confusion["matrix"]) == 3


def test_unknown_hyperparameter_lists_accepted_names() -> None:
    (problem,) = check_params("classification", "random_forest", {"n_estimators": 10, "depth": 3})
    assert problem.location == "estimator.params.depth"
    assert "unknown hyperparameter for RandomForestClassifier; expected one of:" in problem.message
    assert "max_depth" in problem.message


def test_seed_becomes_random_state_unless_given() -> None:
    assert make_estimator("regression", "random_forest", {}, seed=5).random_state == 5
    assert make_estimator("regression", "random_forest", {"random_state": 1}, seed=5).random_state == 1


def test_split_is_deterministic_and_stratified() -> None:
    spec = ModelSpec.model_validate(
        {
            "name": "m",
            "task": "classification",
            "data": "d",
            "target": "label",
            "estimator": {"kind": "random_forest"},
            "split": {"seed": 3, "test_fraction": 0.25},
        }
    )
    frame = mixed_frame()
    first = split_rows(frame, spec, target="label", features=["size"])
    second = split_rows(frame, spec, target="label", features=["size"])
    assert first.test.index.tolist() == second.test.index.tolist()
    share = frame["label"].value_counts(normalize=True)["big"]
    assert first.y_test.value_counts(normalize=True)["big"] == pytest.approx(share, abs=0.03)
