"""Time the ISP (`pipelines.tasks.isp`) on a synthetic 12-megapixel Bayer frame, on CPU.

Prints, per stage, the median time of the vectorised stage on the whole frame (stages run
one after another, one thread) next to a straightforward per-pixel Python reference of
the same stage. The reference loops over pixels, far too slow for 12 MP: it runs on a
crop (`--ref-crop`) and its time is EXTRAPOLATED by pixel count, which the table says.
Then the total of `process` (the function training and serving call: fixed bands,
`--threads` workers) against the 0.5 s target, and the largest difference between
reference and vectorised output on the crop, as a check that both compute the same thing.

Usage: PYTHONPATH=. .venv/bin/python scripts/bench_isp.py [--runs 5] [--size 4000x3000]
       [--threads N] [--ref-crop 96x128] [--ref-runs 1]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines.tasks import isp  # noqa: E402

TARGET_S = 0.5
PARAMS = isp.IspParams(
    pattern="RGGB", black_level=(64, 64, 64, 64), white_level=4095, wb_gains=(2.0, 1.0, 1.6),
    ccm=((1.7, -0.5, -0.2), (-0.3, 1.6, -0.3), (0.0, -0.6, 1.6)),
    denoise_strength=0.5, sharpen_amount=0.6, sharpen_radius=1, gamma=2.2,
)


def synthetic_frame(height: int, width: int, *, seed: int = 0) -> np.ndarray:
    """A smooth colour scene with edges and sensor noise, mosaicked RGGB, 12-bit in uint16."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    scene = np.stack([0.5 + 0.4 * np.sin(x / 97), 0.5 + 0.4 * np.cos(y / 61), (x + y) / (width + height)])
    scene[:, (x.astype(int) // 256 + y.astype(int) // 256) % 2 == 1] *= 0.5
    mosaic = np.empty((height, width), np.float32)
    for k, colour in enumerate("RGGB"):
        mosaic[k // 2 :: 2, k % 2 :: 2] = scene["RGB".index(colour), k // 2 :: 2, k % 2 :: 2]
    mosaic += rng.normal(0, 0.01, mosaic.shape).astype(np.float32)
    return (64 + np.clip(mosaic, 0, 1) * (4095 - 64)).astype(np.uint16)


# --- the reference: every stage as plain loops over pixels -------------------------------

def _mirror(i: int, n: int) -> int:
    return -i if i < 0 else 2 * (n - 1) - i if i >= n else i


def ref_black_level(m: list[list[float]], p: isp.IspParams) -> list[list[float]]:
    out = []
    for i, row in enumerate(m):
        out.append([min(1.0, max(0.0, (v - p.black_level[i % 2 * 2 + j % 2]) /
                                 (p.white_level - p.black_level[i % 2 * 2 + j % 2]))) for j, v in enumerate(row)])
    return out


def ref_demosaic(m: list[list[float]], p: isp.IspParams) -> list[list[list[float]]]:
    h, w = len(m), len(m[0])
    colour = [[p.pattern[i % 2 * 2 + j % 2] for j in range(2)] for i in range(2)]
    out = [[[0.0] * w for _ in range(h)] for _ in range(3)]
    for i in range(h):
        for j in range(w):
            for c, name in enumerate("RGB"):
                if colour[i % 2][j % 2] == name:
                    out[c][i][j] = m[i][j]
                    continue
                cross = [(i + d, j + e) for d, e in ((-1, 0), (1, 0), (0, -1), (0, 1))
                         if colour[(i + d) % 2][(j + e) % 2] == name]
                near = cross or [(i + d, j + e) for d in (-1, 1) for e in (-1, 1)
                                 if colour[(i + d) % 2][(j + e) % 2] == name]
                out[c][i][j] = sum(m[_mirror(a, h)][_mirror(b, w)] for a, b in near) / len(near)
    return out


def ref_white_balance(rgb: list, p: isp.IspParams) -> list:
    return [[[v * p.wb_gains[c] for v in row] for row in plane] for c, plane in enumerate(rgb)]


def ref_ccm(rgb: list, p: isp.IspParams) -> list:
    h, w = len(rgb[0]), len(rgb[0][0])
    return [[[sum(p.ccm[c][k] * rgb[k][i][j] for k in range(3)) for j in range(w)] for i in range(h)]
            for c in range(3)]


def _binomial_at(plane: list[list[float]], i: int, j: int, radius: int) -> float:
    h, w, n = len(plane), len(plane[0]), 2 * radius
    taps = [math.comb(n, k) / 2**n for k in range(n + 1)]
    return sum(taps[a] * taps[b] * plane[_mirror(i + a - radius, h)][_mirror(j + b - radius, w)]
               for a in range(n + 1) for b in range(n + 1))


def ref_denoise(rgb: list, p: isp.IspParams) -> list:
    s = p.denoise_strength
    return [[[(1 - s) * v + s * _binomial_at(plane, i, j, 1) for j, v in enumerate(row)]
             for i, row in enumerate(plane)] for plane in rgb]


def ref_sharpen(rgb: list, p: isp.IspParams) -> list:
    h, w = len(rgb[0]), len(rgb[0][0])
    luma = [[0.2126 * rgb[0][i][j] + 0.7152 * rgb[1][i][j] + 0.0722 * rgb[2][i][j] for j in range(w)]
            for i in range(h)]
    detail = [[p.sharpen_amount * (luma[i][j] - _binomial_at(luma, i, j, p.sharpen_radius)) for j in range(w)]
              for i in range(h)]
    return [[[v + detail[i][j] for j, v in enumerate(row)] for i, row in enumerate(plane)] for plane in rgb]


def ref_gamma(rgb: list, p: isp.IspParams) -> list:
    return [[[min(1.0, max(0.0, v)) ** (1 / p.gamma) for v in row] for row in plane] for plane in rgb]


REFERENCE: list[Callable] = [ref_black_level, ref_demosaic, ref_white_balance, ref_ccm, ref_denoise,
                             ref_sharpen, ref_gamma]


# --- measuring -----------------------------------------------------------------------------

def median_seconds(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_stages(frame: np.ndarray, runs: int) -> tuple[list[float], np.ndarray]:
    """Median seconds of each vectorised stage on the whole frame, fed the previous stage's output."""
    x, seconds = frame, []
    for _, stage in isp.stages(PARAMS):
        seconds.append(median_seconds(partial(stage, x), runs))
        x = stage(x)
    return seconds, x


def time_reference(crop: np.ndarray, runs: int) -> tuple[list[float], np.ndarray]:
    """Median seconds of each reference stage on the crop, and its output as (3, h, w)."""
    x: object = crop.astype(float).tolist()
    seconds = []
    for stage in REFERENCE:
        seconds.append(median_seconds(partial(stage, x, PARAMS), runs))
        x = stage(x, PARAMS)
    return seconds, np.array(x)


def parse_size(text: str) -> tuple[int, int]:
    width, height = (int(v) for v in text.lower().split("x"))
    return height, width


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement; the median is shown")
    parser.add_argument("--size", default="4000x3000", help="WIDTHxHEIGHT of the synthetic frame")
    parser.add_argument("--threads", type=int, default=None, help="process() workers (default: cores, max 8)")
    parser.add_argument("--ref-crop", default="128x96", help="WIDTHxHEIGHT the pixel-loop reference runs on")
    parser.add_argument("--ref-runs", type=int, default=1, help="runs of the (slow) reference")
    args = parser.parse_args()
    height, width = parse_size(args.size)
    crop_h, crop_w = parse_size(args.ref_crop)
    frame = synthetic_frame(height, width)
    crop = frame[:crop_h, :crop_w]
    scale = frame.size / crop.size

    stage_s, _ = time_stages(frame, args.runs)
    ref_s, ref_out = time_reference(crop, args.ref_runs)
    total_s = median_seconds(lambda: isp.process(frame, PARAMS, threads=args.threads), args.runs)
    diff = float(np.abs(isp.run_stages(crop, PARAMS).astype(np.float64) - ref_out).max())

    print(f"ISP benchmark: {width}x{height} ({frame.size / 1e6:.1f} MP) uint16 RGGB, median of {args.runs} runs; "
          f"reference: pixel loops on a {crop_w}x{crop_h} crop, times x{scale:.0f} (extrapolated by pixel count)")
    print(f"{'stage':<18}{'vectorised ms':>15}{'reference ms':>15}{'ratio':>10}")
    for name, fast, slow in zip(isp.STAGE_NAMES, stage_s, ref_s, strict=True):
        print(f"{name:<18}{fast * 1e3:>15.1f}{slow * scale * 1e3:>15.0f}{slow * scale / fast:>9.0f}x")
    ref_total = sum(ref_s) * scale
    print(f"{'sum of stages':<18}{sum(stage_s) * 1e3:>15.1f}{ref_total * 1e3:>15.0f}{ref_total / sum(stage_s):>9.0f}x")
    threads = args.threads or min(8, os.cpu_count() or 1)
    print(f"{'process() total':<18}{total_s * 1e3:>15.1f}{'':>15}{ref_total / total_s:>9.0f}x"
          f"   ({threads} thread(s), bands of {isp._BAND_ROWS} rows)")
    print(f"target {TARGET_S:.1f} s: {'met' if total_s < TARGET_S else 'MISSED'}; "
          f"max |reference - vectorised| on the crop: {diff:.2e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
