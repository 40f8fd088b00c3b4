"""Generate the image samples in samples/ from scikit-learn's bundled digits, with their pointers.

- samples/digits_png/<label>/<row>.png: the first 40 digits of each class, each 8x8
  image scaled 4x by nearest neighbour to 32x32, 8-bit grayscale (mode L; 0 paper, 255 ink).
- samples/digits_raw/<label>/<row>.dng: the first 20 of those per class as colour scenes
  (ink and paper colours cycling by row), mosaicked to a 32x32 RGGB Bayer image of
  16-bit values between a black level of 512 and a white level of 16383, as DNG.
- data/digits_png.yaml and data/digits_raw.yaml: their data pointers (`format:
  image_folder` / `raw_folder`). The folders stay outside data/: tests copy data/ into
  every test repository, and 600 more files there cost each one about two seconds.

<row> is the digit's row in load_digits, so a file keeps its name if the counts change.
Byte-for-byte deterministic: PNGs are written here (zlib level 9, no ancillary chunks),
DNGs by scripts/_dng.py (no timestamps, no software tag). No downloads.

    python scripts/make_image_samples.py [--root .]    # write, print each folder's digest
    python scripts/make_image_samples.py --check       # regenerate in a temp dir; exit 1 if it differs
"""

from __future__ import annotations

import argparse
import shutil
import struct
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _dng import write_dng  # noqa: E402  (a helper beside this script, not a package)

from pipelines.adapters.imagefolder import SUFFIXES, folder_digest  # noqa: E402

PROJECT = Path(__file__).resolve().parent.parent
SAMPLES = "samples"  # where the folders live, relative to the root
POINTERS = "data"  # where their pointers live
PNG_PER_CLASS, RAW_PER_CLASS, SCALE = 40, 20, 4
BLACK, WHITE = 512, 16383
AS_SHOT_NEUTRAL = [0.5, 1.0, 0.7]  # the camera's raw R, G, B for a white surface (daylight)
# XYZ (D65) to camera RGB, row by row: a plausible matrix of a real 14-bit sensor.
COLOR_MATRIX_1 = [0.4716, 0.0603, -0.0830, -0.7798, 1.5474, 0.2480, -0.1496, 0.1937, 0.6651]
# (ink, paper) in white-balanced linear RGB, chosen by row % 5 so colour says nothing of the class.
PALETTE = [((0.85, 0.35, 0.10), (0.15, 0.20, 0.30)), ((0.10, 0.60, 0.25), (0.80, 0.78, 0.70)),
           ((0.20, 0.30, 0.90), (0.60, 0.55, 0.45)), ((0.90, 0.85, 0.20), (0.25, 0.10, 0.30)),
           ((0.95, 0.95, 0.95), (0.05, 0.05, 0.05))]
RGGB = np.array([[0, 1], [1, 2]])  # channel of each pixel of the 2x2 tile, from the top-left


