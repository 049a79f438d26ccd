"""PSNR/SSIM in the papers' protocol, against values worked out by hand."""
from __future__ import annotations

import math

import numpy as np
import pytest

from tinylut import metrics as M
from tinylut.imageio import read_image

PSNR_ONE_LEVEL = 20 * math.log10(255)     # 48.1308...


def gray(h, w, value):
    return np.full((h, w), value, np.uint8)


# ----------------------------------------------------------------------------- Y

@pytest.mark.parametrize("rgb, y", [
    ((0, 0, 0), 16.0),
    ((255, 255, 255), 235.0),
    ((255, 0, 0), 16 + 65.481),
    ((0, 255, 0), 16 + 128.553),
    ((0, 0, 255), 16 + 24.966),
    ((10, 20, 30), 16 + (65.481 * 10 + 128.553 * 20 + 24.966 * 30) / 255),
])
def test_y_of_pure_colours(rgb, y):
    img = np.zeros((2, 3, 3), np.uint8) + np.array(rgb, np.uint8)
    out = M.rgb_to_y(img)
    assert out.dtype == np.float64 and out.shape == (2, 3)
    np.testing.assert_allclose(out, y, rtol=0, atol=1e-12)


def test_y_not_rounded():
    y = M.rgb_to_y(np.array([[[1, 0, 0]]], np.uint8))[0, 0]
    assert y == pytest.approx(16.2567882, abs=1e-6)          # 16 + 65.481 / 255


def test_y_of_gray_is_rgb_with_three_equal_channels():
    g = np.arange(256, dtype=np.uint8).reshape(16, 16)
    rgb = np.repeat(g[..., None], 3, axis=2)
    np.testing.assert_array_equal(M.rgb_to_y(g), M.rgb_to_y(rgb))
    np.testing.assert_array_equal(M.rgb_to_y(g[..., None]), M.rgb_to_y(rgb))
    np.testing.assert_allclose(M.rgb_to_y(g), 16 + 219 * g.astype(float) / 255, atol=1e-12)


def test_y_rejects_alpha_and_odd_shapes():
    with pytest.raises(ValueError):
        M.rgb_to_y(np.zeros((4, 4, 4), np.uint8))
    with pytest.raises(ValueError):
        M.rgb_to_y(np.zeros((4, 4, 2), np.uint8))


# ----------------------------------------------------------------------------- PSNR

def test_psnr_of_one_level_offset_on_y():
    y = np.linspace(20, 200, 64).reshape(8, 8)
    assert M.psnr(y, y + 1) == pytest.approx(PSNR_ONE_LEVEL, abs=1e-9)
    assert M.psnr(y, y - 1) == pytest.approx(48.1308036, abs=1e-6)


def test_psnr_of_known_mse():
    a = np.zeros((4, 4))
    b = a.copy()
    b[0, 0] = 16                            # mse = 256 / 16 = 16
    assert M.psnr(a, b) == pytest.approx(10 * math.log10(255 ** 2 / 16), abs=1e-12)


def test_psnr_identical_is_inf():
    a = np.arange(12.0).reshape(3, 4)
    assert M.psnr(a, a) == math.inf


def test_psnr_gray_whole_image():
    a = gray(10, 12, 100)
    b = a.copy()
    b[0, 0] = 101                           # a corner pixel counts: no shave
    assert M.psnr_gray(a, b) == pytest.approx(10 * math.log10(255 ** 2 * 120), abs=1e-9)
    assert M.psnr_gray(a, a + 1) == pytest.approx(PSNR_ONE_LEVEL, abs=1e-9)
    with pytest.raises(ValueError):
        M.psnr_gray(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError):
        M.psnr_gray(a.astype(np.float64), a)


def test_psnr_y_gray_offset():
    # One grey level on a gray image is 219/255 on Y: PSNR = 20 log10(255 * 255 / 219).
    hr = gray(24, 24, 90)
    sr = gray(24, 24, 91)
    assert M.psnr_y(sr, hr, 4) == pytest.approx(20 * math.log10(255 * 255 / 219), abs=1e-9)


def test_psnr_y_shaves_scale_pixels():
    hr = np.random.default_rng(0).integers(0, 256, (20, 24, 3), dtype=np.uint8)
    sr = hr.copy()
    # Changes inside the 4-pixel border are ignored...
    sr[:4] = 0
    sr[:, -4:] = 255
    assert M.psnr_y(sr, hr, 4) == math.inf
    # ...one pixel just inside it is not: exactly one of (20-8)*(24-8) pixels differs.
    sr[4, 4] = hr[4, 4] ^ 1
    dy = abs(M.rgb_to_y(sr)[4, 4] - M.rgb_to_y(hr)[4, 4])
    expected = 10 * math.log10(255 ** 2 / (dy ** 2 / (12 * 16)))
    assert M.psnr_y(sr, hr, 4) == pytest.approx(expected, abs=1e-9)
    # With scale 2 only 2 pixels are shaved: row 3 counts.
    sr2 = hr.copy()
    sr2[3, 10] = hr[3, 10] ^ 8
    assert math.isfinite(M.psnr_y(sr2, hr, 2))
    assert M.psnr_y(sr2, hr, 4) == math.inf


def test_mod_crop():
    hr = np.arange(22 * 27).reshape(22, 27)
    c = M.mod_crop(hr, 4)
    assert c.shape == (20, 24)
    np.testing.assert_array_equal(c, hr[:20, :24])      # bottom rows, right columns go
    assert M.mod_crop(hr, 1).shape == (22, 27)
    assert M.mod_crop(np.zeros((9, 7, 3)), 3).shape == (9, 6, 3)


