"""Which ISP change most likely turned the reference raw-pipeline outputs into the current ones.

Each scenario is a callable that re-renders the reference batch under one simulated
ISP change (white-balance shift, gamma, added noise, sharpening, ...); the caller
passes them in, so this module knows no ISP. Every re-rendered batch is summarised by
the same per-image statistics as image drift (`imagestats`) and compared with the
observed current batch: the distance of a scenario is the mean over statistic columns
of the Wasserstein distance between its column and the current one, each divided by
the reference column's std (at least 0.001) so that columns weigh alike. An
`unchanged` candidate (the reference itself) competes too, so a batch nothing happened
to is not blamed on the nearest change.

Confidence is the relative margin 1 - best / runner-up: 0 when two causes explain the
batch equally well, 0.5 when the runner-up is twice as far, 1 for an exact match. It
ranks the given scenarios only; a cause nobody simulated can still win as "closest".
What must not happen here: importing an ISP, thresholds on drift, I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
from pydantic import BaseModel, ConfigDict

from pipelines.tasks.imagestats import image_statistics

Scenario = Callable[[np.ndarray], np.ndarray]
UNCHANGED = "unchanged"
SHOWN_COLUMNS = 3


class Attribution(BaseModel):
    """Scenarios ranked closest first, the most likely cause and how sure the ranking is."""

    model_config = ConfigDict(frozen=True)

    ranking: list[tuple[str, float]]  # (scenario, distance to the current statistics)
    confidence: float
    moved: list[tuple[str, float]]  # (column, signed normed shift reference -> current), largest first

    @property
    def cause(self) -> str:
        """The scenario whose simulated statistics lie closest to the current ones."""
        return self.ranking[0][0]

    def lines(self) -> list[str]:
        """Evidence lines for a report: the verdict, the statistics that moved, every candidate's distance."""
        best, best_distance = self.ranking[0]
        lines = [f"Most likely ISP change: {best} (confidence {self.confidence:.2f}, distance {best_distance:.3g})"]
        if len(self.ranking) > 1:
            second, second_distance = self.ranking[1]
            lines.append(f"Runner-up: {second} (distance {second_distance:.3g})")
        lines.append("Largest shifts: " + ", ".join(f"{column} {shift:+.2f} std" for column, shift in self.moved))
        lines += [f"- {name}: {distance:.3g}" for name, distance in self.ranking]
        return lines


def attribute_isp_change(reference_images: np.ndarray, current_images: np.ndarray,
                         scenarios: Mapping[str, Scenario], *, include_unchanged: bool = True) -> Attribution:
    """Rank `scenarios` (name -> re-render of the reference batch) by how close each one's statistics are to
    those of `current_images`."""
    if not scenarios:
        raise ValueError("attribution needs at least one scenario")
    reference = image_statistics(reference_images)
    current = image_statistics(current_images)
    scales = {column: max(float(np.std(values)), 0.001) for column, values in reference.items()}
    distances = {UNCHANGED: statistics_distance(reference, current, scales=scales)} if include_unchanged else {}
    for name, render in scenarios.items():
        simulated = _rendered(name, render, reference_images)
        distances[name] = statistics_distance(image_statistics(simulated), current, scales=scales)
    ranking = sorted(distances.items(), key=lambda item: item[1])
    return Attribution(ranking=ranking, confidence=_margin(ranking), moved=_moved(reference, current, scales))


def statistics_distance(simulated: Mapping[str, np.ndarray], observed: Mapping[str, np.ndarray], *,
                        scales: Mapping[str, float]) -> float:
    """Mean over columns of the Wasserstein distance between two statistics tables, in units of `scales`."""
    from scipy.stats import wasserstein_distance

    return float(np.mean([wasserstein_distance(simulated[c], observed[c]) / scales[c] for c in scales]))


def _rendered(name: str, render: Scenario, images: np.ndarray) -> np.ndarray:
    """The scenario's output, clipped to [0, 1] as a real pipeline's would be; ValueError naming a bad scenario."""
    out = np.asarray(render(images.copy()))
    if out.shape[0] < 1 or out.ndim != 4 or out.shape[3] != images.shape[3]:
        raise ValueError(f"scenario {name!r} returned shape {out.shape}; expected (N, H, W, {images.shape[3]})")
    return np.clip(out, 0.0, 1.0)


def _margin(ranking: list[tuple[str, float]]) -> float:
    if len(ranking) < 2:
        return 1.0
    best, second = ranking[0][1], ranking[1][1]
    return 1.0 - best / second if second > 0 else 0.0


def _moved(reference: Mapping[str, np.ndarray], current: Mapping[str, np.ndarray],
           scales: Mapping[str, float]) -> list[tuple[str, float]]:
    shifts = {c: float(np.mean(current[c]) - np.mean(reference[c])) / scales[c] for c in scales}
    return sorted(shifts.items(), key=lambda item: -abs(item[1]))[:SHOWN_COLUMNS]
