"""Metrics of a fitted model on held-out rows: the same function for candidate and
production, so their numbers are comparable."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Scores:
    """Scalar metrics, plus the confusion matrix for classification."""

    metrics: dict[str, float]
    rows: int
    confusion: dict[str, Any] = field(default_factory=dict)


def score(model: Any, x: pd.DataFrame, y: pd.Series, *, task: str) -> Scores:
    """Score `model` on (x, y) with the task's metric set."""
    if task in ("classification", "image_classification"):
        return _classification(model, x, y)
    return _regression(model, x, y)


def _classification(model: Any, x: pd.DataFrame, y: pd.Series) -> Scores:
    from sklearn import metrics as m

    predicted = model.predict(x)
    labels = [str(c) for c in model.classes_]
    out = {
        "accuracy": m.accuracy_score(y, predicted),
        "f1_weighted": m.f1_score(y, predicted, average="weighted", zero_division=0),
        "f1_macro": m.f1_score(y, predicted, average="macro", zero_division=0),
        "precision_weighted": m.precision_score(y, predicted, average="weighted", zero_division=0),
        "recall_weighted": m.recall_score(y, predicted, average="weighted", zero_division=0),
    }
    if hasattr(model, "predict_proba"):
        out.update(_probability_metrics(model.predict_proba(x), y, labels))
    matrix = m.confusion_matrix(y, predicted, labels=model.classes_)
    confusion = {"labels": labels, "matrix": matrix.tolist()}
    return Scores(_rounded(out), len(y), confusion)


def _probability_metrics(proba: np.ndarray, y: pd.Series, labels: list[str]) -> dict[str, float]:
    from sklearn import metrics as m

    present = set(y.astype(str))
    out = {"log_loss": m.log_loss(y.astype(str), proba, labels=labels)}
    if len(present) < 2 or not present <= set(labels):
        return out  # AUC is undefined with one class on the held-out rows
    if len(labels) == 2:
        out["roc_auc"] = m.roc_auc_score(y.astype(str) == labels[1], proba[:, 1])
    else:
        out["roc_auc"] = m.roc_auc_score(y.astype(str), proba, multi_class="ovr", labels=labels)
    return out


def _regression(model: Any, x: pd.DataFrame, y: pd.Series) -> Scores:
    from sklearn import metrics as m

    predicted = model.predict(x)
    out = {
        "mae": m.mean_absolute_error(y, predicted),
        "rmse": m.root_mean_squared_error(y, predicted),
        "r2": m.r2_score(y, predicted),
        "max_error": m.max_error(y, predicted),
    }
    return Scores(_rounded(out), len(y))


def _rounded(values: dict[str, float]) -> dict[str, float]:
    # 12 significant digits: stable across runs, far below any gate's resolution.
    return {k: float(f"{float(v):.12g}") for k, v in values.items()}
