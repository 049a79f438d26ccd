"""Random (untrained) models and the location of ../shared, for the tests."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from tinylut.model import (Branch, ModelSpec, Stage, identity_segments, requant_map,
                           requant_segments, split_range)

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path | None:
    """../shared beside the repository (or $TINYLUT_SHARED), if it is there."""
    path = Path(os.environ.get("TINYLUT_SHARED", REPO.parent / "shared"))
    return path if (path / "data").is_dir() else None


def need_shared(*parts: str) -> Path:
    """A path under ../shared, or skip the test with the reason."""
    root = shared_dir()
    if root is None:
        pytest.skip("../shared/data is not beside the repository (set TINYLUT_SHARED)")
    path = root.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is missing")
    return path


def random_stage(rng, kind, cin, cout, in_lo, in_hi, out_lo, out_hi, *, requant=True,
                 divisor=None, residual=True, centred=False, dilation=1) -> Stage:
    """A stage with random int8 tables and, if requant, random DDM scales."""
    if requant:
        scales = rng.uniform(-1.4, 1.4, cin).astype(np.float32)
        scales[rng.random(cin) < 0.2] = rng.uniform(-1e-3, 1e-3)  # near-0: 1-row segments
        gmap = requant_map(scales, in_lo, in_hi, in_lo, in_hi)
        seg = requant_segments(scales, in_lo, in_hi)
        rows = int(seg[-1, 0] + (np.round(np.arange(in_lo, in_hi + 1, dtype=np.float32)
                                          * scales[-1]).max() - seg[-1, 1]) + 1)
    else:
        scales = None
        gmap, seg = identity_segments(cin, in_lo, in_hi)
        rows = cin * (in_hi - in_lo + 1)
    taps, width = (9, cout // cin) if kind == "dw" else (1, cout)
    table = rng.integers(-128, 128, (taps, rows, width), dtype=np.int8)
    if divisor is None:
        divisor = 9 if kind == "dw" else cin
    return Stage(kind=kind, cin=cin, cout=cout, divisor=divisor,
                 residual=residual and cout % cin == 0, out_lo=out_lo, out_hi=out_hi,
                 table=table, gmap=gmap, seg=seg, scales=scales, centred=centred,
                 dilation=dilation)


def random_model(seed: int, *, scale: int = 4, layout=(("dw", 16), ("pw", 16)),
                 branches=(("msb", 2), ("lsb", 2)), rotations: int = 4,
                 divisors=None, residual: bool = True, task: str | None = None,
                 centred: bool | str = False, dilation: int | str = 1) -> ModelSpec:
    """Branches of `layout` stages (kind, cout) plus a final PW to scale**2 outputs.

    ``centred``: every DW stage's window is centred on its pixel; "alternate": every other
    DW stage (corner, centred, corner, ...: both kinds in one branch). ``dilation``: of every
    centred window (2: "dilated"), or "alternate": 2 for every other centred one (the first).

    The default is the TinyLUT-S shape: DW 1->16, PW 16->16, UP 16->16. ``task`` defaults to
    "denoise" at scale 1 (UP 16->1, no residual) and "sr" otherwise."""
    rng = np.random.default_rng(seed)
    out = []
    for bi, (split, bits) in enumerate(branches):
        lo, hi = split_range(split, bits)
        stages, cin, in_lo, in_hi, n_dw, n_centred = [], 1, lo, hi, 0, 0
        kinds = list(layout) + [("pw", scale * scale)]
        for si, (kind, cout) in enumerate(kinds):
            centre = kind == "dw" and (centred is True or (centred == "alternate" and n_dw % 2 == 1))
            n_dw += kind == "dw"
            dil = 1
            if centre:
                dil = dilation if dilation != "alternate" else 2 - n_centred % 2
                n_centred += 1
            last = si == len(kinds) - 1
            o_lo, o_hi = (-128, 127) if last else (lo, hi)
            div = None if divisors is None else divisors[(bi + si) % len(divisors)]
            stages.append(random_stage(rng, kind, cin, cout, in_lo, in_hi, o_lo, o_hi,
                                       requant=si > 0, divisor=div, residual=residual,
                                       centred=centre, dilation=dil))
            cin, in_lo, in_hi = cout, o_lo, o_hi
        out.append(Branch(name=f"{split}{bi}", split=split, bits=bits, stages=tuple(stages)))
    if task is None:
        task = "denoise" if scale == 1 else "sr"
    return ModelSpec(name=f"random-{seed}", arch="random", task=task, scale=scale,
                     branches=tuple(out), rotations=rotations)
