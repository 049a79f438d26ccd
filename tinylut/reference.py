"""A plain numpy implementation of the integer TinyLUT semantics (DESIGN.md section 1).

Slow and readable on purpose: it is the reference the C engine is tested against, written
as directly from the design notes as numpy allows (whole-image arrays, real rotations,
np.pad for the reflect padding, no bands, no precomputed offsets)."""
from __future__ import annotations

import numpy as np

from .model import ORIENTATIONS, WINDOW_PADS, ModelSpec, Stage, split_values


def rne_div(a: np.ndarray, d: int) -> np.ndarray:
    """Integer a / d rounded half to even, exactly."""
    q = np.floor_divide(a, d)
    r2 = 2 * (a - q * d)
    return q + ((r2 > d) | ((r2 == d) & (q % 2 == 1)))


def orient(x: np.ndarray, o: int) -> np.ndarray:
    """Orientation o of an image (model.ORIENTATIONS): rotation o, or o - 4 of the transpose."""
    return np.rot90(x if o < 4 else x.T, o % 4)


def unorient(y: np.ndarray, o: int) -> np.ndarray:
    """The inverse of ``orient``."""
    y = np.rot90(y, -(o % 4))
    return y if o < 4 else y.T


def run_stage(st: Stage, feat: np.ndarray, in_lo: int) -> np.ndarray:
    """One stage on an (H, W, cin) int array of values in in_lo..; returns (H, W, cout)."""
    h, w, cin = feat.shape
    g = np.stack([st.gmap[c][feat[..., c] - in_lo] for c in range(cin)], axis=-1).astype(np.int64)
    rows = st.seg[:, 0] + g - st.seg[:, 1]
    if st.kind == "dw":
        m = st.cout // cin
        pad, d = WINDOW_PADS[st.window], st.dilation
        padded = np.pad(rows, (pad, pad, (0, 0)), mode="reflect")
        acc = np.zeros((h, w, st.cout), np.int64)
        for k in range(9):
            i, j = divmod(k, 3)
            win = padded[d * i:d * i + h, d * j:d * j + w]  # tap k of every pixel's window
            for o in range(st.cout):
                acc[..., o] += st.table[k, win[..., o // m], o % m]
    else:
        acc = np.zeros((h, w, st.cout), np.int64)
        for c in range(cin):
            acc += st.table[0, rows[..., c]]
    out = rne_div(acc, st.divisor)
    if st.residual:
        out = out + g[..., np.arange(st.cout) * cin // st.cout]
    return np.clip(out, st.out_lo, st.out_hi)


def run_branches(spec: ModelSpec, x: np.ndarray) -> np.ndarray:
    """All branches on centred pixels x (H, W), merged: (H, W, scale**2) in -128..127."""
    y = 0
    for b in spec.branches:
        feat, lo = split_values(x, b.split, b.bits)[..., None], b.lo
        for st in b.stages:
            feat, lo = run_stage(st, feat, lo), st.out_lo
        y = y + feat
    return np.clip(y, -128, 127)


def pixel_shuffle(y: np.ndarray, s: int) -> np.ndarray:
    h, w, _ = y.shape
    return y.reshape(h, w, s, s).transpose(0, 2, 1, 3).reshape(h * s, w * s)


def restore_channel(spec: ModelSpec, image: np.ndarray) -> np.ndarray:
    """One uint8 channel (H, W) -> uint8 (H*scale, W*scale)."""
    x = image.astype(np.int64) - 128
    acc = 0
    for o in ORIENTATIONS[spec.rotations]:
        y = pixel_shuffle(run_branches(spec, orient(x, o)), spec.scale)
        acc = acc + np.clip(unorient(y, o), -128, 127)
    if spec.rotations == 8:  # halved: each orientation predicts about a quarter of the pixel
        acc = rne_div(acc, 2)
    return (np.clip(acc, -128, 127) + 128).astype(np.uint8)


def restore(spec: ModelSpec, image: np.ndarray) -> np.ndarray:
    """uint8 (H, W) or (H, W, C): every channel on its own, through every pass in turn."""
    for net in spec.networks:
        if image.ndim == 2:
            image = restore_channel(net, image)
        else:
            image = np.stack([restore_channel(net, image[..., c])
                              for c in range(image.shape[2])], -1)
    return image