def digits() -> tuple[np.ndarray, np.ndarray]:
    """The 1797 8x8 digit images (values 0..16) and their labels, as scikit-learn ships them."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.images, bunch.target


def chosen_rows(target: np.ndarray, per_class: int) -> list[int]:
    """The first `per_class` rows of each class, class by class."""
    return [int(row) for label in range(10) for row in np.flatnonzero(target == label)[:per_class]]


def gray32(image: np.ndarray) -> np.ndarray:
    """An 8x8 digit as a 32x32 uint8 image (nearest neighbour)."""
    pixels = np.rint(image * 255.0 / 16.0).astype(np.uint8)
    return pixels.repeat(SCALE, axis=0).repeat(SCALE, axis=1)


def scene(image: np.ndarray, row: int) -> np.ndarray:
    """A 32x32x3 linear colour scene: the digit's ink over paper, in the row's palette colours."""
    ink, paper = (np.array(c) for c in PALETTE[row % len(PALETTE)])
    alpha = (image / 16.0).repeat(SCALE, axis=0).repeat(SCALE, axis=1)[..., None]
    return alpha * ink + (1.0 - alpha) * paper


def bayer(rgb: np.ndarray) -> np.ndarray:
    """What an RGGB sensor records of a linear scene: one channel per pixel, scaled by the
    camera's neutral, between the black and white levels (uint16)."""
    height, width, _ = rgb.shape
    channel = np.tile(RGGB, (height // 2, width // 2))
    picked = np.take_along_axis(rgb, channel[..., None], axis=2)[..., 0]
    signal = picked * np.array(AS_SHOT_NEUTRAL)[channel] * (WHITE - BLACK)
    return (BLACK + np.rint(signal)).astype(np.uint16)


def png_bytes(gray: np.ndarray) -> bytes:
    """An 8-bit grayscale PNG: IHDR, one IDAT (filter 0 on every row, zlib level 9), IEND."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    height, width = gray.shape
    rows = b"".join(b"\0" + line.tobytes() for line in gray)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def pointer(name: str, *, fmt: str, digest: str, per_class: int, mode: str, description: str) -> str:
    """The data pointer of a sample folder, as YAML text."""
    doc = {"schema_version": 1, "description": description, "uri": f"{SAMPLES}/{name}", "format": fmt,
           "sha256": digest, "contract": {"labels": [str(n) for n in range(10)], "min_per_class": per_class,
                                          "sizes": [[32, 32]], "modes": [mode]}}
    header = f"# Data pointer for {SAMPLES}/{name}/, written by scripts/make_image_samples.py.\n"
    return header + yaml.safe_dump(doc, sort_keys=False, width=100, default_flow_style=None)


def generate(root: Path) -> dict[str, str]:
    """Write both sample folders (under root/samples) and their pointers (root/data); returns digest by folder."""
    images, target = digits()
    png_dir, raw_dir = root / SAMPLES / "digits_png", root / SAMPLES / "digits_raw"
    for folder in (png_dir, raw_dir):
        shutil.rmtree(folder, ignore_errors=True)
    for row in chosen_rows(target, PNG_PER_CLASS):
        path = png_dir / str(target[row]) / f"{row:04d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png_bytes(gray32(images[row])))
    for row in chosen_rows(target, RAW_PER_CLASS):
        path = raw_dir / str(target[row]) / f"{row:04d}.dng"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_dng(path, bayer(scene(images[row], row)), black=BLACK, white=WHITE, neutral=AS_SHOT_NEUTRAL,
                  color_matrix=COLOR_MATRIX_1)
    digests = {"digits_png": folder_digest(png_dir, suffixes=SUFFIXES["image"]),
               "digits_raw": folder_digest(raw_dir, suffixes=SUFFIXES["raw"])}
    _write_pointers(root, digests)
    return digests


def _write_pointers(root: Path, digests: dict[str, str]) -> None:
    folder = root / POINTERS
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "digits_png.yaml").write_text(pointer(
        "digits_png", fmt="image_folder", digest=digests["digits_png"], per_class=PNG_PER_CLASS, mode="L",
        description="Handwritten digits 0-9, 32x32 grayscale PNG (scikit-learn bundled copy, upscaled)"))
    (folder / "digits_raw.yaml").write_text(pointer(
        "digits_raw", fmt="raw_folder", digest=digests["digits_raw"], per_class=RAW_PER_CLASS, mode="RGGB",
        description="Handwritten digits 0-9 as coloured scenes, 32x32 RGGB Bayer DNG (scikit-learn digits)"))


def check(root: Path) -> list[str]:
    """What differs between the committed samples and a fresh generation (empty: nothing)."""
    with tempfile.TemporaryDirectory() as scratch:
        fresh = Path(scratch)
        generate(fresh)
        names = [(f"{SAMPLES}/digits_png", "image"), (f"{SAMPLES}/digits_raw", "raw")]
        differ = [name for name, kind in names if _digest_or_none(root / name, kind)
                  != folder_digest(fresh / name, suffixes=SUFFIXES[kind])]
        for rel in (f"{POINTERS}/digits_png.yaml", f"{POINTERS}/digits_raw.yaml"):
            committed = root / rel
            if not committed.is_file() or committed.read_bytes() != (fresh / rel).read_bytes():
                differ.append(rel)
    return differ


def _digest_or_none(folder: Path, kind: str) -> str | None:
    return folder_digest(folder, suffixes=SUFFIXES[kind]) if folder.is_dir() else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=PROJECT, type=Path)
    parser.add_argument("--check", action="store_true", help="regenerate in a temp dir and compare; write nothing")
    args = parser.parse_args()
    if args.check:
        differ = check(args.root)
        for rel in differ:
            print(f"{rel}: differs from a fresh generation; run scripts/make_image_samples.py and commit")
        return 1 if differ else 0
    for name, digest in generate(args.root).items():
        print(f"{SAMPLES}/{name}: sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
