"""The image signal processing (ISP) pipeline: a raw Bayer mosaic to display RGB.

Seven stages, each a small pure function over float32 arrays with explicit
parameters, run in this order by `process`:

1. black_level       mosaic (H, W)      -> mosaic in [0, 1]
2. demosaic          mosaic (H, W)      -> planar RGB (3, H, W), bilinear
3. white_balance     planar RGB         -> planar RGB, per-channel gains
4. color_correction  planar RGB         -> planar RGB, 3x3 camera RGB -> linear sRGB
5. denoise           planar RGB         -> planar RGB, blend towards a 3x3 binomial blur
6. sharpen           planar RGB         -> planar RGB, unsharp mask on luminance
7. gamma             planar RGB         -> planar RGB in [0, 1], out = in ** (1 / gamma)

Gamma convention: `gamma` is the display gamma the image is ENCODED for, so
out = clip(in, 0, 1) ** (1 / gamma). A LARGER gamma BRIGHTENS mid-tones (2.2 is about
sRGB; 1.0 leaves values linear). Training and serving both call `process` (or
`process_dng`), so a model sees the same pixels in both places.

`process` is deterministic: the same input and parameters give the same bytes,
whatever `threads` is, because the frame is cut into fixed bands (with a halo wide
enough for every stage's neighbourhood) whose layout does not depend on the thread
count. Must not: import torch, read files (except `process_dng`), or keep state.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pipelines.core.errors import InvalidInput, Problem

STAGE_NAMES = ("black_level", "demosaic", "white_balance", "color_correction", "denoise", "sharpen", "gamma")
Pattern = Literal["RGGB", "BGGR", "GRBG", "GBRG"]
_BAND_ROWS = 64  # rows per band: small enough that a band's planes stay in cache
_LUMA = (0.2126, 0.7152, 0.0722)  # Rec. 709 weights of linear sRGB
_IDENTITY = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))


class IspParams(BaseModel):
    """Every parameter of the seven stages; from a model spec, the DNG metadata, or both."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pattern: Pattern = "RGGB"
    black_level: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # per 2x2 CFA position, row-major
    white_level: float = Field(65535.0, gt=0)
    wb_gains: tuple[float, float, float] = (1.0, 1.0, 1.0)  # R, G, B
    ccm: tuple[tuple[float, float, float], tuple[float, float, float], tuple[float, float, float]] = _IDENTITY
    denoise_strength: float = Field(0.0, ge=0, le=1)  # 0 = off, 1 = full 3x3 Gaussian
    sharpen_amount: float = Field(0.0, ge=0)  # 0 = off
    sharpen_radius: int = Field(1, ge=1, le=8)  # unsharp-mask blur reaches this many pixels
    gamma: float = Field(2.2, gt=0, le=10)  # display gamma: larger brightens mid-tones

    @model_validator(mode="after")
    def _black_below_white(self) -> IspParams:
        if max(self.black_level) >= self.white_level:
            raise ValueError(f"black_level {self.black_level} must be below white_level {self.white_level}")
        return self


