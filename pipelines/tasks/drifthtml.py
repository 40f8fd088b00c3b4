"""The candidate's drift report as one self-contained HTML page, drawn from the engine's
results: every feature's method, score, threshold and verdict, most severe first, beside
a histogram of each table's values (shares, so tables of different sizes compare).

Why not Evidently's page: importing Evidently and running its preset cost a candidate
job about four seconds, most of its time, to draw plots of numbers the engine already has.
This page uses every row (no sample), runs no script and loads nothing from outside, so
it opens anywhere a CI artifact is downloaded. What must not happen here: choosing
methods, scoring, verdicts (the engine's), any I/O but the caller's one write.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from pipelines.core.drift import DriftReport, FeatureDrift

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

BINS = 20  # per numeric histogram: Sturges' rule would give 10-11 for the samples' sizes, too coarse to read
TOP_VALUES = 20  # categories shown, by reference share; the rest are summed as "other"
WIDTH, HEIGHT = 320, 90
REFERENCE_COLOUR, CURRENT_COLOUR = "#8c8c8c", "#d9480f"

STYLE = """body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse}
td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left;vertical-align:middle}
.drift{color:#c92a2a;font-weight:600}.ok{color:#2b8a3e}
.key span{display:inline-block;width:12px;height:12px;margin:0 4px}"""


def render_drift_html(report: DriftReport, reference: pd.DataFrame, current: pd.DataFrame, *,
                      numeric: list[str]) -> str:
    """The page for `report`, with histograms of `reference` and `current` (its columns)."""
    rows = "\n".join(_row(f, reference[f.column], current[f.column], numeric=f.column in numeric)
                     for f in sorted(report.features, key=lambda f: (not f.drifted, -f.severity)))
    drifted = len(report.drifted)
    verdict = "drifted" if report.dataset_drifted else "not drifted"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Data drift: {escape(report.current)}</title>
<style>{STYLE}</style></head><body>
<h1>Data drift: {verdict}</h1>
<p>Reference: {escape(report.reference)} ({report.reference_rows} rows).<br>
Current: {escape(report.current)} ({report.current_rows} rows).<br>
{drifted} of {len(report.features)} features drifted (share {report.share:.2f}; the dataset drifts at
{report.drift_share:.2f}).</p>
<p class="key"><span style="background:{REFERENCE_COLOUR}"></span>reference
<span style="background:{CURRENT_COLOUR}"></span>current (share of rows per bin or value)</p>
<table><thead><tr><th>feature</th><th>method</th><th>score vs threshold</th><th>verdict</th>
<th>distribution</th></tr></thead>
<tbody>
{rows}
</tbody></table></body></html>
"""


def _row(feature: FeatureDrift, reference: pd.Series, current: pd.Series, *, numeric: bool) -> str:
    labels, ref, cur = (_numeric_shares if numeric else _category_shares)(reference, current)
    verdict = '<td class="drift">drifted</td>' if feature.drifted else '<td class="ok">not drifted</td>'
    return (f"<tr><td>{escape(feature.column)}</td><td>{escape(feature.method)}</td>"
            f"<td>{escape(feature.comparison())}</td>{verdict}<td>{_bars(labels, ref, cur)}</td></tr>")


def _numeric_shares(reference: pd.Series, current: pd.Series) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Shares of each table in BINS equal bins over both tables' finite values."""
    import numpy as np

    ref, cur = (np.asarray(s.to_numpy(dtype=float, na_value=np.nan)) for s in (reference, current))
    ref, cur = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
    both = np.concatenate([ref, cur])
    if both.size == 0:
        return [], np.zeros(0), np.zeros(0)
    edges = np.histogram_bin_edges(both, bins=BINS)
    labels = [f"{low:.4g} to {high:.4g}" for low, high in zip(edges[:-1], edges[1:], strict=True)]
    return labels, _shares(np.histogram(ref, edges)[0]), _shares(np.histogram(cur, edges)[0])


def _category_shares(reference: pd.Series, current: pd.Series) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Shares of each table per value: the TOP_VALUES commonest in the reference, then "other"."""
    import numpy as np

    ref, cur = reference.dropna().astype(str), current.dropna().astype(str)
    ref_counts, cur_counts = ref.value_counts(), cur.value_counts()
    shown = list(ref_counts.index.append(cur_counts.index).unique()[:TOP_VALUES])
    ref_shown = np.array([ref_counts.get(v, 0) for v in shown], dtype=float)
    cur_shown = np.array([cur_counts.get(v, 0) for v in shown], dtype=float)
    if len(shown) < len(set(ref_counts.index) | set(cur_counts.index)):
        shown.append("other")
        ref_shown = np.append(ref_shown, len(ref) - ref_shown.sum())
        cur_shown = np.append(cur_shown, len(cur) - cur_shown.sum())
    return shown, _shares(ref_shown), _shares(cur_shown)


def _shares(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return counts / total if total else counts.astype(float)


def _bars(labels: list[str], reference: np.ndarray, current: np.ndarray) -> str:
    """An inline SVG: per bin, the reference's bar and the current's side by side; a title per bar."""
    if not labels:
        return "no finite values"
    top = max(float(reference.max()), float(current.max())) or 1.0
    slot = WIDTH / len(labels)
    bars = []
    for i, label in enumerate(labels):
        for j, (share, colour, name) in enumerate(((reference[i], REFERENCE_COLOUR, "reference"),
                                                   (current[i], CURRENT_COLOUR, "current"))):
            height = HEIGHT * float(share) / top
            bars.append(f'<rect x="{i * slot + j * slot / 2:.1f}" y="{HEIGHT - height:.1f}" width="{slot / 2:.1f}" '
                        f'height="{height:.1f}" fill="{colour}"><title>{escape(label)}: {name} '
                        f'{float(share):.1%}</title></rect>')
    return (f'<svg width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
            f'aria-label="histogram">{"".join(bars)}</svg>')
