"""The ISP: each stage on inputs whose answer is known, the whole pipeline on a real DNG
file read back through rawpy, determinism, and clear errors for what is not a Bayer mosaic."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from pipelines.core.errors import InvalidInput
from pipelines.tasks import isp
from pipelines.tasks.dngwrite import write_dng

PATTERNS = ["RGGB", "BGGR", "GRBG", "GBRG"]
K_G = np.array([[0, 1, 0], [1, 4, 1], [0, 1, 0]], np.float64) / 4
K_RB = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], np.float64) / 4


def mosaic_of(rgb: np.ndarray, pattern: str) -> np.ndarray:
    """The Bayer mosaic a sensor with `pattern` records of an (H, W, 3) scene."""
    out = np.empty(rgb.shape[:2], rgb.dtype)
    for k, colour in enumerate(pattern):
        out[k // 2 :: 2, k % 2 :: 2] = rgb[k // 2 :: 2, k % 2 :: 2, "RGB".index(colour)]
    return out


def colour_masks(shape: tuple[int, int], pattern: str) -> np.ndarray:
    masks = np.zeros((3, *shape))
    for k, colour in enumerate(pattern):
        masks["RGB".index(colour), k // 2 :: 2, k % 2 :: 2] = 1
    return masks


# --- 1. black level ---------------------------------------------------------------

def test_black_level_maps_a_constant_frame_between_black_and_white() -> None:
    frame = np.full((6, 8), 1200, np.uint16)
    out = isp.black_level(frame, black=(200, 200, 200, 200), white=4200)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, 0.25, rtol=1e-6)


def test_black_level_is_per_cfa_position_and_clipped() -> None:
    frame = np.array([[150, 300], [100, 5000]], np.uint16)
    out = isp.black_level(frame, black=(100, 200, 300, 0), white=1100)
    np.testing.assert_allclose(out, [[50 / 1000, 100 / 900], [0.0, 1.0]], rtol=1e-6)


# --- 2. demosaic --------------------------------------------------------------------

@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("shape", [(8, 10), (7, 9)], ids=["even", "odd"])
def test_demosaic_of_a_uniform_colour_field_reproduces_the_colour(pattern: str, shape: tuple[int, int]) -> None:
    colour = np.array([0.7, 0.4, 0.1], np.float32)
    out = isp.demosaic(mosaic_of(np.broadcast_to(colour, (*shape, 3)).copy(), pattern), pattern=pattern)
    assert out.shape == (3, *shape)
    np.testing.assert_array_equal(out, np.broadcast_to(colour[:, None, None], out.shape))


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("shape", [(12, 16), (11, 13)], ids=["even", "odd"])
def test_demosaic_equals_the_bilinear_convolution_with_mirrored_edges(pattern: str, shape: tuple[int, int]) -> None:
    mosaic = np.random.default_rng(1).random(shape, dtype=np.float32)
    masks = colour_masks(shape, pattern)
    expected = [ndimage.convolve(mosaic * masks[c], K_G if c == 1 else K_RB, mode="mirror") for c in range(3)]
    np.testing.assert_allclose(isp.demosaic(mosaic, pattern=pattern), expected, atol=1e-6)


# --- 3-4. white balance, colour correction -----------------------------------------

def test_white_balance_multiplies_each_channel_by_its_gain() -> None:
    rgb = np.full((3, 2, 2), 0.25, np.float32)
    out = isp.white_balance(rgb, gains=(2.0, 1.0, 0.5))
    np.testing.assert_array_equal(out[:, 0, 0], [0.5, 0.25, 0.125])


def test_color_correction_with_identity_keeps_pixels_and_applies_a_matrix_per_pixel() -> None:
    rgb = np.random.default_rng(2).random((3, 4, 5), dtype=np.float32)
    np.testing.assert_array_equal(isp.color_correction(rgb, matrix=isp.IspParams().ccm), rgb)
    m = ((1.5, -0.3, -0.2), (-0.1, 1.2, -0.1), (0.0, -0.5, 1.5))
    np.testing.assert_allclose(isp.color_correction(rgb, matrix=m), np.einsum("ij,jhw->ihw", m, rgb), atol=1e-6)


# --- 5-6. denoise, sharpen ---------------------------------------------------------------

def test_denoise_reduces_the_variance_of_noise_more_as_strength_grows() -> None:
    rgb = (0.5 + 0.05 * np.random.default_rng(3).standard_normal((3, 64, 64))).astype(np.float32)
    variances = [float(isp.denoise(rgb, strength=s).var()) for s in (0.0, 0.5, 1.0)]
    assert variances[0] == pytest.approx(float(rgb.var()))
    assert variances[0] > variances[1] > variances[2]
    assert variances[2] < 0.5 * variances[0]


def test_denoise_at_full_strength_is_the_3x3_gaussian_with_mirrored_edges() -> None:
    rgb = np.random.default_rng(4).random((3, 9, 11), dtype=np.float32)
    kernel = np.outer([1, 2, 1], [1, 2, 1]) / 16
    expected = [ndimage.convolve(p.astype(np.float64), kernel, mode="mirror") for p in rgb]
    np.testing.assert_allclose(isp.denoise(rgb, strength=1.0), expected, atol=1e-6)


def edge_contrast(rgb: np.ndarray) -> float:
    """Difference between the two pixels either side of a vertical edge at column 8."""
    return float(rgb[1, 8, 8] - rgb[1, 8, 7])


@pytest.mark.parametrize("radius", [1, 2, 3])
def test_sharpen_increases_edge_contrast_and_leaves_flat_areas_alone(radius: int) -> None:
    rgb = np.full((3, 16, 16), 0.3, np.float32)
    rgb[:, :, 8:] = 0.6
    out = isp.sharpen(rgb, amount=0.8, radius=radius)
    assert edge_contrast(out) > edge_contrast(rgb) + 0.05
    np.testing.assert_allclose(out[:, :, :8 - radius - 1], 0.3, atol=1e-6)
    assert isp.sharpen(rgb, amount=0.0, radius=radius) is rgb


def test_sharpen_adds_the_same_luminance_detail_to_every_channel() -> None:
    rgb = np.random.default_rng(5).random((3, 12, 12), dtype=np.float32)
    luma = np.einsum("c,chw->hw", (0.2126, 0.7152, 0.0722), rgb.astype(np.float64))
    blurred = ndimage.convolve(luma, np.outer([1, 2, 1], [1, 2, 1]) / 16, mode="mirror")
    expected = rgb + 0.5 * (luma - blurred)
    np.testing.assert_allclose(isp.sharpen(rgb, amount=0.5, radius=1), expected, atol=1e-5)


# --- 7. gamma ----------------------------------------------------------------------------

def test_gamma_is_monotonic_clipped_and_a_larger_gamma_brightens_mid_tones() -> None:
    ramp = np.linspace(-0.2, 1.2, 141, dtype=np.float32)[None, None, :].repeat(3, 0)
    low, high = isp.gamma(ramp, gamma=1.8), isp.gamma(ramp, gamma=2.4)
    assert np.all(np.diff(high[0, 0]) >= 0) and high.min() == 0.0 and high.max() == 1.0
    mid = (ramp > 0.01) & (ramp < 0.99)
    assert np.all(high[mid] > low[mid])
    np.testing.assert_allclose(isp.gamma(ramp, gamma=1.0), np.clip(ramp, 0, 1))
    np.testing.assert_allclose(isp.gamma(np.full((3, 1, 1), 0.25, np.float32), gamma=2.0), 0.5, rtol=1e-6)


def test_gamma_is_never_described_as_darkening() -> None:
    text = (inspect.getsource(isp) + str(isp.IspParams.model_json_schema())).lower()
    assert "darker" not in text and "darken" not in text
    assert "brighten" in (isp.gamma.__doc__ or "").replace("brighter", "brighten")


# --- the whole pipeline ---------------------------------------------------------------

FULL = isp.IspParams(black_level=(64, 64, 64, 64), white_level=4095, wb_gains=(2.0, 1.0, 1.25),
                     ccm=((1.6, -0.4, -0.2), (-0.3, 1.5, -0.2), (0.0, -0.5, 1.5)),
                     denoise_strength=0.5, sharpen_amount=0.7, sharpen_radius=2, gamma=2.2)


def scene(shape: tuple[int, int] = (48, 64), seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(64, 4096, shape).astype(np.uint16)


def test_process_gives_h_w_3_float32_in_unit_range_and_every_stage_on_request() -> None:
    bayer = scene()
    out = isp.process(bayer, FULL)
    assert out.shape == (48, 64, 3) and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    assert isp.process(bayer, FULL, stop_after="black_level").shape == (48, 64)
    for name in isp.STAGE_NAMES[1:]:
        expected = isp.run_stages(bayer, FULL, stop_after=name).transpose(1, 2, 0)
        np.testing.assert_array_equal(isp.process(bayer, FULL, stop_after=name), expected)


@pytest.mark.parametrize("shape", [(48, 64), (131, 70), (67, 33)], ids=["small", "many-bands", "odd"])
def test_process_is_deterministic_and_bands_and_threads_change_no_byte(
    shape: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    bayer = scene(shape, seed=7)
    whole = isp.run_stages(bayer, FULL).transpose(1, 2, 0).tobytes()
    monkeypatch.setattr(isp, "_BAND_ROWS", 8)
    runs = [isp.process(bayer, FULL, threads=t).tobytes() for t in (1, 1, 3)]
    assert runs[0] == runs[1] == runs[2] == whole


def expected_ccm(xyz_to_cam: np.ndarray) -> np.ndarray:
    """LibRaw's camera -> sRGB matrix from ColorMatrix1: invert the row-normalised camera <- sRGB."""
    srgb_to_xyz = np.array([[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169],
                            [0.019334, 0.119193, 0.950227]])
    cam_from_srgb = xyz_to_cam @ srgb_to_xyz
    return np.linalg.inv(cam_from_srgb / cam_from_srgb.sum(axis=1, keepdims=True))


