"""Evidently 0.7's drift statistics, re-done column-wise on numpy arrays.

Each function takes one column's reference and current values with NaN and +-inf
already dropped, and returns the score Evidently's stattest of the same name returns
(`evidently/legacy/calculations/stattests/<name>.py`), computed from the same
intermediate numbers: the same bins, counts and scipy calls, so scores agree to
rounding. What must not happen here: choosing a method, thresholds, verdicts, I/O.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

# get_binned_data: numeric columns with more distinct reference values than this are
# binned (Sturges bins over both samples); fewer are counted value by value.
BINNED_ABOVE_UNIQUE = 20


def nunique(values: np.ndarray) -> int:
    """Distinct values (hash-based, as pandas' nunique)."""
    import pandas as pd

    return len(pd.unique(values))


def value_counts(reference: np.ndarray, current: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Counts of every value seen in either sample, aligned: Evidently's `{**dict.fromkeys(keys, 0), **counts}`."""
    import pandas as pd

    ref = pd.Series(reference).value_counts(sort=False)
    cur = pd.Series(current).value_counts(sort=False)
    keys = ref.index.append(cur.index).unique()
    return ref.reindex(keys, fill_value=0).to_numpy(), cur.reindex(keys, fill_value=0).to_numpy()


def sturges_bins(low: float, high: float, *, size: int, integer: bool) -> tuple[int, tuple[float, float]]:
    """(bins, range) that np.histogram_bin_edges(a, "sturges") gives for `size` values from low to high.

    Re-done from min, max and size so that a million values need not be concatenated,
    and so np.histogram can take its fast equal-width path (it checks each value
    against the same edges, so the counts equal those of the edges' array)."""
    import numpy as np

    width = (high - low) / (np.log2(size) + 1.0)
    if not width:
        return 1, (low, high)
    if integer and width < 1:
        width = 1
    return int(np.ceil((high - low) / width)), (low, high)


def binned_shares(reference: np.ndarray, current: np.ndarray, *, numeric: bool,
                  fill_zeroes: bool) -> tuple[np.ndarray, np.ndarray]:
    """Share of each sample per bin or value: stattests/utils.py::get_binned_data."""
    import numpy as np

    if numeric and nunique(reference) > BINNED_ABOVE_UNIQUE:
        low, high = min(reference.min(), current.min()), max(reference.max(), current.max())
        integer = np.issubdtype(np.result_type(reference, current), np.integer)
        bins, span = sturges_bins(low, high, size=reference.size + current.size, integer=integer)
        ref_counts = np.histogram(reference, bins=bins, range=span)[0]
        cur_counts = np.histogram(current, bins=bins, range=span)[0]
    else:
        ref_counts, cur_counts = value_counts(reference, current)
    ref_shares, cur_shares = ref_counts / reference.size, cur_counts / current.size
    if fill_zeroes:
        _fill_zeroes(ref_shares)
        _fill_zeroes(cur_shares)
    return ref_shares, cur_shares


def _fill_zeroes(shares: np.ndarray) -> None:
    import numpy as np

    smallest = shares[shares != 0].min()
    np.place(shares, shares == 0, smallest / 10**6 if smallest <= 0.0001 else 0.0001)


def ks(reference: np.ndarray, current: np.ndarray, *, numeric: bool) -> float:
    """Two-sample Kolmogorov-Smirnov p-value (ks_stattest.py)."""
    from scipy.stats import ks_2samp

    return float(ks_2samp(reference, current)[1])


def wasserstein(reference: np.ndarray, current: np.ndarray, *, numeric: bool) -> float:
    """Wasserstein distance over the reference's std, the std floored at 0.001 (wasserstein_distance_norm.py)."""
    import numpy as np

    norm = max(float(np.std(reference)), 0.001)
    return float(wasserstein_distance(reference, current) / norm)


def wasserstein_distance(u: np.ndarray, v: np.ndarray) -> float:
    """scipy.stats.wasserstein_distance(u, v) without weights, term for term, in linear time after two sorts.

    scipy integrates |U - V| over the merged sorted samples: the sum over positions i of
    |searchsorted(u, all[i], 'right') / u.size - (the same for v)| * (all[i + 1] - all[i]).
    Here each sample is sorted alone (quicksort, not a stable sort of both together),
    the merged order comes from placing u's values among v's, and the counts from a
    running sum. Within a run of equal values the running count falls short of
    searchsorted's, but there the width is 0, so every term, and so the dot product
    scipy takes of them, is the same."""
    import numpy as np

    u, v = np.sort(u), np.sort(v)
    total = u.size + v.size
    u_at = np.searchsorted(v, u)  # u's positions among all values
    u_at += np.arange(u.size)
    merged = np.empty(total, dtype=np.result_type(u, v, np.float64))
    merged[u_at] = u
    is_v = np.ones(total, dtype=bool)
    is_v[u_at] = False
    merged[is_v] = v
    # u's values at or before each position but the last: k + 1 from u's k-th position on
    # (a float is exact: counts are far below 2**53, and scipy divides them as floats).
    u_cdf = np.repeat(np.arange(u.size + 1, dtype=np.float64), np.diff(u_at, prepend=0, append=total))[:-1]
    v_cdf = np.arange(1, total, dtype=np.float64)
    v_cdf -= u_cdf
    v_cdf /= v.size
    u_cdf /= u.size
    u_cdf -= v_cdf
    return float(np.vecdot(np.abs(u_cdf, out=u_cdf), np.diff(merged)))


def chisquare(reference: np.ndarray, current: np.ndarray, *, numeric: bool) -> float:
    """Chi-square p-value; expected counts are the reference's scaled to the current size (chisquare_stattest.py)."""
    import warnings

    from scipy.stats import chisquare as chi2

    ref_counts, cur_counts = value_counts(reference, current)
    with warnings.catch_warnings():  # a category new in `current` expects 0: p is 0, as in Evidently
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(chi2(cur_counts, ref_counts * (current.size / reference.size))[1])


def z(reference: np.ndarray, current: np.ndarray, *, numeric: bool) -> float:
    """Two-proportion z-test p-value; the smallest value is '0', any other '1' (z_stattest.py)."""
    import numpy as np
    import pandas as pd
    from scipy.stats import norm

    ref_values, cur_values = pd.unique(reference), pd.unique(current)
    if len(ref_values) == 1 and len(cur_values) == 1 and ref_values[0] == cur_values[0]:
        return 1.0
    first = sorted({*ref_values, *cur_values})[0]
    n1, n2 = reference.size, current.size
    p1, p2 = float(np.count_nonzero(reference != first)) / n1, float(np.count_nonzero(current != first)) / n2
    pooled = float(p1 * n1 + p2 * n2) / (n1 + n2)
    stat = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))
    return float(2 * (1 - norm.cdf(np.abs(stat))))


