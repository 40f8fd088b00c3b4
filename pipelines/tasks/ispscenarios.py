"""ISP changes simulated on processed images, for attributing image drift to its likely
cause (`tasks/ispattribution.py`): each re-renders a reference batch as if one ISP
parameter had changed, using the ISP's own stage functions where they apply."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

WB_GAINS = (1.15, 1.0, 0.87)  # a warmer white balance
GAMMA_FROM, GAMMA_TO = 2.2, 2.8  # display gamma raised (brighter mid-tones)
NOISE_STD = 0.03
SHARPEN = 1.0


def _planar(images: np.ndarray, stage: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Apply an ISP stage (planar (3, H, W) float32) to each (H, W, C) image; grayscale as one plane each."""
    out = []
    for image in np.asarray(images, dtype=np.float32):
        rgb = np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image
        done = np.clip(stage(np.ascontiguousarray(rgb.transpose(2, 0, 1))), 0.0, 1.0).transpose(1, 2, 0)
        out.append(done[:, :, :1] if image.shape[2] == 1 else done)
    return np.stack(out).astype(np.float32)


def white_balance_shift(images: np.ndarray) -> np.ndarray:
    from pipelines.tasks.isp import white_balance

    return _planar(images, lambda rgb: white_balance(rgb, gains=WB_GAINS))


def gamma_change(images: np.ndarray) -> np.ndarray:
    """The images re-encoded as if the display gamma had been GAMMA_TO instead of GAMMA_FROM."""
    x = np.clip(np.asarray(images, dtype=np.float32), 0.0, 1.0)
    return np.power(x, GAMMA_FROM / GAMMA_TO).astype(np.float32)


def more_noise(images: np.ndarray) -> np.ndarray:
    noise = np.random.default_rng(0).normal(0.0, NOISE_STD, size=np.shape(images)).astype(np.float32)
    return np.clip(np.asarray(images, dtype=np.float32) + noise, 0.0, 1.0)


def more_sharpening(images: np.ndarray) -> np.ndarray:
    from pipelines.tasks.isp import sharpen

    return _planar(images, lambda rgb: sharpen(rgb, amount=SHARPEN, radius=1))


SCENARIOS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "white balance shift": white_balance_shift,
    "gamma change": gamma_change,
    "more noise": more_noise,
    "more sharpening": more_sharpening,
}