@pytest.fixture
def dng(tmp_path: Path) -> tuple[Path, np.ndarray]:
    path = tmp_path / "frame.dng"
    write_dng(path, scene(), pattern="RGGB", black=(60, 62, 64, 66), white=4095, neutral=(0.5, 1.0, 0.8),
              color_matrix=[[0.9, 0.1, 0.0], [0.2, 1.1, -0.1], [0.0, 0.1, 0.8]])
    return path, scene()


def test_params_from_a_dng_are_the_values_written(dng: tuple[Path, np.ndarray]) -> None:
    import rawpy

    with rawpy.imread(str(dng[0])) as raw:
        params = isp.params_from_raw(raw, {"gamma": 1.8})
    assert params.pattern == "RGGB" and params.black_level == (60, 62, 64, 66) and params.white_level == 4095
    assert params.wb_gains == pytest.approx((2.0, 1.0, 1.25), rel=1e-5)
    np.testing.assert_allclose(params.ccm, expected_ccm(np.array([[0.9, 0.1, 0], [0.2, 1.1, -0.1], [0, 0.1, 0.8]])),
                               atol=1e-3)
    assert params.gamma == 1.8


def test_a_dng_through_rawpy_gives_what_process_gives_on_the_array(dng: tuple[Path, np.ndarray]) -> None:
    import rawpy

    path, bayer = dng
    overrides = {"denoise_strength": 0.3, "sharpen_amount": 0.5}
    with rawpy.imread(str(path)) as raw:
        np.testing.assert_array_equal(raw.raw_image_visible, bayer)
        params = isp.params_from_raw(raw, overrides)
    from_file = isp.process_dng(path, overrides)
    np.testing.assert_array_equal(from_file, isp.process(bayer, params))
    assert isp.process_dng(path.read_bytes(), overrides).tobytes() == from_file.tobytes()
    with path.open("rb") as handle:
        assert isp.process_dng(handle, overrides).tobytes() == from_file.tobytes()


