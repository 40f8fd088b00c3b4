"""Image headers (width, height, mode) read without decoding a single pixel.

PNG and JPEG go through Pillow when it is installed (it reads only the header on open);
without Pillow, PNG falls back to reading the IHDR chunk here and JPEG is unreadable.
DNG goes through tifffile's tags. A file that cannot be read raises HeaderError with a
reason a person can act on; this module never opens anything but the file it is given.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# IHDR colour type -> Pillow's mode name, so both readers report the same modes.
PNG_MODES = {0: "L", 2: "RGB", 3: "P", 4: "LA", 6: "RGBA"}
PILLOW_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}
CFA_COLOURS = "RGBCMYW"  # CFAPattern codes 0..6 (TIFF/EP)
PHOTOMETRIC_CFA, PHOTOMETRIC_LINEAR_RAW = 32803, 34892
CFA_REPEAT_PATTERN_DIM, CFA_PATTERN, DNG_VERSION = 33421, 33422, 50706


class HeaderError(Exception):
    """The header cannot be read; the message says why."""


@dataclass(frozen=True)
class Header:
    """What the contract checks: size in pixels and mode (Pillow's name, or for a raw
    file its CFA pattern read row by row, e.g. RGGB, or LinearRaw)."""

    width: int
    height: int
    mode: str


def read_header(path: Path) -> Header:
    """The header of an image (PNG, JPEG) or raw (DNG) file, chosen by its suffix."""
    suffix = path.suffix.lower()
    if suffix == ".dng":
        return dng_header(path)
    if suffix in PILLOW_FORMATS:
        return _pillow_header(path, expected=PILLOW_FORMATS[suffix])
    raise HeaderError(f"no header reader for '{suffix}' files")


def _pillow_header(path: Path, *, expected: str) -> Header:
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        if expected == "PNG":
            return png_header(path)
        raise HeaderError("reading JPEG headers needs Pillow; install pillow") from None
    try:
        with Image.open(path) as image:
            found, (width, height), mode = image.format, image.size, image.mode
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise HeaderError(f"not a readable {expected} file ({exc})") from None
    if found != expected:
        raise HeaderError(f"holds {found} data, not {expected} as its suffix says")
    return Header(width, height, mode)


def png_header(path: Path) -> Header:
    """A PNG's size and mode from its IHDR chunk (no Pillow needed)."""
    with path.open("rb") as handle:
        head = handle.read(33)
    if len(head) < 33 or head[:8] != PNG_SIGNATURE or head[12:16] != b"IHDR":
        raise HeaderError("not a readable PNG file (bad signature or no IHDR chunk)")
    width, height, depth, colour = struct.unpack(">IIBB", head[16:26])
    if colour not in PNG_MODES or width == 0 or height == 0:
        raise HeaderError(f"not a readable PNG file (colour type {colour}, size {width}x{height})")
    mode = PNG_MODES[colour]
    if colour == 0 and depth == 1:
        mode = "1"
    elif colour == 0 and depth == 16:
        mode = "I;16"
    return Header(width, height, mode)


def dng_header(path: Path) -> Header:
    """Size and CFA pattern of a DNG's raw image (the IFD or sub-IFD with CFA or
    LinearRaw data), from tags only."""
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            if DNG_VERSION not in tif.pages.first.tags:
                raise HeaderError("not a DNG (a TIFF without the DNGVersion tag)")
            return _raw_ifd_header(tif)
    except (tifffile.TiffFileError, OSError, ValueError, struct.error) as exc:
        raise HeaderError(f"not a readable DNG file ({exc})") from None


def _raw_ifd_header(tif) -> Header:
    import tifffile

    pages = list(tif.pages)
    for page in list(pages):
        if page.subifds:
            pages += list(tifffile.TiffPages(page))
    for page in pages:
        if page.photometric == PHOTOMETRIC_CFA:
            return Header(page.imagewidth, page.imagelength, _cfa_mode(page.tags))
        if page.photometric == PHOTOMETRIC_LINEAR_RAW:
            return Header(page.imagewidth, page.imagelength, "LinearRaw")
    raise HeaderError("no raw image in it (no IFD with Photometric CFA 32803 or LinearRaw 34892)")


def _cfa_mode(tags) -> str:
    if CFA_PATTERN not in tags:
        raise HeaderError("its CFA image has no CFAPattern tag")
    dims = tags[CFA_REPEAT_PATTERN_DIM].value if CFA_REPEAT_PATTERN_DIM in tags else (2, 2)
    codes = bytes(tags[CFA_PATTERN].value)
    if len(codes) != dims[0] * dims[1] or any(c >= len(CFA_COLOURS) for c in codes):
        raise HeaderError(f"its CFAPattern {list(codes)} does not fit CFARepeatPatternDim {tuple(dims)}")
    return "".join(CFA_COLOURS[c] for c in codes)
