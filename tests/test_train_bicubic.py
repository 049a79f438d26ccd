"""The training degradation is MATLAB's bicubic x4 (checked against the benchmark LR files)."""
import numpy as np
import pytest

from randmodels import need_shared

pytest.importorskip("torch")   # tinylut.train is the [train] extra; the data code lives beside it
from tinylut.train.data import imresize, imresize_down, load_sr_set, modcrop  # noqa: E402


@pytest.mark.parametrize("name", ["Set5", "Set14", "B100"])
def test_imresize_matches_benchmark_lr(name):
    folder = need_shared("data", "sr", name)
    total = off = worst = 0
    for _, hr, lr in load_sr_set(folder, 4):               # HR is mod-4 cropped by load_sr_set
        for c in range(3):
            got = imresize_down(np.ascontiguousarray(hr[..., c]), 4)
            assert got.shape == lr.shape[:2]
            d = np.abs(got.astype(int) - lr[..., c])
            total += d.size
            off += int((d > 0).sum())
            worst = max(worst, int(d.max()))
    assert worst <= 1, f"{name}: a pixel is {worst} grey levels off"
    assert off <= 0.001 * total, f"{name}: {off} of {total} pixels differ"


def test_imresize_basic_properties():
    flat = np.full((16, 12), 77, np.uint8)
    np.testing.assert_array_equal(imresize_down(flat, 4), np.full((4, 3), 77, np.uint8))
    ramp = np.tile(np.arange(0, 256, 8, dtype=np.uint8), (8, 1))       # 8 x 32
    out = imresize_down(ramp, 4)
    assert out.shape == (2, 8) and np.all(np.diff(out.astype(int), axis=1) > 0)
    with pytest.raises(ValueError):
        imresize_down(np.zeros((10, 12), np.uint8), 4)
    assert modcrop(np.zeros((10, 13)), 4).shape == (8, 12)


def test_imresize_any_scale():
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, (40, 28), dtype=np.uint8)
    # scale 1/4 is the same resampling as the integer x4 downscale
    np.testing.assert_array_equal(imresize(img, 0.25), imresize_down(img, 4))
    assert imresize(img, 0.7).shape == (28, 20)                      # ceil(40 * 0.7), ceil(19.6)
    np.testing.assert_array_equal(imresize(img, 1.0), img)
    flat = np.full((30, 17), 200, np.uint8)
    np.testing.assert_array_equal(imresize(flat, 0.6), np.full((18, 11), 200, np.uint8))
    ramp = np.tile(np.arange(0, 250, 5, dtype=np.uint8), (6, 1))       # 6 x 50, increasing
    assert np.all(np.diff(imresize(ramp, 0.8).astype(int), axis=1) >= 0)
    for bad in (0.0, 1.5, -0.5):
        with pytest.raises(ValueError):
            imresize(img, bad)
    with pytest.raises(ValueError):
        imresize(img.astype(np.float32), 0.5)
