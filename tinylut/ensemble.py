"""The transposed self-ensemble: a model run on the image and on its transpose, averaged.

Every model already sums four rotations; adding the transposed image makes all eight
orientations of the square (rotations and mirror images), the usual "x8 self-ensemble" of SR
papers, at twice the run time. The mean of two uint8 results is rounded half to even, as every
rounding of the method is, so the result is the same integer on every instruction-set path.
"""
from __future__ import annotations

from typing import Callable

import numpy as np


def transposed(image: np.ndarray) -> np.ndarray:
    """(H, W, C) -> (W, H, C), contiguous (the C core reads rows)."""
    return np.ascontiguousarray(image.transpose(1, 0, 2))


def mean_rne(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(a + b) / 2 of two uint8 arrays, rounded half to even, as uint8."""
    total = a.astype(np.uint16) + b
    half = total >> 1
    # an odd total lies halfway between half and half + 1: take the even one
    return (half + (total & half & 1)).astype(np.uint8)


def self_ensemble(run: Callable[[np.ndarray], np.ndarray], image: np.ndarray) -> np.ndarray:
    """The mean of ``run(image)`` and ``run`` on the transposed image, transposed back."""
    return mean_rne(run(image), transposed(run(transposed(image))))
