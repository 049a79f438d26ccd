"""Bake a trained network into a tinylut model file (``tinylut.model``).

Every table is the network's function of one integer, so baking is exact: the rows the runtime
can reach are the very grid tables the training forward gathers from (same tensors, same
float operations), and the file reproduces the training network's integer output bit for bit.

Segment layout of PW/UP tables follows the released model (``requant_segments``): channel c
keeps rows for ``rne(v * a_c)`` over the whole input range *before* the clamp, so a scale above
1 adds rows the runtime never reaches; they are filled with the MLP's value there, as the
authors' transfer script does.
"""
from __future__ import annotations

import os

import numpy as np
import torch

from ..model import (Branch, ModelSpec, Stage, identity_segments, requant_map,
                     requant_segments, validate, write_model)
from .layers import PointTable
from .nets import SPLIT_BITS, TinyLUTS


def _int8(t: torch.Tensor) -> np.ndarray:
    a = t.detach().cpu().numpy()
    if not np.array_equal(a, np.round(a)) or a.min() < -128 or a.max() > 127:
        raise ValueError("table values are not int8 integers")
    return a.astype(np.int8)


def _point_stage(stage: PointTable, scales: torch.Tensor) -> Stage:
    lo, hi = stage.lo, stage.hi
    a = scales.detach().cpu().numpy().astype(np.float32).reshape(-1)
    seg = requant_segments(a, lo, hi)
    grid = _int8(stage.table())                                      # (C, N, out)
    rows = []
    for c in range(stage.channels):
        m = int(seg[c, 1])
        values = np.round(np.arange(lo, hi + 1, dtype=np.float32) * a[c]).astype(np.int64)
        top = int(values.max())
        vals = np.arange(m, top + 1)
        block = np.empty((vals.size, grid.shape[2]), np.int8)
        inside = (vals >= lo) & (vals <= hi)
        block[inside] = grid[c, vals[inside] - lo]
        if (~inside).any():
            extra = stage.table_at(torch.as_tensor(vals[~inside], dtype=torch.float32))
            block[~inside] = _int8(extra[c])
        if int(seg[c, 0]) != sum(len(r) for r in rows):
            raise AssertionError("segment layout mismatch")
        rows.append(block)
    table = np.concatenate(rows)[None]
    return Stage(kind="pw", cin=stage.channels, cout=grid.shape[2], divisor=16, residual=True,
                 out_lo=stage.out_lo, out_hi=stage.out_hi, table=table,
                 gmap=requant_map(a, lo, hi, lo, hi), seg=seg, scales=a)


@torch.no_grad()
def bake(net: TinyLUTS, name: str = "tinylut-s-x4", meta: dict | None = None) -> ModelSpec:
    branches = []
    for br in net.branches:
        lo, hi = br.lo, br.hi
        gmap, seg = identity_segments(1, lo, hi)
        dw = Stage(kind="dw", cin=1, cout=br.dw.channels, divisor=9, residual=True,
                   out_lo=lo, out_hi=hi, table=_int8(br.dw.table()), gmap=gmap, seg=seg)
        pw = _point_stage(br.pw, br.rq1.scale)
        up = _point_stage(br.up, br.rq2.scale)
        branches.append(Branch(name=br.name, split=br.name, bits=SPLIT_BITS,
                               stages=(dw, pw, up)))
    spec = ModelSpec(name=name, arch=net.arch, task=net.task, scale=net.scale,
                     branches=tuple(branches), rotations=net.rotations, meta=dict(meta or {}))
    return validate(spec)


def bake_to_file(net: TinyLUTS, path: str | os.PathLike, **kw) -> ModelSpec:
    spec = bake(net, **kw)
    write_model(spec, path)
    return spec
