"""The drift engine against its oracle: on each seeded case, every feature's method,
score and verdict equal what Evidently 0.7's DataDriftPreset reports for the same data."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.core.errors import OutsideSystemError
from pipelines.core.schemas import DriftPolicy
from pipelines.tasks.drift import compute_drift
from pipelines.tasks.evidentlydrift import evidently_drift

LABELS = ("reference", "current")
SMALL, LARGE = 400, 3000  # either side of Evidently's 1000-row reference cutoff


def numeric_frames(rows: int, *, shift: float = 0.0, scale: float = 1.0, seed: int = 0) -> tuple[pd.DataFrame, ...]:
    """Continuous, integer (Sturges bins with integer widths), few-valued and binary numeric columns."""
    rng = np.random.default_rng(seed)

    def frame(n: int, s: float, k: float) -> pd.DataFrame:
        return pd.DataFrame({
            "income": rng.normal(50 + s * 10, 10 * k, n),
            "age": rng.integers(18, 80 + int(s * 10), n),
            "children": rng.choice([0, 1, 2, 3], n, p=[0.4, 0.3, 0.2, 0.1] if not s else [0.1, 0.2, 0.3, 0.4]),
            "member": (rng.random(n) < 0.3 + s / 4).astype(float),
        })

    return frame(rows, 0.0, 1.0), frame(int(rows * 1.3), shift, scale)


def categorical_frames(rows: int, *, shift: bool = False, new: bool = False, seed: int = 1) -> tuple[pd.DataFrame, ...]:
    """A many-valued and a binary categorical column; `new` adds categories the reference never saw."""
    rng = np.random.default_rng(seed)
    colours = ["red", "green", "blue", "grey"]

    def frame(n: int, drift: bool) -> pd.DataFrame:
        shares = [0.1, 0.2, 0.3, 0.4] if drift else [0.4, 0.3, 0.2, 0.1]
        values = colours + ["pink", "teal"] if drift and new else colours
        if drift and new:
            shares = [0.1, 0.1, 0.2, 0.4, 0.1, 0.1]
        colour = rng.choice(values, n, p=shares)
        plan = rng.choice(["basic", "pro"], n, p=[0.4, 0.6] if drift else [0.5, 0.5])
        return pd.DataFrame({"colour": colour, "plan": plan})

    return frame(rows, False), frame(int(rows * 1.3), shift)


def with_gaps(frames: tuple[pd.DataFrame, ...]) -> tuple[pd.DataFrame, ...]:
    """NaN, None and +-inf sprinkled in: Evidently drops them before testing."""
    rng = np.random.default_rng(2)
    out = []
    for frame in frames:
        frame = frame.astype({c: float for c in frame.columns if frame[c].dtype.kind in "if"}).astype(
            {c: object for c in frame.columns if frame[c].dtype.kind == "O"})
        for column in frame.columns:
            holes = rng.random(len(frame)) < 0.1
            gap = None if frame[column].dtype == object else np.nan
            frame.loc[holes, column] = gap
            if frame[column].dtype != object:
                frame.loc[rng.random(len(frame)) < 0.01, column] = np.inf
        out.append(frame)
    return tuple(out)


def joined(numeric: tuple[pd.DataFrame, ...], categorical: tuple[pd.DataFrame, ...]) -> tuple[pd.DataFrame, ...]:
    return tuple(pd.concat([n, c], axis=1) for n, c in zip(numeric, categorical, strict=True))


def policy(**features: str) -> DriftPolicy:
    return DriftPolicy(features={c: {"method": m, "threshold": 0.07} for c, m in features.items()})


NUMERIC = ["income", "age", "children", "member"]
CATEGORICAL = ["colour", "plan"]
CASES = {
    "same-distribution-small": (joined(numeric_frames(SMALL), categorical_frames(SMALL)), DriftPolicy()),
    "same-distribution-large": (joined(numeric_frames(LARGE), categorical_frames(LARGE)), DriftPolicy()),
    "mean-shift-small": (joined(numeric_frames(SMALL, shift=0.3), categorical_frames(SMALL)), DriftPolicy()),
    "mean-shift-large": (joined(numeric_frames(LARGE, shift=0.15), categorical_frames(LARGE)), DriftPolicy()),
    "scale-shift-large": (joined(numeric_frames(LARGE, scale=1.5), categorical_frames(LARGE)), DriftPolicy()),
    "category-shift-small": (joined(numeric_frames(SMALL), categorical_frames(SMALL, shift=True)), DriftPolicy()),
    "category-shift-large": (joined(numeric_frames(LARGE), categorical_frames(LARGE, shift=True)), DriftPolicy()),
    "new-categories-small": (joined(numeric_frames(SMALL), categorical_frames(SMALL, shift=True, new=True)),
                             DriftPolicy()),
    "new-categories-large": (joined(numeric_frames(LARGE), categorical_frames(LARGE, shift=True, new=True)),
                             DriftPolicy()),
    "nans-and-infs-small": (with_gaps(joined(numeric_frames(SMALL, shift=0.2), categorical_frames(SMALL))),
                            DriftPolicy()),
    "nans-and-infs-large": (with_gaps(joined(numeric_frames(LARGE, shift=0.2), categorical_frames(LARGE))),
                            DriftPolicy()),
    "policy-methods-large": (joined(numeric_frames(LARGE, shift=0.1), categorical_frames(LARGE, shift=True, new=True)),
                             policy(income="ks", age="psi", children="kl_div", member="hellinger",
                                    colour="chisquare", plan="z")),
    "policy-methods-small": (joined(numeric_frames(SMALL, shift=0.2), categorical_frames(SMALL, shift=True)),
                             policy(income="hellinger", age="kl_div", children="wasserstein", member="psi",
                                    colour="hellinger", plan="jensenshannon")),
    "policy-default-test": (joined(numeric_frames(LARGE, scale=1.2), categorical_frames(LARGE, shift=True)),
                            DriftPolicy(default_test={"method": "psi", "threshold": 0.02})),
    "fallback-to-evidently": (joined(numeric_frames(SMALL), categorical_frames(SMALL, shift=True)),
                              policy(income="anderson", age="cramer_von_mises")),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_engine_reports_what_evidently_reports(case: str) -> None:
    (reference, current), drift_policy = CASES[case]
    args = dict(numeric=NUMERIC, categorical=CATEGORICAL, policy=drift_policy, labels=LABELS)
    engine = compute_drift(reference, current, **args)  # type: ignore[arg-type]
    oracle = evidently_drift(reference, current, **args)  # type: ignore[arg-type]
    assert [(f.column, f.method, f.kind, f.threshold, f.drifted) for f in engine.features] == \
        [(f.column, f.method, f.kind, f.threshold, f.drifted) for f in oracle.features]
    for mine, theirs in zip(engine.features, oracle.features, strict=True):
        assert math.isclose(mine.score, theirs.score, rel_tol=1e-9, abs_tol=1e-12), (mine, theirs)


def test_cases_cover_every_default_method_and_both_verdicts() -> None:
    """The oracle cases are only worth their time if they reach each default test, drifting and not."""
    reached = set()
    for (reference, current), drift_policy in CASES.values():
        report = compute_drift(reference, current, numeric=NUMERIC, categorical=CATEGORICAL, policy=drift_policy,
                               labels=LABELS)
        reached |= {(f.method, f.drifted) for f in report.features}
    for method in ("K-S p_value", "Wasserstein distance (normed)", "chi-square p_value", "Z-test p_value",
                   "Jensen-Shannon distance"):
        assert {(method, True), (method, False)} <= reached, method


def test_policy_method_names_read_as_evidently_displays_them() -> None:
    (reference, current), _ = CASES["mean-shift-small"]
    report = compute_drift(reference, current, numeric=["income"], categorical=[], policy=policy(income="ks"),
                           labels=LABELS)
    assert (report.features[0].method, report.features[0].kind) == ("K-S p_value", "p_value")


def test_method_not_for_the_column_type_is_an_error() -> None:
    (reference, current), _ = CASES["same-distribution-small"]
    with pytest.raises(OutsideSystemError, match="isn't applicable"):
        compute_drift(reference, current, numeric=[], categorical=["colour"], policy=policy(colour="wasserstein"),
                      labels=LABELS)


def test_html_of_large_tables_is_drawn_on_a_sample_and_says_so(tmp_path: Path) -> None:
    (reference, current), _ = CASES["mean-shift-large"]
    args = dict(numeric=["income"], categorical=["colour"], policy=DriftPolicy(), labels=LABELS)
    sampled = compute_drift(reference, current, html_path=tmp_path / "s.html", html_sample_rows=1000, **args)  # type: ignore[arg-type]
    whole = compute_drift(reference, current, html_path=tmp_path / "w.html", **args)  # type: ignore[arg-type]
    assert (sampled.html_sample, whole.html_sample) == (1000, None)
    assert sampled.features == whole.features  # verdicts always come from every row
    assert (tmp_path / "s.html").stat().st_size > 10_000


@pytest.mark.parametrize(("method", "kind"), [("anderson", "p_value"), ("mannw", "p_value"),
                                              ("energy_distance", "distance"), ("epps_singleton", "p_value")])
def test_every_policy_method_runs_and_reads_the_right_way_round(method: str, kind: str) -> None:
    (reference, current), _ = CASES["mean-shift-small"]
    report = compute_drift(reference, current, numeric=["income"], categorical=[], policy=policy(income=method),
                           labels=LABELS)
    (found,) = report.features
    assert found.kind == kind and found.drifted, found


@pytest.mark.parametrize("seed", range(40))
def test_wasserstein_distance_is_scipys_with_ties_and_unequal_sizes(seed: int) -> None:
    from scipy.stats import wasserstein_distance as scipy_wasserstein

    from pipelines.tasks.driftstats import wasserstein_distance

    rng = np.random.default_rng(seed)
    m, n = (int(k) for k in rng.integers(1, 400, 2))
    pairs = [(rng.normal(size=m), rng.normal(0.3, 2, n)),  # no ties
             (np.round(rng.normal(size=m), 1), np.round(rng.normal(size=n), 1)),  # ties within and across
             (rng.integers(0, 5, m), rng.integers(-2, 7, n)),  # integers, few values
             (np.full(m, 1.5), np.full(n, 1.5)), (np.full(m, 1.0), rng.normal(size=n))]
    for u, v in pairs:
        u, v = u[np.isfinite(u)], v[np.isfinite(v)]
        assert math.isclose(wasserstein_distance(u, v), scipy_wasserstein(u, v), rel_tol=1e-12, abs_tol=1e-15)


@pytest.mark.parametrize("column", [
    pd.Series(["a", None, "b", np.nan, np.inf, "a", -np.inf, 3, 3.0, pd.NA, "inf", pd.NaT], dtype=object),
    pd.Series(["a", "b"] * 5, dtype=object), pd.Series(pd.Categorical(["x", None, "y"])),
    pd.Series([True, None, False], dtype=object), pd.Series([], dtype=object),
    pd.Series(["a", "b", None], dtype="string")], ids=["mixed", "clean", "categorical", "bools", "empty", "string"])
def test_clean_drops_what_replace_and_dropna_drop(column: pd.Series) -> None:
    from pipelines.tasks.driftengine import clean

    expected = column.replace([-np.inf, np.inf], np.nan).dropna().to_numpy()
    found = clean(column)
    assert found.dtype == expected.dtype
    assert [(type(v), v) for v in found] == [(type(v), v) for v in expected]
