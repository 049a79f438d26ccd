"""Gaussian noise in the denoising papers' protocol (DESIGN.md section 4), numpy only.

    noisy = clip(round(clean + sigma * N(0, 1)), 0, 255) as uint8

``round`` is round-half-to-even (``np.round``) on float64 values; ties have probability zero.
Training (``tinylut.train``) and evaluation (``tinylut eval --task denoise``) use this same
function, so a network sees at training time exactly the kind of input it gets at test time.

Evaluation noise is fixed per image: the seed is :func:`eval_seed` of the image's file name
without its extension (``"01"`` for ``01.png``): the first 8 bytes of the SHA-256 of the UTF-8
name, read as a little-endian unsigned integer, fed to ``numpy.random.default_rng``; the
N(0, 1) field is ``rng.standard_normal(image.shape)`` (float64). It depends on the name only,
not on the folder's other files nor on sigma: the three noise levels of one image share one
N(0, 1) field scaled by sigma.
"""
from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["SIGMAS", "check_sigma", "eval_seed", "add_noise", "eval_noisy"]

SIGMAS = (15, 25, 50)   # the noise levels of the papers and of the shipped denoisers


def check_sigma(sigma, *, allow_zero: bool = True) -> float:
    """A noise level on 0..255 as a float; 0 (no noise) only where it means something."""
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float, np.integer, np.floating)):
        raise TypeError(f"sigma must be a number (the noise level on 0..255), "
                        f"got {type(sigma).__name__}")
    low_ok = sigma >= 0 if allow_zero else sigma > 0
    if not np.isfinite(sigma) or not low_ok or sigma > 255:
        span = "[0, 255]" if allow_zero else "(0, 255]"
        raise ValueError(f"sigma must be a noise level in {span}, got {sigma}")
    return float(sigma)


def eval_seed(name: str) -> int:
    """The evaluation seed of an image, from its name (file name without extension)."""
    if not isinstance(name, str):
        raise TypeError(f"expected an image name, got {type(name).__name__}")
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "little")


def add_noise(clean: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """``clip(round(clean + sigma * N(0, 1)), 0, 255)`` as uint8, N drawn from ``rng``
    (float64, the array's shape)."""
    clean = np.asarray(clean)
    if clean.dtype != np.uint8:
        raise TypeError(f"expected a uint8 image, got dtype {clean.dtype}")
    s = check_sigma(sigma)
    noise = rng.standard_normal(clean.shape)
    return np.clip(np.round(clean + s * noise), 0, 255).astype(np.uint8)


def eval_noisy(clean: np.ndarray, sigma: float, name: str) -> np.ndarray:
    """The fixed noisy version of test image ``name`` at ``sigma`` (see the module doc)."""
    return add_noise(clean, sigma, np.random.default_rng(eval_seed(name)))
