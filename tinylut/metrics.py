"""Image quality metrics in the protocol of the SR/denoising papers (DESIGN.md section 4).

Pure numpy (float64 throughout), no scipy/OpenCV at run time.

Super-resolution (what SR-LUT, MuLUT and TinyLUT report):

* the HR image is mod-cropped to a multiple of the scale (:func:`mod_crop`);
* both images are converted to Y (BT.601, "studio swing") on 0..255 values, not rounded:
  ``Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255`` (:func:`rgb_to_y`); a gray image is
  read as RGB with three equal channels, so its Y is ``16 + 219 g / 255``;
* PSNR on Y with ``scale`` pixels shaved at every border (:func:`psnr_y`);
* SSIM on the *unshaved* Y: Gaussian window 11x11, sigma 1.5, K = (0.01, 0.03), L = 255,
  'valid' region only (MATLAB ``filter2(w, img, 'valid')``), mean of the SSIM map
  (:func:`ssim`, :func:`ssim_y`);
* a data set's score is the mean of the per-image values.

Denoising: plain PSNR of uint8 gray images over the whole image (:func:`psnr_gray`).
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["mod_crop", "shave", "rgb_to_y", "psnr", "psnr_y", "psnr_gray", "gaussian_window",
           "ssim", "ssim_y", "sr_metrics"]

# BT.601 luma on 0..255 RGB (MATLAB rgb2ycbcr, first row, times 255).
Y_COEFFS = (65.481, 128.553, 24.966)
Y_OFFSET = 16.0

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K = (0.01, 0.03)


def mod_crop(img: np.ndarray, scale: int) -> np.ndarray:
    """Crop the bottom rows and right columns so that height and width are multiples of scale."""
    if scale < 1:
        raise ValueError(f"scale must be >= 1, got {scale}")
    h, w = img.shape[:2]
    return img[:h - h % scale, :w - w % scale]


def shave(img: np.ndarray, border: int) -> np.ndarray:
    """Remove ``border`` pixels at each of the four borders."""
    if border <= 0:
        return img
    h, w = img.shape[:2]
    if h <= 2 * border or w <= 2 * border:
        raise ValueError(f"a {w}x{h} image is too small to shave {border} pixels per border")
    return img[border:h - border, border:w - border]


def rgb_to_y(img: np.ndarray) -> np.ndarray:
    """Y channel (float64, not rounded) of an 8-bit image.

    Accepts HxW (gray), HxWx1 (gray), HxWx3 (RGB). A gray image counts as RGB with three equal
    channels, exactly as the papers' evaluation reads it. Alpha is not accepted: a metric on an
    image with transparency is ambiguous, so drop it first."""
    a = np.asarray(img)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim == 2:
        a = np.stack([a, a, a], axis=-1)
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"expected a gray (HxW) or RGB (HxWx3) image, got shape {a.shape}")
    a = a.astype(np.float64)
    r, g, b = a[..., 0], a[..., 1], a[..., 2]
    return Y_OFFSET + (Y_COEFFS[0] * r + Y_COEFFS[1] * g + Y_COEFFS[2] * b) / 255.0


def _same_shape(a: np.ndarray, b: np.ndarray, what: str) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{what}: shapes differ, {a.shape} vs {b.shape}")


def psnr(a: np.ndarray, b: np.ndarray, data_range: float = 255.0) -> float:
    """PSNR in dB of two arrays on a 0..data_range scale, in float64 (inf if they are equal)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    _same_shape(a, b, "psnr")
    if a.size == 0:
        raise ValueError("psnr of empty images")
    mse = float(np.mean((a - b) ** 2))
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(data_range * data_range / mse)


def psnr_gray(a: np.ndarray, b: np.ndarray) -> float:
    """Denoising PSNR: two uint8 gray images, whole image, no colour conversion, no shave."""
    a, b = np.asarray(a), np.asarray(b)
    for x in (a, b):
        if x.dtype != np.uint8 or x.ndim != 2:
            raise ValueError(f"expected uint8 gray (HxW) images, got {x.dtype} {x.shape}")
    return psnr(a, b, 255.0)


