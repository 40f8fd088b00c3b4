"""Per-feature drift verdicts as Evidently 0.7's DataDriftPreset reaches them, without Evidently.

Evidently runs each column through pandas, then builds plots and correlations the
verdict does not need; on a million rows that takes minutes. This engine cleans a
column the same way (`legacy/calculations/data_drift.py::get_one_column_drift`: +-inf
become NaN, NaNs are dropped), picks the same test (`stattests/registry.py::
_get_default_stattest`) and computes its score with `driftstats` on numpy arrays.
Methods it does not implement return None, so the caller can ask Evidently for that
column alone. What must not happen here: rendering, I/O, importing Evidently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipelines.core.drift import FeatureDrift, method_kind
from pipelines.tasks import driftstats

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

# _get_default_stattest: references up to this many rows get significance tests,
# larger ones distances; columns with at most these many distinct values count as discrete.
SMALL_REFERENCE_ROWS = 1000
FEW_VALUES = 5
BINARY_VALUES = 2


@dataclass(frozen=True)
class Method:
    """One Evidently stattest: its display name (what reports show), default threshold,
    which column types it accepts, and how its score becomes a verdict."""

    display: str
    threshold: float
    numeric: bool
    categorical: bool
    score: Callable[..., float]
    drift_at_threshold: bool = False  # K-S alone drifts when p == threshold (`p_value <= threshold`)

    def drifted(self, score: float, threshold: float) -> bool:
        """Evidently's own comparison for this method."""
        if method_kind(self.display) == "p_value":
            return score <= threshold if self.drift_at_threshold else score < threshold
        return score >= threshold


# Registry names as in Evidently's `register_stattest` calls; the rest fall back to Evidently.
METHODS: dict[str, Method] = {
    "ks": Method("K-S p_value", 0.05, True, False, driftstats.ks, drift_at_threshold=True),
    "wasserstein": Method("Wasserstein distance (normed)", 0.1, True, False, driftstats.wasserstein),
    "chisquare": Method("chi-square p_value", 0.05, False, True, driftstats.chisquare),
    "z": Method("Z-test p_value", 0.05, False, True, driftstats.z),
    "jensenshannon": Method("Jensen-Shannon distance", 0.1, True, True, driftstats.jensenshannon),
    "psi": Method("PSI", 0.1, True, True, driftstats.psi),
    "kl_div": Method("Kullback-Leibler divergence", 0.1, True, True, driftstats.kl_div),
    "hellinger": Method("Hellinger distance", 0.1, True, True, driftstats.hellinger),
}


def clean(values: pd.Series) -> np.ndarray:
    """The column without NaN, None and +-inf, as Evidently drops them before any test."""
    import numpy as np
    import pandas as pd

    array = values.to_numpy()
    if pd.api.types.is_float_dtype(array.dtype):
        return array[np.isfinite(array)]
    if pd.api.types.is_numeric_dtype(array.dtype):
        return array
    # One hash pass, not Series.replace + dropna (5x slower on a million strings): missing
    # values code as -1, and a value equal to +-inf (what replace would have matched) is
    # found among the distinct values.
    codes, distinct = pd.factorize(array)
    gaps = codes < 0
    infinite = [code for code, value in enumerate(distinct) if _equals_infinity(value)]
    if infinite:
        gaps |= np.isin(codes, infinite)
    return array[~gaps] if gaps.any() else array


def _equals_infinity(value: object) -> bool:
    import numpy as np

    try:
        return bool(value == np.inf or value == -np.inf)
    except (TypeError, ValueError):
        return False


def default_method(reference: np.ndarray, current: np.ndarray, *, numeric: bool) -> str:
    """The test Evidently picks when the policy names none (`_get_default_stattest`)."""
    if reference.size > SMALL_REFERENCE_ROWS and not numeric:
        return "jensenshannon"
    few = _distinct_at_most(reference, current, FEW_VALUES)
    if reference.size > SMALL_REFERENCE_ROWS:
        return "jensenshannon" if few is not None else "wasserstein"
    if numeric and few is None:
        return "ks"
    binary = few is not None and few <= BINARY_VALUES
    return "z" if binary else "chisquare"


def _distinct_at_most(reference: np.ndarray, current: np.ndarray, limit: int) -> int | None:
    """Distinct values over both samples if at most `limit`, else None (the reference alone may tell)."""
    import numpy as np

    if driftstats.nunique(reference) > limit:
        return None
    count = driftstats.nunique(np.concatenate([reference, current]))
    return count if count <= limit else None


def feature_drift(reference: pd.Series, current: pd.Series, *, numeric: bool, method: str | None = None,
                  threshold: float | None = None) -> FeatureDrift | None:
    """This column's drift as Evidently would report it, or None if `method` is not implemented here.

    Raises ValueError where Evidently does: an empty column, a method not for this column type."""
    ref, cur = clean(reference), clean(current)
    column = str(reference.name)
    for name, values in (("reference", ref), ("current", cur)):
        if values.size == 0:
            raise ValueError(f"An empty column '{column}' was provided for drift calculation in the {name} dataset.")
    chosen = method or default_method(ref, cur, numeric=numeric)
    if chosen not in METHODS:
        return None
    spec = METHODS[chosen]
    if method is not None and not (spec.numeric if numeric else spec.categorical):
        kind = "num" if numeric else "cat"
        raise ValueError(f"Stattest {chosen} isn't applicable to feature of type {kind}.")
    score = spec.score(ref, cur, numeric=numeric)
    limit = spec.threshold if threshold is None else threshold
    return FeatureDrift(column=column, method=spec.display, kind=method_kind(spec.display), score=score,
                        threshold=limit, drifted=spec.drifted(score, limit))
