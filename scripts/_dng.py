"""A minimal DNG writer for the generated raw samples (scripts/make_image_samples.py).

Writes one uncompressed 16-bit RGGB Bayer image as IFD0 of a little-endian TIFF, with
the DNG tags LibRaw (and so rawpy) needs to read it as raw CFA data: no thumbnail, no
timestamps, no software tag, so the same array always gives the same bytes. It must not
grow into a general DNG library; `pipelines/tasks/dngwrite.py` is the project's own.

What LibRaw 0.21 (rawpy 0.28) was found to need, tag by tag: Photometric CFA (32803) and
CFAPattern, or the pattern reads as [[6]]; BlackLevel and WhiteLevel, or they read as 0
and 65535; AsShotNeutral, or camera_whitebalance reads [0, 1, 0, 0]; ColorMatrix1, or
its colour matrix is zero. It reads the file without DNGVersion, Make, Model or
CFARepeatPatternDim (2x2 assumed) too; those are written because the DNG specification
requires them (UniqueCameraModel too). Images under 22x22 pixels are refused.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

CFA_RGGB = (0, 1, 1, 2)  # CFAPattern codes: 0 red, 1 green, 2 blue, read row by row
D65 = 21  # CalibrationIlluminant1 code for daylight D65

# Tag ids (TIFF 6 and DNG 1.4 specifications).
MAKE, MODEL = 271, 272
CFA_REPEAT_PATTERN_DIM, CFA_PATTERN = 33421, 33422
DNG_VERSION, DNG_BACKWARD_VERSION, UNIQUE_CAMERA_MODEL = 50706, 50707, 50708
BLACK_LEVEL, WHITE_LEVEL = 50714, 50717
COLOR_MATRIX_1, AS_SHOT_NEUTRAL, CALIBRATION_ILLUMINANT_1 = 50721, 50728, 50778


def _rationals(values: list[float], *, signed: bool) -> tuple[int, ...]:
    """Numerator/denominator pairs with denominator 10000, as (S)RATIONAL tags store them."""
    pairs: list[int] = []
    for value in values:
        frac = Fraction(round(value * 10000), 10000)
        pairs += [frac.numerator, frac.denominator]
    if not signed and any(p < 0 for p in pairs):
        raise ValueError(f"unsigned rationals must be non-negative: {values}")
    return tuple(pairs)


def dng_tags(*, black: int, white: int, neutral: list[float], color_matrix: list[float],
             make: str, model: str) -> list[tuple]:
    """The extra tags (code, dtype, count, value, writeonce) of a raw RGGB DNG for tifffile."""
    if len(neutral) != 3 or len(color_matrix) != 9:
        raise ValueError("AsShotNeutral takes 3 values and ColorMatrix1 9 (XYZ to camera, row by row)")
    return [
        (MAKE, "s", 0, make, True),
        (MODEL, "s", 0, model, True),
        (CFA_REPEAT_PATTERN_DIM, "H", 2, (2, 2), True),
        (CFA_PATTERN, "B", 4, CFA_RGGB, True),
        (DNG_VERSION, "B", 4, (1, 4, 0, 0), True),
        (DNG_BACKWARD_VERSION, "B", 4, (1, 1, 0, 0), True),
        (UNIQUE_CAMERA_MODEL, "s", 0, f"{make} {model}", True),
        (BLACK_LEVEL, "I", 1, black, True),
        (WHITE_LEVEL, "I", 1, white, True),
        (COLOR_MATRIX_1, "2i", 9, _rationals(color_matrix, signed=True), True),
        (AS_SHOT_NEUTRAL, "2I", 3, _rationals(neutral, signed=False), True),
        (CALIBRATION_ILLUMINANT_1, "H", 1, D65, True),
    ]


def write_dng(path: Path, bayer: np.ndarray, *, black: int, white: int, neutral: list[float],
              color_matrix: list[float], make: str = "mlpin", model: str = "digits") -> None:
    """Write `bayer` (2-D uint16, RGGB from the top-left pixel) as an uncompressed DNG."""
    import tifffile

    if bayer.ndim != 2 or bayer.dtype != np.uint16 or bayer.shape[0] % 2 or bayer.shape[1] % 2:
        raise ValueError(f"expected an even-sized 2-D uint16 Bayer array, got {bayer.dtype} {bayer.shape}")
    tags = dng_tags(black=black, white=white, neutral=neutral, color_matrix=color_matrix, make=make, model=model)
    tifffile.imwrite(path, bayer, byteorder="<", photometric="cfa", subfiletype=0, compression=None,
                     software=False, datetime=None, metadata=None, description=None,
                     rowsperstrip=bayer.shape[0], extratags=tags)
