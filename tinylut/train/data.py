"""Training data: MATLAB-compatible bicubic x4 degradation, in-memory HR/LR pairs, random patches.

numpy + Pillow only (no torch here), so the degradation can be tested and reused on its own.

``imresize`` follows MATLAB's ``imresize(img, 1/scale, 'bicubic')`` on uint8 input: the cubic
kernel (a = -0.5) widened by the scale factor (antialiasing), mirror ("symmetric") handling of the
border, the rows resized first and then the columns, and the result of **each** 1-D pass rounded
half away from zero and saturated to uint8, as MATLAB does for uint8 images.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

IMAGE_EXTS = (".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff")


# ----------------------------------------------------------------------------- MATLAB bicubic

def _cubic(x: np.ndarray) -> np.ndarray:
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    return ((1.5 * ax3 - 2.5 * ax2 + 1) * (ax <= 1)
            + (-0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2) * ((ax > 1) & (ax <= 2)))


def _contributions(in_len: int, out_len: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """MATLAB imresize's ``contributions``: per output pixel, source indices and weights."""
    kernel_width = 4.0
    if scale < 1:                                   # antialiasing when shrinking
        kernel_width /= scale
    x = np.arange(1, out_len + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - kernel_width / 2)
    taps = int(np.ceil(kernel_width)) + 2
    idx = left[:, None] + np.arange(taps)[None, :]              # 1-based, may leave the image
    dist = u[:, None] - idx
    w = scale * _cubic(dist * scale) if scale < 1 else _cubic(dist)
    w = w / w.sum(axis=1, keepdims=True)
    aux = np.concatenate([np.arange(in_len), np.arange(in_len - 1, -1, -1)])
    idx = aux[np.mod(idx.astype(np.int64) - 1, aux.size)]        # symmetric border
    keep = np.any(w != 0, axis=0)
    return idx[:, keep], w[:, keep]


def _resize_rows_u8(img: np.ndarray, out_len: int, scale: float) -> np.ndarray:
    """Resize axis 0 of a uint8 (H, W) array; round half away from zero, saturate (MATLAB)."""
    idx, w = _contributions(img.shape[0], out_len, scale)
    src = img.astype(np.float64)
    out = np.einsum("ok,okw->ow", w, src[idx])
    return np.clip(np.floor(out + 0.5), 0, 255).astype(np.uint8)


def imresize_down(img: np.ndarray, factor: int) -> np.ndarray:
    """MATLAB ``imresize(img, 1/factor, 'bicubic')`` of a uint8 (H, W) image, H and W multiples
    of ``factor`` (mod-crop first). Rows first, then columns, uint8 after each pass."""
    if img.dtype != np.uint8 or img.ndim != 2:
        raise ValueError("imresize_down expects a 2-d uint8 image")
    h, w = img.shape
    if h % factor or w % factor:
        raise ValueError(f"image {h}x{w} is not mod-{factor} cropped")
    return _resize_u8(img, h // factor, w // factor, 1.0 / factor)


def imresize(img: np.ndarray, scale: float) -> np.ndarray:
    """MATLAB ``imresize(img, scale, 'bicubic')`` of a uint8 (H, W) image, any scale in (0, 1]:
    output ceil(H * scale) x ceil(W * scale). Used to make smaller, sharper copies of the
    training images (``--hr-scales``)."""
    if img.dtype != np.uint8 or img.ndim != 2:
        raise ValueError("imresize expects a 2-d uint8 image")
    if not 0 < scale <= 1:
        raise ValueError(f"imresize: scale {scale} is not in (0, 1]")
    if scale == 1:
        return img.copy()
    h, w = img.shape
    return _resize_u8(img, int(np.ceil(h * scale)), int(np.ceil(w * scale)), scale)


def _resize_u8(img: np.ndarray, out_h: int, out_w: int, scale: float) -> np.ndarray:
    """Rows first, then columns, uint8 after each pass (MATLAB's order)."""
    t = _resize_rows_u8(img, out_h, scale)
    return _resize_rows_u8(t.T, out_w, scale).T.copy()


def modcrop(img: np.ndarray, factor: int) -> np.ndarray:
    h, w = img.shape[:2]
    return img[:h - h % factor, :w - w % factor]


# ----------------------------------------------------------------------------- image folders

def list_images(folder: str | os.PathLike) -> list[Path]:
    folder = Path(folder)
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTS)
    if not files:
        raise FileNotFoundError(f"no images in {folder}")
    return files


def read_channels(path: str | os.PathLike) -> list[np.ndarray]:
    """An image file as a list of uint8 (H, W) gray channels (RGB -> three, gray -> one)."""
    from PIL import Image
    with Image.open(path) as im:
        if im.mode not in ("L", "RGB"):
            im = im.convert("RGB") if "A" not in im.mode and im.mode != "P" else im.convert("RGB")
        a = np.asarray(im, dtype=np.uint8)
    if a.ndim == 2:
        return [a]
    return [np.ascontiguousarray(a[..., c]) for c in range(a.shape[2])]


def read_rgb(path: str | os.PathLike) -> np.ndarray:
    """An image as uint8 (H, W, 3); gray images become three equal channels (the papers' eval)."""
    from PIL import Image
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8)


# ----------------------------------------------------------------------------- patches

@dataclass
class PairSet:
    """HR/LR gray image pairs held in memory (one entry per image channel)."""
    hr: list[np.ndarray]
    lr: list[np.ndarray]
    scale: int

    def __len__(self) -> int:
        return len(self.hr)


