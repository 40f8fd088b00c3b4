"""Drift between two image batches: per-image statistics, and MMD on embeddings if given.

Each statistic column (`brightness[R]`, `noise[G]`, `colourfulness`, see `imagestats`)
gets two tests: its Wasserstein distance normed as Evidently's `wasserstein` is
(scipy's distance / max(std(reference), 0.001)), a distance that drifts when HIGH, and
a permutation p-value for that distance, which drifts when LOW. The embeddings get the
same pair from `imagemmd`: MMD^2 and its permutation p-value. `verdict` chooses which of
each pair a DriftReport holds (one record per column, so reports stay keyed by
column); `statistics_drift` returns both. The p-values are per column, with no
multiple-testing correction: with 20 columns and no drift, about one is expected
below 0.05, which is why the dataset verdict is a share (`drift_share`).
What must not happen here: I/O, rendering, reading policies.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from pipelines.core.drift import DriftReport, FeatureDrift, Kind
from pipelines.tasks.imagemmd import mmd_test
from pipelines.tasks.imagestats import image_statistics

__all__ = ["DEFAULT_THRESHOLDS", "image_drift", "image_statistics", "normed_wasserstein", "statistics_drift"]

DEFAULT_THRESHOLDS = {"statistics_p_value": 0.05, "statistics_distance": 0.1, "mmd_p_value": 0.05,
                      "mmd_distance": 0.1}
STATISTIC_METHODS = ("wasserstein", "wasserstein_permutation_p_value")  # distance, p-value
MMD_METHODS = ("mmd_rff", "mmd_rff_permutation_p_value")
EMBEDDINGS_COLUMN = "embeddings"
PERMUTATION_CELLS = 1 << 20  # permutations x pooled rows held at once


def image_drift(reference_images: np.ndarray, current_images: np.ndarray, *,
                reference_embeddings: np.ndarray | None = None, current_embeddings: np.ndarray | None = None,
                thresholds: Mapping[str, float] | None = None, permutations: int = 200, seed: int = 0,
                labels: tuple[str, str] = ("reference", "current"), verdict: Kind = "p_value",
                drift_share: float = 0.5) -> DriftReport:
    """Drift of `current_images` against `reference_images`, one record per statistic column (plus
    `embeddings` when both embedding batches are given), each of kind `verdict`."""
    limits = _thresholds(thresholds)
    if (reference_embeddings is None) != (current_embeddings is None):
        raise ValueError("give embeddings for both batches or for neither")
    pairs = statistics_drift(image_statistics(reference_images), image_statistics(current_images),
                             p_value_threshold=limits["statistics_p_value"],
                             distance_threshold=limits["statistics_distance"], permutations=permutations, seed=seed)
    if reference_embeddings is not None and current_embeddings is not None:
        pairs.append(_mmd_pair(reference_embeddings, current_embeddings, limits, permutations=permutations,
                               seed=seed))
    pick = 0 if verdict == "distance" else 1
    return DriftReport(reference=labels[0], current=labels[1], reference_rows=len(reference_images),
                       current_rows=len(current_images), features=[pair[pick] for pair in pairs],
                       drift_share=drift_share)


def statistics_drift(reference: Mapping[str, np.ndarray], current: Mapping[str, np.ndarray], *,
                     p_value_threshold: float = 0.05, distance_threshold: float = 0.1, permutations: int = 200,
                     seed: int = 0) -> list[tuple[FeatureDrift, FeatureDrift]]:
    """(normed Wasserstein, its permutation p-value) per column both tables share, in the reference's order.

    Every column is tested against the same seeded permutations of the pooled rows."""
    columns = [c for c in reference if c in current]
    if not columns:
        raise ValueError("the two statistics tables share no column")
    n, m = len(reference[columns[0]]), len(current[columns[0]])
    labels = _permutation_labels(n, m, permutations=permutations, seed=seed)
    pairs = []
    for column in columns:
        ref, cur = np.asarray(reference[column], float), np.asarray(current[column], float)
        distances = _permuted_wasserstein(np.concatenate([ref, cur]), labels)
        norm = max(float(np.std(ref)), 0.001)
        p_value = (1 + np.count_nonzero(distances[1:] >= distances[0] * (1 - 1e-12))) / (1 + permutations)
        pairs.append(_pair(column, STATISTIC_METHODS, distances[0] / norm, float(p_value),
                           distance_threshold=distance_threshold, p_value_threshold=p_value_threshold))
    return pairs


def normed_wasserstein(reference: np.ndarray, current: np.ndarray) -> float:
    """Evidently's `wasserstein` score: scipy's distance over the reference's std (at least 0.001)."""
    from scipy.stats import wasserstein_distance

    return float(wasserstein_distance(reference, current) / max(float(np.std(reference)), 0.001))


def _thresholds(given: Mapping[str, float] | None) -> dict[str, float]:
    unknown = sorted(set(given or {}) - set(DEFAULT_THRESHOLDS))
    if unknown:
        raise ValueError(f"unknown thresholds {unknown}; known: {sorted(DEFAULT_THRESHOLDS)}")
    return {**DEFAULT_THRESHOLDS, **(given or {})}


def _permutation_labels(n: int, m: int, *, permutations: int, seed: int) -> np.ndarray:
    """Row 0 the observed split (True = reference), then `permutations` seeded shuffles of it."""
    observed = np.r_[np.ones(n, bool), np.zeros(m, bool)]
    shuffled = np.random.default_rng(seed).permuted(np.tile(observed, (permutations, 1)), axis=1)
    return np.vstack([observed, shuffled])


def _permuted_wasserstein(pooled: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Wasserstein-1 distance between the True and False rows of `pooled`, per label row.

    The distance is the integral of |F_ref - F_cur|; on the pooled values sorted once,
    both step functions are running counts of the labels, so no row is sorted again."""
    order = np.argsort(pooled, kind="stable")
    gaps = np.diff(pooled[order])
    n = int(labels[0].sum())
    m = labels.shape[1] - n
    seen = np.arange(1, labels.shape[1])
    out = np.empty(len(labels))
    step = max(1, PERMUTATION_CELLS // labels.shape[1])
    for i in range(0, len(labels), step):
        ref_seen = np.cumsum(labels[i:i + step, order[:-1]], axis=1, dtype=np.float64)
        out[i:i + step] = np.abs(ref_seen / n - (seen - ref_seen) / m) @ gaps
    return out


def _mmd_pair(reference: np.ndarray, current: np.ndarray, limits: Mapping[str, float], *, permutations: int,
              seed: int) -> tuple[FeatureDrift, FeatureDrift]:
    result = mmd_test(reference, current, permutations=permutations, seed=seed)
    return _pair(EMBEDDINGS_COLUMN, MMD_METHODS, result.mmd2, result.p_value,
                 distance_threshold=limits["mmd_distance"], p_value_threshold=limits["mmd_p_value"])


def _pair(column: str, methods: tuple[str, str], distance: float, p_value: float, *, distance_threshold: float,
          p_value_threshold: float) -> tuple[FeatureDrift, FeatureDrift]:
    return (
        FeatureDrift(column=column, method=methods[0], kind="distance", score=float(distance),
                     threshold=distance_threshold, drifted=distance >= distance_threshold),
        FeatureDrift(column=column, method=methods[1], kind="p_value", score=p_value,
                     threshold=p_value_threshold, drifted=p_value < p_value_threshold),
    )
