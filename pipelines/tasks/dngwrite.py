"""Write a Bayer mosaic as a minimal DNG that rawpy (LibRaw) reads back.

For tests and the synthetic sample-data generator; real cameras write their own.
Only the tags LibRaw needs to decode a CFA image and its colour metadata are written
(uncompressed, one strip layout chosen by tifffile). Must not: demosaic, scale or
otherwise change the samples; they are stored exactly as given (uint16).

Tags written, besides the baseline TIFF ones tifffile adds (size, strips, 16 bits,
one sample, no compression):
  NewSubfileType 254 = 0 (main image), PhotometricInterpretation 262 = 32803 (CFA),
  CFARepeatPatternDim 33421 = (2, 2), CFAPattern 33422 (0 = red, 1 = green, 2 = blue),
  DNGVersion 50706 = 1.4.0.0, DNGBackwardVersion 50707 = 1.1.0.0,
  UniqueCameraModel 50708, BlackLevelRepeatDim 50713 = (2, 2), BlackLevel 50714 (per
  CFA position), WhiteLevel 50717, ColorMatrix1 50721 (XYZ -> camera, SRATIONAL),
  AsShotNeutral 50728 (RATIONAL), CalibrationIlluminant1 50778 = 21 (D65).
What LibRaw 0.22 (rawpy 0.28) needs, found by leaving each tag out: to decode at all,
only Photometric = CFA and CFAPattern (without it the image reads as CMYG); for each
value, its own tag (BlackLevel also needs BlackLevelRepeatDim, else black reads 0;
no WhiteLevel reads 65535; no ColorMatrix1 gives LibRaw's identity; no AsShotNeutral
gives daylight gains derived from the matrix). The DNG version, camera model,
illuminant and subfile type are there for other readers and the specification.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import IO, Any

import numpy as np

from pipelines.core.errors import InvalidInput

_CFA_CODES = {"R": 0, "G": 1, "B": 2}
_DENOMINATOR = 1_000_000  # rationals keep six decimals where they fit


def write_dng(
    path: str | os.PathLike[str] | IO[bytes],
    bayer: np.ndarray,
    *,
    pattern: str = "RGGB",
    black: float | Sequence[float] = 0,
    white: float = 65535,
    neutral: Sequence[float] = (1.0, 1.0, 1.0),
    color_matrix: Sequence[Sequence[float]] | np.ndarray = ((1, 0, 0), (0, 1, 0), (0, 0, 1)),
    camera_model: str = "mlpin synthetic",
) -> None:
    """Write `bayer` (H, W >= 22, values 0..65535) as a DNG at `path` (a path or a binary file).

    pattern: the 2x2 CFA layout, row-major ("RGGB", "BGGR", "GRBG" or "GBRG").
    black: one black level, or four, one per CFA position in row-major order (LibRaw
    reads black levels as integers: 61.5 reads back as 61).
    white: the saturation level. neutral: AsShotNeutral, the camera's reading of a
    neutral grey (white-balance gains are its inverse). color_matrix: ColorMatrix1,
    XYZ -> camera RGB under D65, as the DNG specification defines it.
    """
    import tifffile

    mosaic = np.asarray(bayer)
    if pattern not in ("RGGB", "BGGR", "GRBG", "GBRG"):
        raise InvalidInput(f"pattern: {pattern!r} is not a Bayer pattern")
    if mosaic.ndim != 2 or min(mosaic.shape) < 22:
        raise InvalidInput(f"bayer: expected shape (H, W) with H, W >= 22 (LibRaw's minimum), got {mosaic.shape}")
    if mosaic.size and (mosaic.min() < 0 or mosaic.max() > 65535):
        raise InvalidInput("bayer: samples must lie in 0..65535")
    blacks = [float(b) for b in np.atleast_1d(np.asarray(black, np.float64))]
    blacks = blacks * 4 if len(blacks) == 1 else blacks
    matrix = np.asarray(color_matrix, np.float64)
    if len(blacks) != 4 or len(neutral) != 3 or matrix.shape != (3, 3):
        raise InvalidInput("black: 1 or 4 values; neutral: 3 values; color_matrix: 3x3 expected")
    tags = [
        (33421, "H", 2, (2, 2), True),
        (33422, "B", 4, tuple(_CFA_CODES[c] for c in pattern), True),
        (50706, "B", 4, (1, 4, 0, 0), True),
        (50707, "B", 4, (1, 1, 0, 0), True),
        (50708, "s", 0, camera_model, True),
        (50713, "H", 2, (2, 2), True),
        (50714, "2I", 4, _rationals(blacks), True),
        (50717, "I", 1, int(white), True),
        (50721, "2i", 9, _rationals(matrix.ravel()), True),
        (50728, "2I", 3, _rationals(neutral), True),
        (50778, "H", 1, 21, True),
    ]
    tifffile.imwrite(path, mosaic.astype(np.uint16), photometric=32803, subfiletype=0,
                     metadata=None, extratags=tags)


def _rationals(values: Any) -> tuple[int, ...]:
    """Flattened (numerator, denominator) pairs: six decimals where the numerator fits 31 bits."""
    out: list[int] = []
    for x in values:
        den = _DENOMINATOR
        while abs(float(x)) * den >= 2**31 - 1 and den > 1:
            den //= 10
        out += [round(float(x) * den), den]
    return tuple(out)