@pytest.mark.parametrize("pattern", PATTERNS)
def test_every_bayer_pattern_survives_the_dng_round_trip(pattern: str, tmp_path: Path) -> None:
    path = tmp_path / "p.dng"
    grey = mosaic_of(np.full((24, 32, 3), [1000, 2000, 3000], np.uint16), pattern)
    write_dng(path, grey, pattern=pattern, black=0, white=4000)
    out = isp.process_dng(path, {"gamma": 1.0, "wb_gains": (1, 1, 1), "ccm": isp.IspParams().ccm})
    np.testing.assert_allclose(out, np.broadcast_to([0.25, 0.5, 0.75], out.shape), rtol=1e-6)


# --- bad input -------------------------------------------------------------------------

BAD_ARRAYS = [
    (np.zeros((24, 24, 3), np.uint16), "shape"),
    (np.zeros(100, np.uint16), "shape"),
    (np.zeros((1, 30), np.uint16), "shape"),
    (np.zeros((24, 24), np.complex64), "dtype"),
    (np.full((24, 24), np.nan, np.float32), "NaN"),
    ([[1, 2], [3, 4]], "numpy array"),
]


@pytest.mark.parametrize(("bayer", "says"), BAD_ARRAYS, ids=["rgb", "1d", "one-row", "complex", "nan", "list"])
def test_what_is_not_a_bayer_mosaic_is_refused_with_the_reason(bayer: object, says: str) -> None:
    with pytest.raises(InvalidInput, match=says):
        isp.process(bayer, FULL)  # type: ignore[arg-type]


def test_bad_parameters_are_all_reported_by_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        isp.make_params({"gamma": 0, "pattern": "RGBW", "denoise_strength": 2})
    assert {p.location for p in caught.value.problems} == {"gamma", "pattern", "denoise_strength"}
    with pytest.raises(InvalidInput, match="black_level"):
        isp.make_params({"black_level": (5000, 0, 0, 0), "white_level": 4095})
    with pytest.raises(InvalidInput, match="stop_after"):
        isp.process(scene(), FULL, stop_after="tone_map")


def test_a_file_that_is_not_a_raw_image_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="rawpy cannot read"):
        isp.process_dng(b"not a raw file at all" * 10)
    with pytest.raises(InvalidInput, match="22"):
        write_dng(tmp_path / "tiny.dng", np.zeros((8, 8), np.uint16))


def test_a_raw_frame_of_another_size_is_refused_from_its_header(dng: tuple[Path, np.ndarray]) -> None:
    path, bayer = dng
    height, width = bayer.shape
    assert isp.process_dng(path, expected_size=(height, width)).shape == (height, width, 3)
    with pytest.raises(InvalidInput, match=f"raw image of {width}x{height} pixels; 32x32 is expected"):
        isp.process_dng(path.read_bytes(), expected_size=(32, 32))
