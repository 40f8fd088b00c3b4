"""Per-image statistics of an image batch: the columns that image drift is tested on.

Each statistic is one number per image (per channel where it has one), so a batch of
N images becomes a table of N rows with columns such as `brightness[R]`,
`noise[G]` or `colourfulness`. Images are (N, H, W, C) floats in [0, 1]; the batch is
read in chunks so temporaries stay a few times one chunk, whatever N. What must not
happen here: drift tests, thresholds, verdicts, I/O.
"""

from __future__ import annotations

import math

import numpy as np

CHANNEL_NAMES = {1: ("L",), 3: ("R", "G", "B"), 4: ("R", "G", "B", "A")}
CHUNK_IMAGES = 64
PER_CHANNEL = ("brightness", "contrast", "sharpness", "noise")


def channel_names(channels: int) -> tuple[str, ...]:
    """`R`, `G`, `B` for three channels, `L` for one, else the channel's index."""
    return CHANNEL_NAMES.get(channels, tuple(str(c) for c in range(channels)))


def image_statistics(images: np.ndarray) -> dict[str, np.ndarray]:
    """One (N,) array per column: brightness, contrast, sharpness and noise per channel, plus
    colourfulness and saturation for colour images.

    - brightness: mean value; contrast: standard deviation;
    - sharpness: mean gradient magnitude (forward differences), which blur lowers and
      sharpening raises;
    - noise: Immerkaer's estimate of the noise sigma ("Fast noise variance estimation",
      1996): the mean absolute response to the Laplacian-difference mask, which cancels
      planes and most edges, so it follows sensor noise more than content;
    - colourfulness: Hasler and Suesstrunk's metric (2003) on the first three channels;
    - saturation: mean HSV saturation, (max - min) / max per pixel.
    """
    images = _checked(images)
    names = channel_names(images.shape[3])
    chunks = [_chunk_statistics(images[i:i + CHUNK_IMAGES]) for i in range(0, len(images), CHUNK_IMAGES)]
    columns: dict[str, np.ndarray] = {}
    for stat in chunks[0]:
        values = np.concatenate([chunk[stat] for chunk in chunks])
        if values.ndim == 1:
            columns[stat] = values
        else:
            columns.update({f"{stat}[{name}]": values[:, c] for c, name in enumerate(names)})
    return columns


def _checked(images: np.ndarray) -> np.ndarray:
    """The batch as an array, or ValueError saying what is wrong with it."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[0] < 1 or min(images.shape[1:3]) < 3:
        raise ValueError(f"images must be (N, H, W, C) with N >= 1 and H, W >= 3; got shape {images.shape}")
    if not np.issubdtype(images.dtype, np.floating):
        raise ValueError(f"images must be floats in [0, 1]; got dtype {images.dtype}")
    return images


def _chunk_statistics(x: np.ndarray) -> dict[str, np.ndarray]:
    """Statistics of a few images: (n, C) per channel, (n,) per image."""
    x = x.astype(np.float64, copy=False)
    stats = {
        "brightness": x.mean(axis=(1, 2)),
        "contrast": x.std(axis=(1, 2)),
        "sharpness": _gradient_magnitude(x),
        "noise": _immerkaer_noise(x),
    }
    if x.shape[3] >= 3:
        stats["colourfulness"] = _colourfulness(x[..., :3])
        stats["saturation"] = _saturation(x[..., :3])
    return stats


def _gradient_magnitude(x: np.ndarray) -> np.ndarray:
    dx = x[:, :-1, 1:] - x[:, :-1, :-1]
    dy = x[:, 1:, :-1] - x[:, :-1, :-1]
    return np.sqrt(dx * dx + dy * dy).mean(axis=(1, 2))


def _immerkaer_noise(x: np.ndarray) -> np.ndarray:
    # The 3x3 mask [[1,-2,1],[-2,4,-2],[1,-2,1]] is the outer product of [1,-2,1] with itself.
    rows = x[:, :-2] - 2 * x[:, 1:-1] + x[:, 2:]
    both = rows[:, :, :-2] - 2 * rows[:, :, 1:-1] + rows[:, :, 2:]
    height, width = x.shape[1] - 2, x.shape[2] - 2
    return math.sqrt(math.pi / 2) / (6 * height * width) * np.abs(both).sum(axis=(1, 2))


def _colourfulness(rgb: np.ndarray) -> np.ndarray:
    rg = rgb[..., 0] - rgb[..., 1]
    yb = 0.5 * (rgb[..., 0] + rgb[..., 1]) - rgb[..., 2]
    spread = np.hypot(rg.std(axis=(1, 2)), yb.std(axis=(1, 2)))
    offset = np.hypot(rg.mean(axis=(1, 2)), yb.mean(axis=(1, 2)))
    return spread + 0.3 * offset


def _saturation(rgb: np.ndarray) -> np.ndarray:
    high, low = rgb.max(axis=3), rgb.min(axis=3)
    return np.divide(high - low, high, out=np.zeros_like(high), where=high > 0).mean(axis=(1, 2))
