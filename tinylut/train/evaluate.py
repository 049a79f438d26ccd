"""Validation scores in the papers' protocol (DESIGN.md section 4), from tinylut.metrics."""
from __future__ import annotations

import numpy as np

from ..metrics import psnr_gray, psnr_y


def eval_sr(restore, items, scale: int) -> float:
    """Mean Y-PSNR (shave = scale) of ``restore(lr) -> sr`` over (name, hr, lr) items."""
    return float(np.mean([psnr_y(restore(lr), hr, scale) for _, hr, lr in items]))


def eval_denoise(restore, items) -> float:
    """Mean PSNR (whole image) of ``restore(noisy) -> clean estimate`` over (name, clean, noisy)."""
    return float(np.mean([psnr_gray(restore(noisy), clean) for _, clean, noisy in items]))
