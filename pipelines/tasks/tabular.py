"""Tabular models as one scikit-learn Pipeline: preprocessing from the column schema,
then the estimator.

Numbers get median imputation and scaling; categories get most-frequent imputation and
one-hot encoding that ignores categories unseen in training. So a dataset with
categorical columns and gaps trains without code changes.
"""

from __future__ import annotations

from typing import Any

from pipelines.core.schemas import DataPointer, ModelSpec
from pipelines.tasks.estimators import make_estimator


def build_pipeline(spec: ModelSpec, pointer: DataPointer, features: list[str]) -> Any:
    """An unfitted Pipeline(preprocess -> estimator) for the spec's features."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [n for n in features if pointer.column(n).type != "category"]
    categorical = [n for n in features if pointer.column(n).type == "category"]
    parts = []
    if numeric:
        parts.append(("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric))
    if categorical:
        encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
        parts.append(("categorical", make_pipeline(SimpleImputer(strategy="most_frequent"), encoder), categorical))
    preprocess = ColumnTransformer(parts, remainder="drop", verbose_feature_names_out=False)
    estimator = make_estimator(spec.task, spec.estimator.kind, spec.estimator.params, seed=spec.split.seed)
    return Pipeline([("preprocess", preprocess), ("estimator", estimator)])
