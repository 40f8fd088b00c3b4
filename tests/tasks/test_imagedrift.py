"""Image drift on synthetic batches: statistics tests, MMD on embeddings, ISP-change attribution."""

from __future__ import annotations

import time
import tracemalloc

import numpy as np
import pytest
from scipy.ndimage import uniform_filter
from scipy.stats import wasserstein_distance

from pipelines.core.drift import method_kind
from pipelines.tasks.imagedrift import image_drift, image_statistics, normed_wasserstein, statistics_drift
from pipelines.tasks.imagemmd import mmd_test
from pipelines.tasks.ispattribution import UNCHANGED, attribute_isp_change

IMAGES, SIZE = 120, 24


def images(n: int = IMAGES, *, seed: int) -> np.ndarray:
    """Scenes with a colour cast, smooth shading, a hard-edged patch and a little sensor noise."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:SIZE, 0:SIZE] / SIZE
    base = rng.uniform(0.25, 0.6, (n, 1, 1, 3))
    freq, phase = rng.uniform(1, 4, (n, 1, 1, 1)), rng.uniform(0, 2 * np.pi, (n, 1, 1, 1))
    shading = 0.12 * np.sin(2 * np.pi * freq * (xs + ys)[None, :, :, None] + phase)
    top, left = rng.integers(0, SIZE // 2, n), rng.integers(0, SIZE // 2, n)
    patch = np.zeros((n, SIZE, SIZE, 1))
    for i in range(n):
        patch[i, top[i]:top[i] + SIZE // 3, left[i]:left[i] + SIZE // 3] = rng.uniform(-0.2, 0.2)
    return np.clip(base + shading + patch + rng.normal(0, 0.01, (n, SIZE, SIZE, 3)), 0, 1)


def white_balance(x: np.ndarray) -> np.ndarray:
    return x * np.array([1.2, 1.0, 0.8])


def gamma(x: np.ndarray) -> np.ndarray:
    return x ** (1 / 1.4)


def noise(x: np.ndarray) -> np.ndarray:
    return x + np.random.default_rng(7).normal(0, 0.03, x.shape)


def sharpen(x: np.ndarray) -> np.ndarray:
    return x + 1.5 * (x - uniform_filter(x, size=(1, 3, 3, 1)))


SCENARIOS = {"white_balance": white_balance, "gamma": gamma, "noise": noise, "sharpen": sharpen}


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    return images(seed=1)


def test_statistics_are_named_per_channel_and_per_image(reference: np.ndarray) -> None:
    stats = image_statistics(reference)
    assert {"brightness[R]", "contrast[G]", "sharpness[B]", "noise[R]", "colourfulness", "saturation"} <= set(stats)
    assert all(values.shape == (IMAGES,) for values in stats.values())
    assert set(image_statistics(reference[..., :1])) == {"brightness[L]", "contrast[L]", "sharpness[L]", "noise[L]"}
    # Immerkaer's estimate recovers the sigma of noise added to a flat image.
    flat = np.full((4, 64, 64, 1), 0.5) + np.random.default_rng(0).normal(0, 0.05, (4, 64, 64, 1))
    assert image_statistics(flat)["noise[L]"] == pytest.approx(0.05, rel=0.1)


def test_no_drift_between_batches_of_one_distribution(reference: np.ndarray) -> None:
    report = image_drift(reference, images(seed=2), labels=("train", "prod"))
    p_values = [f.score for f in report.features]
    # p-values are per column and uncorrected, and a statistic's R, G and B columns move together (the
    # shading and patches are shared), so one chance deviation can show in three columns; the share stays low.
    assert not report.dataset_drifted
    assert report.share < 0.25
    assert np.median(p_values) > 0.3
    assert all(0 < p <= 1 for p in p_values)
    assert image_drift(reference, images(seed=2), labels=("train", "prod")) == report  # seeded permutations


@pytest.mark.parametrize(("change", "columns"), [
    (lambda x: np.clip(x + 0.08, 0, 1), {"brightness[R]", "brightness[G]", "brightness[B]"}),
    (lambda x: np.clip(white_balance(x), 0, 1), {"brightness[R]", "brightness[B]", "colourfulness"}),
], ids=["brightened", "white-balance-shifted"])
def test_drift_names_the_channels_and_statistics_that_moved(reference: np.ndarray, change, columns) -> None:
    report = image_drift(reference, change(images(seed=2)))
    drifted = {f.column for f in report.drifted}
    assert columns <= drifted
    assert all(f.score < 0.05 and f.kind == "p_value" for f in report.drifted)
    assert "brightness[G]" not in drifted or columns == {"brightness[R]", "brightness[G]", "brightness[B]"}


def test_each_statistic_has_a_distance_and_its_p_value_of_the_right_kind(reference: np.ndarray) -> None:
    current = np.clip(reference[:80] * 0.9, 0, 1)
    pairs = statistics_drift(image_statistics(reference), image_statistics(current), permutations=50)
    for distance, p_value in pairs:
        assert (distance.kind, p_value.kind) == ("distance", "p_value")
        assert method_kind(distance.method) == "distance" and method_kind(p_value.method) == "p_value"
    column, brightness = "brightness[R]", pairs[0][0]
    assert brightness.column == column
    assert brightness.score == pytest.approx(normed_wasserstein(image_statistics(reference)[column],
                                                                image_statistics(current)[column]))
    distance_report = image_drift(reference, current, verdict="distance", thresholds={"statistics_distance": 0.2})
    assert {f.kind for f in distance_report.features} == {"distance"}
    assert {f.threshold for f in distance_report.features} == {0.2}


def test_unknown_thresholds_and_half_given_embeddings_are_refused(reference: np.ndarray) -> None:
    with pytest.raises(ValueError, match="unknown thresholds"):
        image_drift(reference, reference, thresholds={"p_value": 0.01})
    with pytest.raises(ValueError, match="both batches"):
        image_drift(reference, reference, reference_embeddings=np.zeros((IMAGES, 4)))


def embeddings(n: int, *, shift: float = 0.0, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 32)) + np.r_[np.full(4, shift), np.zeros(28)]


def test_mmd_detects_a_shift_in_embeddings_and_not_sameness() -> None:
    same = mmd_test(embeddings(300, seed=1), embeddings(300, seed=2), permutations=200, seed=0)
    shifted = mmd_test(embeddings(300, seed=1), embeddings(300, shift=0.5, seed=2), permutations=200, seed=0)
    assert same.p_value > 0.1 and shifted.p_value < 0.01
    assert shifted.mmd2 > same.mmd2
    assert 0 < same.p_value <= 1 and 0 < shifted.p_value <= 1
    assert mmd_test(embeddings(300, seed=1), embeddings(300, seed=2), permutations=200, seed=0) == same


def test_mmd_joins_the_image_report_as_one_column(reference: np.ndarray) -> None:
    report = image_drift(reference, reference, reference_embeddings=embeddings(IMAGES, seed=1),
                         current_embeddings=embeddings(IMAGES, shift=1.0, seed=2))
    embedding = next(f for f in report.features if f.column == "embeddings")
    assert embedding.drifted and embedding.kind == "p_value" and method_kind(embedding.method) == "p_value"
    assert [f.column for f in report.drifted] == ["embeddings"]


def test_wasserstein_permutation_distance_equals_scipys(reference: np.ndarray) -> None:
    ref, cur = image_statistics(reference)["noise[R]"], image_statistics(images(seed=3))["noise[R]"]
    pair = statistics_drift({"noise[R]": ref}, {"noise[R]": cur}, permutations=10)[0]
    assert pair[0].score * max(np.std(ref), 0.001) == pytest.approx(wasserstein_distance(ref, cur))


def test_mmd_memory_stays_bounded_on_twenty_thousand_embeddings() -> None:
    rng = np.random.default_rng(0)
    reference, current = rng.normal(size=(20_000, 64)), rng.normal(size=(20_000, 64))
    tracemalloc.start()
    started = time.perf_counter()
    result = mmd_test(reference, current, permutations=100, seed=0)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 64 * 2**20  # the full 40k x 40k kernel matrix would be 12.8 GB
    assert elapsed < 10
    assert result.p_value > 0.05


@pytest.mark.parametrize("scenario", [*SCENARIOS, UNCHANGED])
def test_attribution_picks_the_scenario_that_made_the_current_batch(reference: np.ndarray, scenario: str) -> None:
    fresh = images(seed=5)
    current = np.clip(SCENARIOS[scenario](fresh), 0, 1) if scenario in SCENARIOS else fresh
    attribution = attribute_isp_change(reference, current, SCENARIOS)
    assert attribution.cause == scenario
    assert 0 < attribution.confidence <= 1
    assert attribution.lines()[0].startswith(f"Most likely ISP change: {scenario} (confidence")
