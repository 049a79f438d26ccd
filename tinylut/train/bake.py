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
from .dwfeat import FeatureDW
from .layers import PointTable
from .nets import SPLIT_BITS, TinyLUT


def _int8(t: torch.Tensor) -> np.ndarray:
    a = t.detach().cpu().numpy()
    if not np.array_equal(a, np.round(a)) or a.min() < -128 or a.max() > 127:
        raise ValueError("table values are not int8 integers")
    return a.astype(np.int8)


def _rows_at(stage, values: np.ndarray) -> np.ndarray:
    """int8 (C, len, taps, width): every channel's table rows at the given input values."""
    v = torch.as_tensor(values, dtype=torch.float32)
    if isinstance(stage, PointTable):
        return _int8(stage.table_at(v))[:, :, None, :]
    if isinstance(stage, FeatureDW):
        return _int8(stage.table_at(v)).transpose(2, 1, 0)[..., None]
    raise TypeError(f"cannot bake a {type(stage).__name__}")


def _segmented_stage(stage, scales: torch.Tensor) -> Stage:
    """A table stage read through DDM scales: per channel, rows for rne(v * a_c) over the
    whole input range before the clamp (the released layout)."""
    lo, hi, channels = stage.lo, stage.hi, stage.channels
    a = scales.detach().cpu().numpy().astype(np.float32).reshape(-1)
    seg = requant_segments(a, lo, hi)
    grid = _rows_at(stage, np.arange(lo, hi + 1))                  # (C, N, taps, width)
    rows = []
    for c in range(channels):
        m = int(seg[c, 1])
        values = np.round(np.arange(lo, hi + 1, dtype=np.float32) * a[c]).astype(np.int64)
        vals = np.arange(m, int(values.max()) + 1)
        block = np.empty((vals.size,) + grid.shape[2:], np.int8)
        inside = (vals >= lo) & (vals <= hi)
        block[inside] = grid[c, vals[inside] - lo]
        if (~inside).any():
            block[~inside] = _rows_at(stage, vals[~inside])[c]
        if int(seg[c, 0]) != sum(len(r) for r in rows):
            raise AssertionError("segment layout mismatch")
        rows.append(block)
    table = np.ascontiguousarray(np.concatenate(rows).transpose(1, 0, 2))  # (taps, rows, w)
    centred, dilation = False, 1
    if isinstance(stage, FeatureDW):
        kind, cout, divisor, residual = "dw", channels, 9, True
        out_lo, out_hi, centred, dilation = lo, hi, stage.centred, stage.dilation
    else:
        kind, cout, divisor, residual = "pw", table.shape[2], 16, stage.residual
        out_lo, out_hi = stage.out_lo, stage.out_hi
    return Stage(kind=kind, cin=channels, cout=cout, divisor=divisor, residual=residual,
                 out_lo=out_lo, out_hi=out_hi, table=table,
                 gmap=requant_map(a, lo, hi, lo, hi), seg=seg, scales=a, centred=centred,
                 dilation=dilation)


def branch_stages(br) -> list[tuple[object, torch.Tensor | None]]:
    """The table stages of a branch in order, each with the DDM scales that feed it (None for
    the first DW, which reads the split pixels unchanged)."""
    out = [(br.dw, None), (br.pw, br.rq1.scale)]
    for blk in br.blocks:
        out.append((blk.dw, blk.rqd.scale))
        if blk.pw is not None:      # (a DW-only block has none)
            out.append((blk.pw, blk.rqp.scale))
    return out + [(br.up, br.rq2.scale)]


@torch.no_grad()
def bake(net: TinyLUT, name: str = "tinylut-s-x4", meta: dict | None = None) -> ModelSpec:
    branches = []
    for br in net.branches:
        lo, hi = br.lo, br.hi
        gmap, seg = identity_segments(1, lo, hi)
        stages = [Stage(kind="dw", cin=1, cout=br.dw.channels, divisor=9, residual=True,
                        out_lo=lo, out_hi=hi, table=_int8(br.dw.table()), gmap=gmap, seg=seg)]
        stages += [_segmented_stage(st, a) for st, a in branch_stages(br)[1:]]
        branches.append(Branch(name=br.name, split=br.name, bits=SPLIT_BITS,
                               stages=tuple(stages)))
    spec = ModelSpec(name=name, arch=net.arch, task=net.task, scale=net.scale,
                     branches=tuple(branches), rotations=net.rotations, meta=dict(meta or {}))
    return validate(spec)


def bake_to_file(net: TinyLUT, path: str | os.PathLike, **kw) -> ModelSpec:
    spec = bake(net, **kw)
    write_model(spec, path)
    return spec
