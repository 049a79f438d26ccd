"""The denoising noise protocol (tinylut.noise): fixed per image name, rounded and clipped."""
import hashlib

import numpy as np
import pytest

from tinylut.noise import SIGMAS, add_noise, eval_noisy, eval_seed


def test_seed_is_the_documented_hash_of_the_name():
    assert eval_seed("01") == int.from_bytes(hashlib.sha256(b"01").digest()[:8], "little")
    assert eval_seed("01") == 13081880464652275091          # the protocol never changes
    assert eval_seed("01") != eval_seed("02")


def test_eval_noise_is_fixed_and_shared_across_sigmas():
    clean = np.full((2, 3), 128, np.uint8)
    np.testing.assert_array_equal(eval_noisy(clean, 25, "01"),
                                  [[105, 124, 100], [163, 89, 110]])
    n = np.random.default_rng(eval_seed("01")).standard_normal((2, 3))
    for sigma in SIGMAS:
        want = np.clip(np.round(128 + sigma * n), 0, 255).astype(np.uint8)
        np.testing.assert_array_equal(eval_noisy(clean, sigma, "01"), want)


def test_add_noise_rounds_and_clips():
    clean = np.array([[0, 255, 100, 7]], np.uint8)
    rng = np.random.default_rng(3)
    n = np.random.default_rng(3).standard_normal(clean.shape)
    got = add_noise(clean, 50, rng)
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, np.clip(np.round(clean + 50.0 * n), 0, 255))
    big = add_noise(np.zeros((64, 64), np.uint8), 50, np.random.default_rng(0))
    assert big.min() == 0 and 0.4 < np.mean(big == 0) < 0.6      # clipped, not wrapped
    np.testing.assert_array_equal(add_noise(clean, 0, rng), clean)


@pytest.mark.parametrize("sigma, error", [(-1, ValueError), (300, ValueError),
                                          (float("nan"), ValueError), ("25", TypeError),
                                          (True, TypeError)])
def test_bad_sigma(sigma, error):
    with pytest.raises(error, match="sigma"):
        add_noise(np.zeros((2, 2), np.uint8), sigma, np.random.default_rng(0))


def test_bad_input():
    with pytest.raises(TypeError, match="uint8"):
        add_noise(np.zeros((2, 2)), 15, np.random.default_rng(0))
    with pytest.raises(TypeError, match="name"):
        eval_seed(3)