def _check_sr_pair(sr: np.ndarray, hr: np.ndarray, scale: int) -> np.ndarray:
    """The mod-cropped HR; raises ValueError if the SR image does not have its size."""
    hr = mod_crop(np.asarray(hr), scale)
    sr = np.asarray(sr)
    if sr.shape[:2] != hr.shape[:2]:
        raise ValueError(f"output is {sr.shape[1]}x{sr.shape[0]} but the HR image cropped to a "
                         f"multiple of {scale} is {hr.shape[1]}x{hr.shape[0]}")
    return hr


def psnr_y(sr: np.ndarray, hr: np.ndarray, scale: int) -> float:
    """SR PSNR: Y channel, HR mod-cropped, ``scale`` pixels shaved at each border."""
    hr = _check_sr_pair(sr, hr, scale)
    return psnr(shave(rgb_to_y(sr), scale), shave(rgb_to_y(hr), scale))


def gaussian_window(size: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA) -> np.ndarray:
    """1-D normalised Gaussian (the factor of MATLAB ``fspecial('gaussian', size, sigma)``)."""
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(x * x) / (2.0 * sigma * sigma))
    return g / g.sum()


def _filter_valid(img: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Separable 'valid' filtering with the symmetric 1-D kernel g along both axes."""
    n = g.size
    h, w = img.shape
    rows = g[0] * img[:, 0:w - n + 1]
    for k in range(1, n):
        rows = rows + g[k] * img[:, k:k + w - n + 1]
    out = g[0] * rows[0:h - n + 1]
    for k in range(1, n):
        out = out + g[k] * rows[k:k + h - n + 1]
    return out


def ssim(a: np.ndarray, b: np.ndarray, data_range: float = 255.0) -> float:
    """Mean SSIM of two 2-D images (float64): Gaussian 11x11 window, sigma 1.5,
    K = (0.01, 0.03), statistics only where the window fits ('valid')."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    _same_shape(a, b, "ssim")
    if a.ndim != 2:
        raise ValueError(f"ssim takes 2-D images, got shape {a.shape}")
    if a.shape[0] < SSIM_WINDOW or a.shape[1] < SSIM_WINDOW:
        raise ValueError(f"ssim needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW}, "
                         f"got {a.shape[1]}x{a.shape[0]}")
    g = gaussian_window()
    c1 = (SSIM_K[0] * data_range) ** 2
    c2 = (SSIM_K[1] * data_range) ** 2
    mu1 = _filter_valid(a, g)
    mu2 = _filter_valid(b, g)
    mu1_sq, mu2_sq, mu12 = mu1 * mu1, mu2 * mu2, mu1 * mu2
    s1 = _filter_valid(a * a, g) - mu1_sq
    s2 = _filter_valid(b * b, g) - mu2_sq
    s12 = _filter_valid(a * b, g) - mu12
    num = (2.0 * mu12 + c1) * (2.0 * s12 + c2)
    den = (mu1_sq + mu2_sq + c1) * (s1 + s2 + c2)
    return float(np.mean(num / den))


def ssim_y(sr: np.ndarray, hr: np.ndarray, scale: int) -> float:
    """SR SSIM: Y channel, HR mod-cropped, no shave (the 'valid' window trims 5 pixels)."""
    hr = _check_sr_pair(sr, hr, scale)
    return ssim(rgb_to_y(sr), rgb_to_y(hr))


def sr_metrics(sr: np.ndarray, hr: np.ndarray, scale: int) -> tuple[float, float]:
    """(PSNR, SSIM) of one SR output against its HR image, in the papers' protocol."""
    hr = _check_sr_pair(sr, hr, scale)
    y_sr, y_hr = rgb_to_y(sr), rgb_to_y(hr)
    return psnr(shave(y_sr, scale), shave(y_hr, scale)), ssim(y_sr, y_hr)
