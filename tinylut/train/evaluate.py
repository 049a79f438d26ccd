"""PSNR on the Y channel in the papers' protocol (DESIGN.md section 4), numpy only."""
from __future__ import annotations

import numpy as np


def rgb_to_y(img: np.ndarray) -> np.ndarray:
    """Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255 on 0..255 values, float64, unrounded."""
    a = np.asarray(img, np.float64)
    if a.ndim == 2:
        a = np.stack([a, a, a], -1)
    return 16.0 + (65.481 * a[..., 0] + 128.553 * a[..., 1] + 24.966 * a[..., 2]) / 255.0


def psnr_y(sr: np.ndarray, hr: np.ndarray, shave: int) -> float:
    ys, yh = rgb_to_y(sr), rgb_to_y(hr)
    if shave:
        ys, yh = ys[shave:-shave, shave:-shave], yh[shave:-shave, shave:-shave]
    mse = np.mean((ys - yh) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))


def eval_sr(restore, items, scale: int) -> float:
    """Mean Y-PSNR (shave = scale) of ``restore(lr) -> sr`` over (name, hr, lr) items."""
    return float(np.mean([psnr_y(restore(lr), hr, scale) for _, hr, lr in items]))


def eval_denoise(restore, items) -> float:
    """Mean PSNR (whole image) of ``restore(noisy) -> clean estimate`` over (name, clean, noisy)."""
    from ..metrics import psnr_gray
    return float(np.mean([psnr_gray(restore(noisy), clean) for _, clean, noisy in items]))