def build_pairs(folders: list[str], scale: int, min_lr: int = 0, progress=None,
                hr_scales: tuple[float, ...] = (1.0,)) -> PairSet:
    """Read every image of ``folders``, split into gray channels, mod-crop, degrade once.

    Every channel serves as HR once per factor of ``hr_scales`` (each in (0, 1]; 1: as it is,
    less: shrunk with MATLAB bicubic, so with more detail per pixel and less noise)."""
    hrs, lrs = [], []
    files = [f for d in folders for f in list_images(d)]
    it = progress(files) if progress else files
    for f in it:
        for ch in read_channels(f):
            for s in hr_scales:
                hr = modcrop(imresize(ch, s), scale)
                if min(hr.shape) // scale < min_lr:
                    continue
                hrs.append(np.ascontiguousarray(hr))
                lrs.append(imresize_down(hr, scale))
    if not hrs:
        raise ValueError(f"no training image at least {min_lr} LR pixels wide in {folders}")
    return PairSet(hrs, lrs, scale)


def sample_batch(pairs: PairSet, rng: np.random.Generator, batch: int, lr_size: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """``batch`` random LR patches (lr_size^2) and their HR patches, with a random rot90 and flip.

    Images are drawn with probability proportional to their LR area (so every patch position of
    the data set is equally likely). Returns uint8 (B, p, p) and (B, p*s, p*s)."""
    s = pairs.scale
    if not hasattr(pairs, "_cum"):
        area = np.array([max(0, (l.shape[0] - lr_size + 1) * (l.shape[1] - lr_size + 1))
                         for l in pairs.lr], np.float64)
        pairs._cum = np.cumsum(area) / area.sum()           # type: ignore[attr-defined]
    lr_out = np.empty((batch, lr_size, lr_size), np.uint8)
    hr_out = np.empty((batch, lr_size * s, lr_size * s), np.uint8)
    for b in range(batch):
        i = int(np.searchsorted(pairs._cum, rng.random(), side="right"))  # type: ignore
        i = min(i, len(pairs.lr) - 1)
        lr, hr = pairs.lr[i], pairs.hr[i]
        y = int(rng.integers(0, lr.shape[0] - lr_size + 1))
        x = int(rng.integers(0, lr.shape[1] - lr_size + 1))
        lp = lr[y:y + lr_size, x:x + lr_size]
        hp = hr[y * s:(y + lr_size) * s, x * s:(x + lr_size) * s]
        k, flip = int(rng.integers(0, 4)), bool(rng.integers(0, 2))
        lp, hp = np.rot90(lp, k), np.rot90(hp, k)
        if flip:
            lp, hp = lp[:, ::-1], hp[:, ::-1]
        lr_out[b], hr_out[b] = lp, hp
    return lr_out, hr_out


def load_sr_set(folder: str | os.PathLike, scale: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """A benchmark folder with HR/ and LR_bicubic/X{scale}/: (name, HR mod-cropped RGB, LR RGB)."""
    folder = Path(folder)
    out = []
    for f in list_images(folder / "HR"):
        hr = modcrop(read_rgb(f), scale)
        lr = read_rgb(folder / "LR_bicubic" / f"X{scale}" / f.name)
        out.append((f.stem, hr, lr))
    return out


# ----------------------------------------------------------------------------- denoising

def read_gray(path: str | os.PathLike) -> np.ndarray:
    """An image as uint8 (H, W) gray: gray files as stored, colour ones through Pillow's
    ``convert("L")`` (ITU-R 601-2 luma, rounded)."""
    from PIL import Image
    with Image.open(path) as im:
        if im.mode != "L":
            im = im.convert("RGB").convert("L")
        return np.asarray(im, dtype=np.uint8).copy()


def load_gray_images(folders: list[str], min_size: int = 0) -> list[np.ndarray]:
    """Every image of ``folders`` as a gray uint8 array, those smaller than min_size left out."""
    images = [read_gray(f) for d in folders for f in list_images(d)]
    images = [im for im in images if min(im.shape) >= min_size]
    if not images:
        raise ValueError(f"no training image at least {min_size} pixels wide in {folders}")
    return images


def gray_set(images: list[np.ndarray]) -> PairSet:
    """Clean images as a PairSet of scale 1 (for ``sample_noisy_batch``)."""
    return PairSet(images, images, 1)


def sample_noisy_batch(pairs: PairSet, rng: np.random.Generator, batch: int,
                       size: int, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """``batch`` random clean patches (size^2, random rot90 and flip, images drawn in proportion
    to their area) and their noisy versions ``clip(round(clean + sigma N(0,1)), 0, 255)``,
    the noise drawn from ``rng`` (tinylut.noise.add_noise). Returns uint8 (noisy, clean)."""
    from ..noise import add_noise
    clean, _ = sample_batch(pairs, rng, batch, size)
    return add_noise(clean, sigma, rng), clean


def load_denoise_set(folder: str | os.PathLike, sigma: float
                     ) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """A folder of clean gray images: (name, clean, noisy) with the evaluation noise of
    ``tinylut eval --task denoise`` (tinylut.noise.eval_noisy: the seed from the name)."""
    from ..noise import eval_noisy
    out = []
    for f in list_images(folder):
        clean = read_gray(f)
        out.append((f.stem, clean, eval_noisy(clean, sigma, f.stem)))
    return out
