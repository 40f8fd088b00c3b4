"""What mlpin knows by name: tasks, estimators per task, metrics and their direction.

The spec schema types `task` with `Task`; the cross-file checks (`core.consistency`)
check estimator and gate-metric names against these tables, so a typo fails when the
workspace loads, with the list of valid names, instead of deep inside training.
"""

from __future__ import annotations

from typing import Literal

Task = Literal["classification", "regression", "image_classification"]
TASKS: tuple[str, ...] = ("classification", "regression", "image_classification")
IMAGE_TASKS: tuple[str, ...] = ("image_classification",)

ESTIMATORS: dict[str, tuple[str, ...]] = {
    "classification": ("random_forest", "logistic_regression", "hist_gradient_boosting"),
    "regression": ("hist_gradient_boosting", "ridge", "linear", "random_forest"),
    "image_classification": ("cnn",),
}

HIGHER_IS_BETTER = "higher"
LOWER_IS_BETTER = "lower"

# Scalar metrics per task and which way is better. The confusion matrix is reported
# alongside but is not a scalar, so no gate can name it.
METRICS: dict[str, dict[str, str]] = {
    "classification": {
        "accuracy": HIGHER_IS_BETTER,
        "f1_weighted": HIGHER_IS_BETTER,
        "f1_macro": HIGHER_IS_BETTER,
        "precision_weighted": HIGHER_IS_BETTER,
        "recall_weighted": HIGHER_IS_BETTER,
        "roc_auc": HIGHER_IS_BETTER,
        "log_loss": LOWER_IS_BETTER,
    },
    "regression": {
        "mae": LOWER_IS_BETTER,
        "rmse": LOWER_IS_BETTER,
        "r2": HIGHER_IS_BETTER,
        "max_error": LOWER_IS_BETTER,
    },
}


METRICS["image_classification"] = METRICS["classification"]  # the same metrics, compared the same way


def metric_direction(name: str) -> str | None:
    """`higher`, `lower`, or None when no task knows the metric."""
    for table in METRICS.values():
        if name in table:
            return table[name]
    return None


def all_metric_names() -> list[str]:
    """Every metric name any task reports, sorted."""
    return sorted({name for table in METRICS.values() for name in table})
