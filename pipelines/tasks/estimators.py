"""Estimator catalog names -> scikit-learn classes, with hyperparameter checks.

Models contain scikit-learn objects only (no mlpin classes), so serving can unpickle
them without the training code installed.
"""

from __future__ import annotations

import importlib
from typing import Any

from pipelines.core.errors import Problem

CLASSES: dict[tuple[str, str], str] = {
    ("classification", "random_forest"): "sklearn.ensemble.RandomForestClassifier",
    ("classification", "logistic_regression"): "sklearn.linear_model.LogisticRegression",
    ("classification", "hist_gradient_boosting"): "sklearn.ensemble.HistGradientBoostingClassifier",
    ("regression", "hist_gradient_boosting"): "sklearn.ensemble.HistGradientBoostingRegressor",
    ("regression", "ridge"): "sklearn.linear_model.Ridge",
    ("regression", "linear"): "sklearn.linear_model.LinearRegression",
    ("regression", "random_forest"): "sklearn.ensemble.RandomForestRegressor",
}

# Defaults that differ from scikit-learn's: enough iterations for scaled data to converge.
DEFAULTS: dict[tuple[str, str], dict[str, Any]] = {
    ("classification", "logistic_regression"): {"max_iter": 1000},
}


def estimator_class(task: str, kind: str) -> type:
    """The scikit-learn class for a catalog entry."""
    module, _, name = CLASSES[(task, kind)].rpartition(".")
    return getattr(importlib.import_module(module), name)


def check_params(task: str, kind: str, params: dict[str, Any]) -> list[Problem]:
    """Unknown hyperparameter names, each with the names the estimator accepts (for a CNN:
    every field `CnnParams` refuses)."""
    if kind == "cnn":
        return _cnn_problems(params)
    cls = estimator_class(task, kind)
    accepted = sorted(cls().get_params(deep=False))
    return [
        Problem(
            f"estimator.params.{name}",
            f"unknown hyperparameter for {cls.__name__}; expected one of: {', '.join(accepted)}",
        )
        for name in params
        if name not in accepted
    ]


def make_estimator(task: str, kind: str, params: dict[str, Any], *, seed: int) -> Any:
    """A configured, unfitted estimator; `random_state` follows the split seed unless set."""
    cls = estimator_class(task, kind)
    merged = {**DEFAULTS.get((task, kind), {}), **params}
    if "random_state" in cls().get_params(deep=False):
        merged.setdefault("random_state", seed)
    return cls(**merged)


def _cnn_problems(params: dict[str, Any]) -> list[Problem]:
    from pipelines.core.errors import InvalidInput
    from pipelines.tasks.cnn import cnn_params  # pydantic only: torch is imported by training, not here

    try:
        cnn_params(params)
    except InvalidInput as exc:
        return [Problem(f"estimator.params.{p.location}" if p.location else "estimator.params", p.message)
                for p in exc.problems]
    return []
