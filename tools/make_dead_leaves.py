#!/usr/bin/env python3
"""Write synthetic "dead leaves" training images: clean, sharp-edged, flat or shaded shapes.

Our natural training images (T91, BSD200, BSD400) are small and JPEG-softened; what the SR
benchmarks Set5 and Set14 reward beyond them is clean, smooth, sharp-edged content
(docs/tinylut-f.md, "Where the x4 gap comes from"). Dead-leaves images (occluding shapes with
radii drawn from a power law, so edges at every scale; Achddou et al. 2021 use them as training
data for restoration) have exactly that and nothing copied from a test set.

    python tools/make_dead_leaves.py OUT_FOLDER [--count 80] [--size 384] [--seed 0]

Shapes (disks and rotated rectangles, each a flat grey level plus a gentle linear shade) are
laid front to back until the canvas is covered (the smallest radius drawn per image in
[2, 10] pixels), rendered at 3x and averaged down, so edges are
anti-aliased like a photograph's, then written as 8-bit gray PNGs.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from tinylut.metrics import _filter_valid, gaussian_window

SUPERSAMPLE = 3


def dead_leaves(rng: np.random.Generator, size: int, r_min: float = 1.5, r_max: float = 120.0
                ) -> np.ndarray:
    """One uint8 (size, size) image; radii in HR pixels, density ~ r^-3 on [r_min, r_max]."""
    n = size * SUPERSAMPLE
    canvas = np.zeros((n, n), np.float32)
    free = np.ones((n, n), bool)
    lo, hi = (r_min * SUPERSAMPLE) ** -2, (r_max * SUPERSAMPLE) ** -2
    for _ in range(50000):
        if not free.any():
            break
        r = (lo + rng.random() * (hi - lo)) ** -0.5          # inverse CDF of r^-3
        cy, cx = rng.uniform(-r, n + r, 2)
        y0, y1 = max(0, int(cy - r)), min(n, int(cy + r) + 1)
        x0, x1 = max(0, int(cx - r)), min(n, int(cx + r) + 1)
        if y0 >= y1 or x0 >= x1:
            continue
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        dy, dx = yy - cy, xx - cx
        if rng.random() < 0.6:
            inside = dy * dy + dx * dx <= r * r
        else:
            t = rng.uniform(0, np.pi)
            u, v = dy * np.cos(t) + dx * np.sin(t), -dy * np.sin(t) + dx * np.cos(t)
            inside = (np.abs(u) <= r) & (np.abs(v) <= r * rng.uniform(0.2, 1.0))
        mask = inside & free[y0:y1, x0:x1]
        if not mask.any():
            continue
        level = rng.uniform(0, 255)
        # half the shapes shaded, ~32 levels (one sd) across: smooth regions that are not flat
        gy, gx = rng.normal(0, 32 / (2 * r), 2) * (rng.random() < 0.5)
        canvas[y0:y1, x0:x1][mask] = (level + gy * dy + gx * dx)[mask]
        free[y0:y1, x0:x1][mask] = False
    canvas[free] = rng.uniform(0, 255)
    small = canvas.reshape(size, SUPERSAMPLE, size, SUPERSAMPLE).mean(axis=(1, 3))
    return np.clip(np.rint(small), 0, 255).astype(np.uint8)


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur of a uint8 image, edges replicated (out of focus, not a step)."""
    radius = max(1, int(np.ceil(3 * sigma)))
    # the SSIM code's separable Gaussian, on an image padded so the result keeps its size
    out = _filter_valid(np.pad(image.astype(np.float64), radius, mode="edge"),
                        gaussian_window(2 * radius + 1, sigma))
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out", type=Path)
    p.add_argument("--count", type=int, default=80)
    p.add_argument("--size", type=int, default=384)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--blur", type=float, default=0.0, metavar="FRACTION",
                   help="blur this fraction of the images, sigma uniform in [0.4, 1.5] pixels")
    a = p.parse_args(argv)
    if a.count < 1 or a.size < 8 or not 0 <= a.blur <= 1:
        p.error("--count must be >= 1, --size >= 8 and --blur in [0, 1]")
    from PIL import Image
    a.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    for i in range(a.count):
        # the smallest shape varies per image: from busy (2 px) to calm (10 px)
        image = dead_leaves(rng, a.size, r_min=rng.uniform(2, 10))
        if a.blur and rng.random() < a.blur:    # no draw without --blur: same images
            image = gaussian_blur(image, rng.uniform(0.4, 1.5))
        Image.fromarray(image).save(a.out / f"dl{i:03d}.png")


if __name__ == "__main__":
    main()
