"""Image folders as data: what the digest covers, every contract problem reported, and the
committed samples (samples/) reproduced by their generator and readable as their formats."""

from __future__ import annotations

import importlib.util
import os
import shutil
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from pipelines.adapters.digest import sha256_tree
from pipelines.adapters.imagefolder import SUFFIXES, check_contract, folder_digest, list_images
from pipelines.core.errors import DataError
from tests.helpers import PROJECT

SAMPLES = PROJECT / "samples"
PNG = SUFFIXES["image"]


def _load_generator():
    spec = importlib.util.spec_from_file_location("make_image_samples", PROJECT / "scripts/make_image_samples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


def digit_png(value: int = 0, *, size: int = 32) -> bytes:
    return gen.png_bytes(np.full((size, size), value, dtype=np.uint8))


def rgb_png() -> bytes:
    """A black 32x32 8-bit RGB PNG (colour type 2)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\0" + bytes(32 * 3) for _ in range(32))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 32, 32, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def folder(tmp_path: Path, files: dict[str, bytes]) -> Path:
    root = tmp_path / "set"
    for rel, content in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(content)
    return root


TWO_CLASSES = {"0/a.png": digit_png(10), "0/b.png": digit_png(20), "1/c.png": digit_png(30)}


def _pixel(root: Path) -> None:
    pixels = np.full((32, 32), 10, dtype=np.uint8)
    pixels[5, 7] = 11
    (root / "0/a.png").write_bytes(gen.png_bytes(pixels))


@pytest.mark.parametrize(
    ("change", "changes_digest"),
    [
        (_pixel, True),
        (lambda r: (r / "0/a.png").rename(r / "0/z.png"), True),
        (lambda r: (r / "0/a.png").rename(r / "1/a.png"), True),
        (lambda r: (r / "0/a.png").unlink(), True),
        (lambda r: (r / "1/new.PNG").write_bytes(digit_png(40)), True),
        (lambda r: None, False),
        (lambda r: (r / "0/.DS_Store").write_bytes(b"x"), False),
        (lambda r: (r / ".cache").mkdir(), False),
        (lambda r: (r / "0/notes.txt").write_text("x"), False),
        (lambda r: (r / "0/a.png").touch(), False),
    ],
    ids=["one-pixel", "rename", "move-class", "remove", "add-upper-case-suffix", "relist", "hidden-file",
         "hidden-folder", "other-suffix", "mtime-only"],
)
def test_digest_covers_each_images_path_and_bytes(tmp_path: Path, change: Callable[[Path], None],
                                                  changes_digest: bool) -> None:
    root = folder(tmp_path, TWO_CLASSES)
    before = folder_digest(root, suffixes=PNG)
    change(root)
    assert (folder_digest(root, suffixes=PNG) != before) is changes_digest


def test_listing_is_sorted_and_digest_matches_sha256_tree(tmp_path: Path) -> None:
    root = folder(tmp_path, {"b/2.png": b"2", "a/1.png": b"11", "a-x/0.png": b"0", "a/10.png": b"10"})
    listed = list_images(root, suffixes=PNG)
    assert [(f.path, f.label, f.size_bytes) for f in listed] == [
        ("a/1.png", "a", 2), ("a/10.png", "a", 2), ("a-x/0.png", "a-x", 1), ("b/2.png", "b", 1)]
    assert folder_digest(root, suffixes=PNG) == sha256_tree(root)


def test_a_symlink_leaving_the_root_is_refused(tmp_path: Path) -> None:
    root = folder(tmp_path, TWO_CLASSES)
    outside = tmp_path / "secret.png"
    outside.write_bytes(digit_png(1))
    (root / "1/leak.png").symlink_to(outside)
    (root / "2").symlink_to(tmp_path, target_is_directory=True)
    for call in (list_images, folder_digest):
        with pytest.raises(DataError) as caught:
            call(root, suffixes=PNG)
        assert [p.location for p in caught.value.problems] == ["1/leak.png", "2"]
        assert all("outside the dataset folder" in p.message for p in caught.value.problems)
    found = check_contract(root, kind="image")
    assert {p.location for p in found if "outside the dataset folder" in p.message} == {"2", "1/leak.png"}


def test_a_symlink_inside_the_root_counts_under_its_own_path(tmp_path: Path) -> None:
    root = folder(tmp_path, TWO_CLASSES)
    (root / "1/copy.png").symlink_to(root / "0/a.png")
    (root / "1/gone.png").symlink_to(root / "0/missing.png")
    found = check_contract(root, kind="image")
    assert [(p.location, "symlink to nothing" in p.message) for p in found] == [("1/gone.png", True)]
    (root / "1/gone.png").unlink()
    assert [f.path for f in list_images(root, suffixes=PNG)] == ["0/a.png", "0/b.png", "1/c.png", "1/copy.png"]


def test_every_contract_problem_is_reported_with_what_to_fix(tmp_path: Path) -> None:
    root = folder(tmp_path, {
        "0/a.png": digit_png(), "0/b.png": digit_png(), "0/bad.png": b"not a png", "0/notes.txt": b"x",
        "0/deeper/c.png": digit_png(), "1/small.png": digit_png(size=16), "x/d.png": digit_png(),
        "1/rgb.png": rgb_png(),
        "readme.md": b"x", "0/photo.jpg": digit_png(),
    })
    found = [(p.location, p.message) for p in check_contract(
        root, kind="image", min_per_class=3, allowed_sizes=[(32, 32)], allowed_modes=["L"], labels=["0", "1", "2"])]
    expected = [
        ("0/deeper/", "move its files up"),
        ("0/notes.txt", "remove it or convert it"),
        ("readme.md", "move it into one"),
        ("x/", "remove the folder or add the label"),
        ("2/", "add it with at least 3 image(s) or remove the label"),
        ("1/", "class '1' has 2 image(s), the contract needs at least 3; add images or lower"),
        ("x/", "class 'x' has 1 image(s)"),
        ("0/bad.png", "unreadable"),
        ("0/photo.jpg", "unreadable"),
        ("1/rgb.png", "has mode RGB, allowed: L; convert it or add the mode"),
        ("1/small.png", "is 16x16 pixels, allowed: 32x32; resize it or add its size"),
    ]
    assert len(found) == len(expected), found
    for (location, message), (want_location, want_text) in zip(found, expected, strict=True):
        assert (location, want_text in message) == (want_location, True), (location, message)


def test_png_headers_read_the_same_without_pillow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = folder(tmp_path, {"0/a.png": digit_png(), "0/b.png": b"\x89PNG junk", "0/c.jpg": b"\xff\xd8\xff"})
    with_pillow = [p.location for p in check_contract(root, kind="image", allowed_modes=["L"])]
    monkeypatch.setitem(sys.modules, "PIL", None)
    without = check_contract(root, kind="image", allowed_modes=["L"])
    assert [p.location for p in without] == with_pillow == ["0/b.png", "0/c.jpg"]
    assert "needs Pillow" in without[1].message


def test_a_tiff_that_is_not_a_dng_is_reported(tmp_path: Path) -> None:
    tifffile = pytest.importorskip("tifffile")
    root = folder(tmp_path, {})
    (root / "0").mkdir(parents=True)
    tifffile.imwrite(root / "0/plain.dng", np.zeros((32, 32), dtype=np.uint16))
    shutil.copy(SAMPLES / "digits_raw/0/0000.dng", root / "0/ok.dng")
    found = check_contract(root, kind="raw", allowed_sizes=[(32, 32)], allowed_modes=["RGGB"])
    assert [(p.location, "not a DNG" in p.message) for p in found] == [("0/plain.dng", True)]


@pytest.mark.parametrize(("name", "count"), [("digits_png", 400), ("digits_raw", 200)], ids=["png", "raw"])
def test_committed_samples_meet_their_pointers(name: str, count: int) -> None:
    from pipelines.adapters.workspace import load_workspace
    from pipelines.tasks.imagedata import verify_folder

    pointer = load_workspace(PROJECT).images[name]
    assert pointer.uri == f"samples/{name}"
    assert verify_folder(PROJECT, name, pointer) == count


def test_the_generator_reproduces_the_committed_samples() -> None:
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}  # this checkout's pipelines, wherever mlpin is installed from
    done = subprocess.run([sys.executable, "scripts/make_image_samples.py", "--check"], cwd=PROJECT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (0, "")


def test_check_names_what_differs(tmp_path: Path) -> None:
    shutil.copytree(SAMPLES, tmp_path / "samples")
    (tmp_path / "data").mkdir()
    shutil.copy(PROJECT / "data/digits_raw.yaml", tmp_path / "data/digits_raw.yaml")
    (tmp_path / "samples/digits_raw/3/extra.dng").write_bytes(b"")
    assert gen.check(tmp_path) == ["samples/digits_raw", "data/digits_png.yaml"]


def test_each_png_decodes_to_its_digit() -> None:
    image_module = pytest.importorskip("PIL.Image")
    from sklearn.datasets import load_digits

    digits = load_digits()
    files = list_images(SAMPLES / "digits_png", suffixes=PNG)
    assert len(files) == 400
    for image in files:
        row = int(Path(image.path).stem)
        assert image.label == str(digits.target[row])
        expected = np.kron(np.rint(digits.images[row] * 255 / 16), np.ones((4, 4))).astype(np.uint8)
        with image_module.open(SAMPLES / "digits_png" / image.path) as decoded:
            assert decoded.mode == "L"
            assert np.array_equal(np.asarray(decoded), expected), image.path


def test_each_dng_opens_with_rawpy_as_the_bayer_array_made() -> None:
    rawpy = pytest.importorskip("rawpy")
    images, target = gen.digits()
    files = list_images(SAMPLES / "digits_raw", suffixes=SUFFIXES["raw"])
    assert [int(Path(f.path).stem) for f in files] == sorted(gen.chosen_rows(target, 20), key=lambda r: (
        str(target[r]), r))
    for image in files:
        row = int(Path(image.path).stem)
        with rawpy.imread(str(SAMPLES / "digits_raw" / image.path)) as raw:
            assert np.array_equal(raw.raw_image_visible, gen.bayer(gen.scene(images[row], row))), image.path
            assert raw.raw_pattern.tolist() == [[0, 1], [3, 2]] and raw.color_desc == b"RGBG"
            assert (raw.black_level_per_channel, raw.white_level) == ([512] * 4, 16383)
            assert raw.camera_whitebalance[:3] == pytest.approx([2.0, 1.0, 1 / 0.7], rel=1e-4)


def test_a_jpeg_header_is_read_through_pillow(tmp_path: Path) -> None:
    image_module = pytest.importorskip("PIL.Image")
    root = folder(tmp_path, {})
    (root / "cat").mkdir(parents=True)
    image_module.new("RGB", (40, 30)).save(root / "cat/a.JPEG", "JPEG")
    found = check_contract(root, kind="image", allowed_sizes=[(32, 32)], allowed_modes=["RGB"])
    assert [(p.location, p.message.split(",")[0]) for p in found] == [("cat/a.JPEG", "is 40x30 pixels")]
