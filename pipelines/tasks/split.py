"""The deterministic train/test split every stage shares, so candidate and production
are always scored on the same held-out rows."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from pipelines.core.errors import InvalidInput
from pipelines.core.schemas import ModelSpec


@dataclass(frozen=True)
class Split:
    """Training and held-out rows with every declared column, plus what the spec uses.

    Full rows are kept so production can be scored with its own feature set on the
    same held-out rows, even when the candidate's spec changed the features.
    """

    train: pd.DataFrame
    test: pd.DataFrame
    target: str
    features: list[str]

    @property
    def x_train(self) -> pd.DataFrame:
        return self.train[self.features]

    @property
    def y_train(self) -> pd.Series:
        return self.train[self.target]

    @property
    def x_test(self) -> pd.DataFrame:
        return self.test[self.features]

    @property
    def y_test(self) -> pd.Series:
        return self.test[self.target]


def split_rows(frame: pd.DataFrame, spec: ModelSpec, *, target: str, features: list[str]) -> Split:
    """Split by the spec's seed; stratified on the target for classification when asked.

    Rows without a target are dropped first: they can be neither learnt nor scored.
    """
    from sklearn.model_selection import train_test_split

    rows = frame.dropna(subset=[target])
    stratify = rows[target] if spec.task == "classification" and spec.split.stratify else None
    try:
        train, test = train_test_split(
            rows, test_size=spec.split.test_fraction, random_state=spec.split.seed, stratify=stratify
        )
    except ValueError as exc:
        raise InvalidInput(f"models/{spec.name}.yaml: split: cannot split {len(rows)} rows: {exc}") from exc
    return Split(train, test, target, list(features))
