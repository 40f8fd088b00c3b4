"""The candidate's drift page: every feature with the engine's verdict, drifted ones first,
histograms whose shares are each table's own, and nothing from the data run as markup."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from pipelines.core.drift import DriftReport, FeatureDrift
from pipelines.tasks.drifthtml import TOP_VALUES, render_drift_html

HOSTILE = "<script>alert(1)</script>"


def _report(*features: FeatureDrift) -> DriftReport:
    return DriftReport(reference="production v1 data", current="candidate data", reference_rows=100,
                       current_rows=50, features=list(features), drift_share=0.5)


def _feature(column: str, *, drifted: bool, score: float) -> FeatureDrift:
    return FeatureDrift(column=column, method="K-S p_value", kind="p_value", score=score, threshold=0.05,
                        drifted=drifted)


def _titles(page: str, column: str) -> list[str]:
    row = re.search(rf"<tr><td>{re.escape(column)}</td>.*?</tr>", page).group(0)
    return re.findall(r"<title>(.*?)</title>", row)


def test_every_feature_is_listed_drifted_first_with_its_verdict() -> None:
    rng = np.random.default_rng(0)
    reference = pd.DataFrame({"calm": rng.normal(size=100), "moved": rng.normal(size=100)})
    current = pd.DataFrame({"calm": rng.normal(size=50), "moved": rng.normal(3, 1, size=50)})
    page = render_drift_html(_report(_feature("calm", drifted=False, score=0.6),
                                     _feature("moved", drifted=True, score=1e-9)),
                             reference, current, numeric=["calm", "moved"])
    rows = re.findall(r"<tr><td>(\w+)</td><td>K-S p_value</td><td>(.*?)</td><td class=\"(\w+)\">", page)
    assert rows == [("moved", "p=1e-09 &lt; 0.05", "drift"), ("calm", "p=0.6 &gt;= 0.05", "ok")]
    assert "1 of 2 features drifted" in page and "100 rows" in page and "50 rows" in page
    assert "<script" not in page and "http" not in page  # self-contained: opens offline, runs nothing


def test_shares_are_per_table_and_cover_every_row() -> None:
    reference = pd.DataFrame({"x": [0.0] * 90 + [10.0] * 10})
    current = pd.DataFrame({"x": [0.0] * 10 + [10.0] * 40 + [np.nan, np.inf]})  # NaN and inf are not values
    page = render_drift_html(_report(_feature("x", drifted=True, score=0.001)), reference, current, numeric=["x"])
    titles = _titles(page, "x")
    assert titles[0].endswith("reference 90.0%") and titles[1].endswith("current 20.0%")
    assert titles[-2].endswith("reference 10.0%") and titles[-1].endswith("current 80.0%")


def test_categories_beyond_the_commonest_are_summed_as_other_and_names_are_escaped() -> None:
    values = [f"v{i}" for i in range(TOP_VALUES + 5)]
    reference = pd.DataFrame({HOSTILE: pd.Categorical(values * 2)})
    current = pd.DataFrame({HOSTILE: pd.Categorical(values[:1] * 10)})
    page = render_drift_html(_report(_feature(HOSTILE, drifted=True, score=0.0)), reference, current, numeric=[])
    assert HOSTILE not in page and "&lt;script&gt;" in page
    titles = _titles(page, "&lt;script&gt;alert(1)&lt;/script&gt;")
    assert len(titles) == 2 * (TOP_VALUES + 1)
    assert titles[-2] == "other: reference 20.0%" and titles[-1] == "other: current 0.0%"
    assert titles[1] == "v0: current 100.0%"
