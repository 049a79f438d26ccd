"""Convert the authors' released TinyLUT-S x4 tables into a tinylut model (numpy only).

Released layout (see ../shared/data/official/tinylut_s_x4/README.md): DW tables of 9 taps x N
values x 16 channels; PW and UP tables of per-channel segments one after another; the DDM
scales in ``clip_scales.npz`` become the integer requantisation maps of the stages after DW."""
from __future__ import annotations

import os

import numpy as np

from .model import (Branch, ModelSpec, Stage, identity_segments, requant_map,
                    requant_segments, split_range, validate)

# (branch name, file suffix, scale key before PW, scale key before UP)
_BRANCHES = (("msb", "H6", "clip_hh1", "clip_hh2"), ("lsb", "L2", "clip_hl1", "clip_hl2"))
SPLIT_BITS = 2


def _load_table(folder: str, name: str, taps: int) -> np.ndarray:
    t = np.load(os.path.join(folder, name), allow_pickle=False)
    if t.dtype != np.int8 or t.ndim != 4 or t.shape[1] != 16:
        raise ValueError(f"{name}: unexpected table {t.shape} {t.dtype}")
    return np.ascontiguousarray(t.reshape(taps, -1, 16))


def requant_stage(kind: str, table: np.ndarray, scales: np.ndarray, lo: int, hi: int,
                  out_lo: int, out_hi: int) -> Stage:
    """A PW/UP stage reading a requantised 16-channel input with values in lo..hi."""
    scales = np.asarray(scales, np.float32).reshape(-1)
    return Stage(kind=kind, cin=16, cout=16, divisor=16, residual=True, out_lo=out_lo,
                 out_hi=out_hi, table=table, gmap=requant_map(scales, lo, hi, lo, hi),
                 seg=requant_segments(scales, lo, hi), scales=scales)


def import_official(folder: str) -> ModelSpec:
    scales = np.load(os.path.join(folder, "clip_scales.npz"), allow_pickle=False)
    branches = []
    for name, suffix, key1, key2 in _BRANCHES:
        split = name
        lo, hi = split_range(split, SPLIT_BITS)
        gmap, seg = identity_segments(1, lo, hi)
        dw = Stage(kind="dw", cin=1, cout=16, divisor=9, residual=True, out_lo=lo, out_hi=hi,
                   table=_load_table(folder, f"Model_V_L1_Depth_x4_{suffix}.npy", 9),
                   gmap=gmap, seg=seg)
        pw = requant_stage("pw", _load_table(folder, f"Model_V_L1_Point_x4_{suffix}.npy", 1),
                           scales[key1], lo, hi, lo, hi)
        up = requant_stage("pw", _load_table(folder, f"Model_V_UP_x4_{suffix}.npy", 1),
                           scales[key2], lo, hi, -128, 127)
        branches.append(Branch(name=name, split=split, bits=SPLIT_BITS, stages=(dw, pw, up)))
    spec = ModelSpec(name="tinylut-s-x4-official", arch="tinylut-s", task="sr", scale=4,
                     branches=tuple(branches), rotations=4,
                     meta={"source": "released TinyLUT-S x4 tables (Li et al., NeurIPS 2024)"})
    return validate(spec)
