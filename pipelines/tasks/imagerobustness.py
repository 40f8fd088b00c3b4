"""Image models scored like tabular ones, and their accuracy under fixed perturbations
(brighter, darker, noisy, blurred) for the PR comment's robustness section.

Perturbations are plain numpy, seeded, so a candidate and production are scored on the
very same altered images. No I/O; no torchvision.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from pipelines.tasks.scoring import Scores, score

BRIGHTNESS = 0.2  # added to / taken from every pixel of [0, 1] images, then clipped
NOISE_STD = 0.1  # gaussian noise, clipped back into [0, 1]
BLUR_KERNEL = np.array([1.0, 2.0, 1.0]) / 4.0  # 3x3 binomial (gaussian-like) blur, applied per axis


def score_images(model: Any, images: np.ndarray, labels: Sequence[str]) -> Scores:
    """The classification Scores tabular models report, for images (N, H, W, C)."""
    import pandas as pd

    return score(model, images, pd.Series([str(label) for label in labels]), task="classification")


def perturbations(images: np.ndarray, *, seed: int) -> dict[str, np.ndarray]:
    """Fixed perturbations of `images`, by name; each float32 in [0, 1], same shape."""
    x = np.asarray(images, dtype=np.float32)
    noise = np.random.default_rng(seed).normal(0.0, NOISE_STD, size=x.shape).astype(np.float32)
    return {
        "brighter": np.clip(x + BRIGHTNESS, 0.0, 1.0),
        "darker": np.clip(x - BRIGHTNESS, 0.0, 1.0),
        "noise": np.clip(x + noise, 0.0, 1.0),
        "blur": blur(x),
    }


def blur(images: np.ndarray) -> np.ndarray:
    """A 3x3 binomial blur over height and width, edges repeated; (N, H, W, C) in and out."""
    out = np.asarray(images, dtype=np.float32)
    for axis in (1, 2):
        pad = [(0, 0)] * out.ndim
        pad[axis] = (1, 1)
        padded = np.pad(out, pad, mode="edge")
        size = out.shape[axis]
        out = sum((w * padded.take(range(i, i + size), axis=axis) for i, w in enumerate(BLUR_KERNEL)),
                  start=np.zeros_like(out)).astype(np.float32)
    return out


def robustness(model: Any, images: np.ndarray, labels: Sequence[str], *, seed: int) -> dict[str, float]:
    """Accuracy on the clean images and under each perturbation, by name ("clean" first)."""
    expected = np.array([str(label) for label in labels])
    variants = {"clean": np.asarray(images, dtype=np.float32), **perturbations(images, seed=seed)}
    return {name: float(np.mean(model.predict(x) == expected)) for name, x in variants.items()}