def jensenshannon(reference: np.ndarray, current: np.ndarray, *, numeric: bool) -> float:
    """Jensen-Shannon distance (natural log) of the binned shares, zeroes kept (jensenshannon.py)."""
    from scipy.spatial.distance import jensenshannon as js

    return float(js(*binned_shares(reference, current, numeric=numeric, fill_zeroes=False)))


def psi(reference: np.ndarray, current: np.ndarray, *, numeric: bool) -> float:
    """Population stability index of the binned shares, zeroes filled (psi.py)."""
    import numpy as np

    ref, cur = binned_shares(reference, current, numeric=numeric, fill_zeroes=True)
    return float(np.sum((ref - cur) * np.log(ref / cur)))


def kl_div(reference: np.ndarray, current: np.ndarray, *, numeric: bool) -> float:
    """Kullback-Leibler divergence of reference from current, binned shares, zeroes filled (kl_div.py)."""
    from scipy.stats import entropy

    return float(entropy(*binned_shares(reference, current, numeric=numeric, fill_zeroes=True)))


def hellinger(reference: np.ndarray, current: np.ndarray, *, numeric: bool) -> float:
    """Hellinger distance (hellinger_distance.py): shares per value for categories; for numbers,
    densities over Sturges bins sized by the number of DISTINCT values, as Evidently does."""
    import numpy as np

    if numeric:
        low, high = min(reference.min(), current.min()), max(reference.max(), current.max())
        integer = np.issubdtype(np.result_type(reference, current), np.integer)
        size = nunique(np.concatenate([reference, current]))
        bins, span = sturges_bins(low, high, size=size, integer=integer)
        ref_density, edges = np.histogram(reference, bins=bins, range=span, density=True)
        cur_density = np.histogram(current, bins=bins, range=span, density=True)[0]
        width = (edges.max() - edges.min()) / (len(edges) - 1)
        overlap = float(np.sum(np.sqrt(ref_density * cur_density) * width))
    else:
        ref_counts, cur_counts = value_counts(reference, current)
        overlap = float(np.sum(np.sqrt((ref_counts / reference.size) * (cur_counts / current.size))))
    return float(np.sqrt(1 - np.clip(overlap, 0, 1)))