def test_psnr_y_mod_crops_hr():
    rng = np.random.default_rng(1)
    sr = rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)
    hr = rng.integers(0, 256, (23, 26, 3), dtype=np.uint8)
    hr[:20, :24] = sr                                   # the rest is garbage, cropped away
    assert M.psnr_y(sr, hr, 4) == math.inf
    assert M.ssim_y(sr, hr, 4) == pytest.approx(1.0, abs=1e-12)
    with pytest.raises(ValueError, match="multiple of 4"):
        M.psnr_y(sr[:16], hr, 4)


def test_shave_too_small():
    with pytest.raises(ValueError):
        M.shave(np.zeros((8, 20)), 4)


# ----------------------------------------------------------------------------- SSIM

def _window_2d():
    # Built here from the definition, not with metrics.gaussian_window.
    x = np.arange(-5, 6, dtype=np.float64)
    w = np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / (2 * 1.5 ** 2))
    return w / w.sum()


def _ssim_brute_force(a, b):
    """Every 11x11 window by hand (MATLAB ssim of the SR papers, 'valid' region)."""
    w = _window_2d()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    vals = []
    for i in range(a.shape[0] - 10):
        for j in range(a.shape[1] - 10):
            x, y = a[i:i + 11, j:j + 11], b[i:i + 11, j:j + 11]
            mx, my = (w * x).sum(), (w * y).sum()
            vx = (w * (x - mx) ** 2).sum()
            vy = (w * (y - my) ** 2).sum()
            cxy = (w * (x - mx) * (y - my)).sum()
            vals.append((2 * mx * my + c1) * (2 * cxy + c2)
                        / ((mx * mx + my * my + c1) * (vx + vy + c2)))
    return float(np.mean(vals))


def test_gaussian_window():
    g = M.gaussian_window()
    assert g.shape == (11,) and g.sum() == pytest.approx(1.0, abs=1e-15)
    np.testing.assert_allclose(np.outer(g, g), _window_2d(), atol=1e-15)
    # 1 / (1 + 2 (e^-1/4.5 + e^-4/4.5 + e^-9/4.5 + e^-16/4.5 + e^-25/4.5)) = 1 / 3.75924
    assert g[5] == pytest.approx(0.266012, abs=1e-6)


def test_ssim_identical_is_one():
    a = np.random.default_rng(2).uniform(0, 255, (30, 25))
    assert M.ssim(a, a) == pytest.approx(1.0, abs=1e-12)


def test_ssim_constant_images_luminance_only():
    # sigma = 0 everywhere: SSIM = (2ab + C1) / (a^2 + b^2 + C1).
    c1 = (0.01 * 255) ** 2
    a, b = 100.0, 110.0
    expected = (2 * a * b + c1) / (a * a + b * b + c1)
    assert M.ssim(np.full((11, 11), a), np.full((11, 11), b)) == pytest.approx(expected, abs=1e-12)
    assert M.ssim(np.full((15, 20), a), np.full((15, 20), b)) == pytest.approx(expected, abs=1e-12)


def test_ssim_anticorrelated_ramp():
    # One 11x11 window. x = a + d (i - 5), y = a - d (i - 5): equal means (the weighted mean of
    # i - 5 is 0), variances d^2 V, covariance -d^2 V, V = sum_i g_i (i - 5)^2.
    # SSIM = (C2 - 2 d^2 V) / (C2 + 2 d^2 V).
    c2 = (0.03 * 255) ** 2
    x1 = np.arange(-5, 6, dtype=np.float64)
    g = np.exp(-x1 ** 2 / 4.5)
    g /= g.sum()
    v = float((g * x1 ** 2).sum())
    a, d = 120.0, 7.0
    ramp = np.repeat(x1[:, None], 11, axis=1)
    x, y = a + d * ramp, a - d * ramp
    expected = (c2 - 2 * d * d * v) / (c2 + 2 * d * d * v)
    assert M.ssim(x, y) == pytest.approx(expected, abs=1e-12)
    assert expected < 0


def test_ssim_matches_brute_force():
    rng = np.random.default_rng(3)
    a = rng.uniform(0, 255, (17, 14))
    b = np.clip(a + rng.normal(0, 20, a.shape), 0, 255)
    assert M.ssim(a, b) == pytest.approx(_ssim_brute_force(a, b), abs=1e-12)


def test_ssim_too_small_and_shape_mismatch():
    with pytest.raises(ValueError):
        M.ssim(np.zeros((10, 20)), np.zeros((10, 20)))
    with pytest.raises(ValueError):
        M.ssim(np.zeros((12, 20)), np.zeros((12, 21)))


def test_ssim_y_is_unshaved():
    # Row 3 is inside the PSNR shave but inside the first SSIM windows.
    rng = np.random.default_rng(4)
    hr = rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)
    sr = hr.copy()
    sr[3] = 255 - sr[3]
    assert M.psnr_y(sr, hr, 4) == math.inf
    assert M.ssim_y(sr, hr, 4) < 0.99
    assert M.ssim_y(sr, hr, 4) == M.ssim(M.rgb_to_y(sr), M.rgb_to_y(hr))
    p, s = M.sr_metrics(sr, hr, 4)
    assert p == math.inf and s == M.ssim_y(sr, hr, 4)


# ----------------------------------------------------------------------------- real data

def test_golden_set5_outputs_give_30_222(official_dir, shared):
    """The released model's own Set5 outputs (from a different LR) score 30.222 dB."""
    sr_dir = official_dir / "golden_set5_x4" / "SR"
    hr_dir = shared / "data" / "sr" / "Set5" / "HR"
    names = sorted(p.name for p in sr_dir.glob("*.png"))
    assert len(names) == 5
    scores = [M.sr_metrics(read_image(sr_dir / n), read_image(hr_dir / n), 4) for n in names]
    assert np.mean([p for p, _ in scores]) == pytest.approx(30.222, abs=0.0006)