def black_level(mosaic: np.ndarray, *, black: tuple[float, ...], white: float) -> np.ndarray:
    """Subtract each CFA position's black level and scale so white maps to 1, clipped to [0, 1]."""
    out = mosaic.astype(np.float32)
    positions = [(slice(None), slice(None))] if len(set(black)) == 1 else [(slice(k // 2, None, 2),
                                                                           slice(k % 2, None, 2)) for k in range(4)]
    for k, where in enumerate(positions):
        view = out[where]
        view -= np.float32(black[k])
        view *= np.float32(1.0 / (white - black[k]))
    np.maximum(out, 0.0, out=out)
    return np.minimum(out, 1.0, out=out)


def demosaic(mosaic: np.ndarray, *, pattern: str) -> np.ndarray:
    """Bilinear demosaic: each colour's samples convolved with the usual kernels, edges mirrored.

    Green uses [[0,1,0],[1,4,1],[0,1,0]]/4, red and blue [[1,2,1],[2,4,2],[1,2,1]]/4. At
    each 2x2 phase a kernel reduces to the mean of 1, 2 or 4 same-colour neighbours, so it
    is evaluated on the four contiguous quarter planes (a mirrored edge in the full frame
    is a repeated edge there) and the results are interleaved back.
    """
    h, w = mosaic.shape
    if h % 2 or w % 2:  # mirror one more row/column so the CFA phases stay whole
        padded = np.pad(mosaic, ((0, h % 2), (0, w % 2)), mode="reflect")
        return demosaic(padded, pattern=pattern)[:, :h, :w]
    hq, wq = h // 2, w // 2
    quarters = [np.pad(mosaic[k // 2 :: 2, k % 2 :: 2].astype(np.float32), 1, mode="edge") for k in range(4)]
    out = np.empty((3, hq, 2, wq, 2), np.float32)
    for c in range(3):
        for pi in (0, 1):
            for pj in (0, 1):
                views = [quarters[(pi + dy) % 2 * 2 + (pj + dx) % 2][1 + (pi + dy) // 2 : 1 + (pi + dy) // 2 + hq,
                                                                     1 + (pj + dx) // 2 : 1 + (pj + dx) // 2 + wq]
                         for dy, dx in _neighbours(pattern, c, pi, pj)]
                acc = views[0] if len(views) == 1 else views[0] + views[1]
                for v in views[2:]:
                    acc += v
                if len(views) > 1:
                    acc *= np.float32(1.0 / len(views))
                out[c, :, pi, :, pj] = acc
    return out.reshape(3, h, w)


def _neighbours(pattern: str, colour: int, pi: int, pj: int) -> list[tuple[int, int]]:
    """Offsets where the bilinear kernel of `colour` is non-zero at a pixel of phase (pi, pj)."""
    def has(dy: int, dx: int) -> bool:
        return "RGB".index(pattern[(pi + dy) % 2 * 2 + (pj + dx) % 2]) == colour

    if has(0, 0):
        return [(0, 0)]
    cross = [(d, e) for d, e in ((-1, 0), (1, 0), (0, -1), (0, 1)) if has(d, e)]
    return cross or [(d, e) for d in (-1, 1) for e in (-1, 1) if has(d, e)]


def white_balance(rgb: np.ndarray, *, gains: tuple[float, float, float]) -> np.ndarray:
    """Multiply each channel by its gain."""
    return rgb * np.asarray(gains, np.float32)[:, None, None]


def color_correction(rgb: np.ndarray, *, matrix: tuple[tuple[float, ...], ...]) -> np.ndarray:
    """out[i] = sum_j matrix[i][j] * rgb[j]: camera RGB to linear sRGB, in a fixed order."""
    out = np.empty_like(rgb)
    tmp = np.empty_like(rgb[0])
    for i, row in enumerate(matrix):
        np.multiply(rgb[0], np.float32(row[0]), out=out[i])
        for j in (1, 2):
            out[i] += np.multiply(rgb[j], np.float32(row[j]), out=tmp)
    return out


def denoise(rgb: np.ndarray, *, strength: float) -> np.ndarray:
    """Blend each channel towards its 3x3 Gaussian ([1,2,1]/4 both ways); 0 returns the input."""
    if strength == 0:
        return rgb
    out = _binomial(rgb, passes=1)
    out *= np.float32(strength / 16)
    out += rgb * np.float32(1 - strength)
    return out


def sharpen(rgb: np.ndarray, *, amount: float, radius: int) -> np.ndarray:
    """Unsharp mask on luminance: add amount * (Y - blur(Y)) to every channel; 0 returns the input.

    The blur is a binomial kernel of width 2 * radius + 1 (a Gaussian of sigma
    sqrt(radius / 2)). Sharpening luminance only adds no colour fringes and blurs one
    plane, not three.
    """
    if amount == 0:
        return rgb
    luma = rgb[0] * np.float32(_LUMA[0])
    tmp = np.empty_like(luma)
    for c in (1, 2):
        luma += np.multiply(rgb[c], np.float32(_LUMA[c]), out=tmp)
    detail = _binomial(luma[None], passes=radius)[0]
    detail *= np.float32(-amount / 16**radius)
    detail += luma * np.float32(amount)
    return rgb + detail


def gamma(rgb: np.ndarray, *, gamma: float) -> np.ndarray:
    """Clip to [0, 1], then encode for display: out = in ** (1 / gamma); larger gamma is brighter.

    Computed as exp(log(in) / gamma): equal to the power to float32 rounding, and several
    times faster than np.power, which falls back to scalar code on the many pixels that
    clipping leaves at exactly 0 or 1 (log(0) = -inf and exp(-inf) = 0 exactly).
    """
    out = np.maximum(rgb, 0.0)
    np.minimum(out, 1.0, out=out)
    if gamma != 1:
        with np.errstate(divide="ignore"):
            np.log(out, out=out)
        out *= np.float32(1.0 / gamma)
        np.exp(out, out=out)
    return out


def _binomial(planes: np.ndarray, *, passes: int) -> np.ndarray:
    """(C, H, W) planes convolved `passes` times with [1,2,1] x [1,2,1], unnormalised (x16 per pass).

    Edges are mirrored (row -1 is row 1). Each axis is two pair sums: [1,1] * [1,1] = [1,2,1].
    """
    out = planes
    for _ in range(passes):
        for axis in (1, 2):
            out = _pair_sums(out, axis)
    return out


def _pair_sums(x: np.ndarray, axis: int) -> np.ndarray:
    """x[i-1] + 2 x[i] + x[i+1] along `axis` (1 or 2), mirrored at both ends."""
    def cut(a: np.ndarray, start: int | None, stop: int | None) -> np.ndarray:
        return a[:, start:stop] if axis == 1 else a[:, :, start:stop]

    if x.shape[axis] < 2:
        return x * np.float32(4)
    pairs = cut(x, None, -1) + cut(x, 1, None)  # pairs[i] = x[i] + x[i+1]
    out = np.empty_like(x)
    np.add(cut(pairs, None, -1), cut(pairs, 1, None), out=cut(out, 1, -1))
    np.multiply(cut(pairs, None, 1), np.float32(2), out=cut(out, None, 1))  # mirror: x[1] + 2x[0] + x[1]
    np.multiply(cut(pairs, -1, None), np.float32(2), out=cut(out, -1, None))
    return out


def stages(params: IspParams) -> list[tuple[str, Callable[[np.ndarray], np.ndarray]]]:
    """The seven stages as callables bound to `params`, in order: (name, stage) pairs."""
    p = params
    return [
        ("black_level", lambda x: black_level(x, black=p.black_level, white=p.white_level)),
        ("demosaic", lambda x: demosaic(x, pattern=p.pattern)),
        ("white_balance", lambda x: white_balance(x, gains=p.wb_gains)),
        ("color_correction", lambda x: color_correction(x, matrix=p.ccm)),
        ("denoise", lambda x: denoise(x, strength=p.denoise_strength)),
        ("sharpen", lambda x: sharpen(x, amount=p.sharpen_amount, radius=p.sharpen_radius)),
        ("gamma", lambda x: gamma(x, gamma=p.gamma)),
    ]


def run_stages(mosaic: np.ndarray, params: IspParams, *, stop_after: str = "gamma") -> np.ndarray:
    """Every stage up to and including `stop_after` on a whole frame; stage layouts as above."""
    x = mosaic
    for name, stage in stages(params):
        x = stage(x)
        if name == stop_after:
            return x
    raise InvalidInput(f"stop_after: {stop_after!r} is not a stage; expected one of {', '.join(STAGE_NAMES)}")


def process(
    bayer: np.ndarray, params: IspParams, *, stop_after: str = "gamma", threads: int | None = None
) -> np.ndarray:
    """A Bayer mosaic (H, W) of integers or floats -> (H, W, 3) float32 RGB, in [0, 1] after gamma.

    With `stop_after` the output of that stage: (H, W) for black_level, else (H, W, 3).
    `threads` (default: the cores, at most 8) changes the speed only, never a byte.
    """
    _check_bayer(bayer)
    if stop_after not in STAGE_NAMES:
        raise InvalidInput(f"stop_after: {stop_after!r} is not a stage; expected one of {', '.join(STAGE_NAMES)}")
    h, w = bayer.shape
    halo = _halo(params)
    starts = range(0, h, _BAND_ROWS)
    out = np.empty((h, w) if stop_after == "black_level" else (h, w, 3), np.float32)

    def band(r0: int) -> None:
        r1, lo, hi = min(h, r0 + _BAND_ROWS), max(0, r0 - halo), min(h, r0 + _BAND_ROWS + halo)
        y = run_stages(bayer[lo:hi], params, stop_after=stop_after)
        out[r0:r1] = y[r0 - lo : r1 - lo] if y.ndim == 2 else y[:, r0 - lo : r1 - lo].transpose(1, 2, 0)

    workers = min(threads or min(8, os.cpu_count() or 1), len(starts))
    if workers == 1:
        for r0 in starts:
            band(r0)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(band, starts))
    return out


def _halo(params: IspParams) -> int:
    """Rows each band borrows from its neighbours: the sum of the stages' reach, kept even (CFA phase)."""
    reach = 1 + (params.denoise_strength > 0) + (params.sharpen_amount > 0) * params.sharpen_radius
    return reach + reach % 2


def _check_bayer(bayer: Any) -> None:
    """A 2-D real array of at least 2x2 with finite values, or InvalidInput saying what is wrong."""
    if not isinstance(bayer, np.ndarray):
        raise InvalidInput(f"bayer: expected a numpy array, got {type(bayer).__name__}")
    if bayer.ndim != 2 or min(bayer.shape) < 2:
        raise InvalidInput(f"bayer: expected a single-channel Bayer mosaic of shape (H, W) >= (2, 2), "
                           f"got shape {bayer.shape}")
    if bayer.dtype.kind not in "uif":
        raise InvalidInput(f"bayer: expected integer or float samples, got dtype {bayer.dtype}")
    if bayer.dtype.kind == "f" and not np.isfinite(bayer).all():
        raise InvalidInput("bayer: contains NaN or infinite samples")


def params_from_raw(raw: Any, overrides: Mapping[str, Any] | None = None) -> IspParams:
    """IspParams from a rawpy RawPy's metadata, each field replaced by `overrides` where given."""
    desc = raw.color_desc.decode()
    cfa = np.asarray(raw.raw_pattern)
    if cfa.shape != (2, 2) or desc not in ("RGBG", "RGB"):
        raise InvalidInput(f"raw: not an RGB Bayer image (colours {desc!r}, pattern shape {cfa.shape})")
    pattern = "".join(desc[i] for i in cfa.ravel())
    black = tuple(float(raw.black_level_per_channel[i]) for i in cfa.ravel())
    found = {"pattern": pattern, "black_level": black, "white_level": float(raw.white_level),
             "wb_gains": _gains(raw), "ccm": _ccm(raw)}
    return make_params({**found, **(overrides or {})})


def make_params(values: Mapping[str, Any]) -> IspParams:
    """IspParams.model_validate with every bad field reported as one InvalidInput."""
    try:
        return IspParams.model_validate(dict(values))
    except ValidationError as exc:
        problems = [Problem(".".join(str(x) for x in e["loc"]), e["msg"]) for e in exc.errors()]
        raise InvalidInput(f"ISP parameters: {'; '.join(map(str, problems))}", problems=problems) from exc


def _gains(raw: Any) -> tuple[float, float, float]:
    """As-shot white balance, else daylight, else none; normalised to green = 1."""
    for wb in (raw.camera_whitebalance, raw.daylight_whitebalance):
        r, g, b = (float(v) for v in list(wb)[:3])
        if min(r, g, b) > 0 and all(map(math.isfinite, (r, g, b))):
            return (r / g, 1.0, b / g)
    return (1.0, 1.0, 1.0)


def _ccm(raw: Any) -> tuple[tuple[float, ...], ...]:
    """LibRaw's camera RGB -> sRGB matrix (from ColorMatrix1/2); identity when the file has none."""
    m = np.asarray(raw.color_matrix, np.float64)[:3, :3]
    if not np.isfinite(m).all() or not m.any():
        return _IDENTITY
    return tuple(tuple(float(v) for v in row) for row in m)


def process_dng(
    source: str | os.PathLike[str] | bytes | io.BufferedIOBase,
    overrides: Mapping[str, Any] | None = None,
    *,
    stop_after: str = "gamma",
    expected_size: tuple[int, int] | None = None,
) -> np.ndarray:
    """Read a DNG (or any raw rawpy reads) and run `process` with its metadata and `overrides`.
    With `expected_size` (height, width), a frame of another size is refused from its header,
    before LibRaw unpacks it (an untrusted upload may declare gigapixels)."""
    import rawpy

    if isinstance(source, bytes | bytearray):
        handle: Any = io.BytesIO(source)
    else:
        handle = os.fspath(source) if isinstance(source, str | os.PathLike) else source
    try:
        with rawpy.imread(handle) as raw:
            size = (int(raw.sizes.height), int(raw.sizes.width))
            if expected_size is not None and size != tuple(expected_size):
                raise InvalidInput(f"raw image of {size[1]}x{size[0]} pixels; {expected_size[1]}x{expected_size[0]} "
                                   "is expected")
            bayer = np.array(raw.raw_image_visible)
            params = params_from_raw(raw, overrides)
    except (rawpy.LibRawError, ValueError) as exc:
        raise InvalidInput(f"raw image: rawpy cannot read it as a Bayer raw: {exc}") from exc
    return process(bayer, params, stop_after=stop_after)
