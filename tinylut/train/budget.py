"""Table bytes of a network as baked, and a cap on the DDM scales that keeps them in a budget.

A table stage read through DDM scales a_c keeps, per input channel, the rows
``min_v rne(v a_c) .. max_v rne(v a_c)`` (``tinylut.model.requant_segments``), so its bytes are
``taps * rows * row_width`` and only the scales decide them. ``fit_budget`` caps every |a_c| of
the network at one common ceiling, the largest whose baked tables fit the budget (bisection;
bytes grow with every |a_c|): the largest scales shrink first, the others are untouched. The
trainer applies it after every optimizer step (a projection onto the budget), so every
checkpoint and every baked file fits.
"""
from __future__ import annotations

import numpy as np
import torch

from ..model import requant_segments
from .bake import branch_stages
from .dwfeat import FeatureDW


def _stage_rows_bytes(stage, a: np.ndarray | None) -> int:
    lo, hi = stage.lo, stage.hi
    if a is None:                                 # the first DW: its split values, 9 taps
        return 9 * (hi - lo + 1) * stage.channels
    seg = requant_segments(a, lo, hi)
    v = np.arange(lo, hi + 1, dtype=np.float32)
    top = np.round(v * a[-1]).max()
    rows = int(seg[-1, 0] + top - seg[-1, 1] + 1)
    if isinstance(stage, FeatureDW):
        return 9 * rows
    return rows * stage.mlp.widths[-1]


def _scaled(net) -> list[tuple[object, torch.Tensor | None]]:
    return [pair for br in net.branches for pair in branch_stages(br)]


def table_bytes(net, cap: float | None = None) -> int:
    """Bytes of the baked tables; with ``cap``: as if every |a_c| were at most cap."""
    total = 0
    for stage, scales in _scaled(net):
        a = None
        if scales is not None:
            a = scales.detach().cpu().numpy().astype(np.float32).reshape(-1)
            if cap is not None:
                a = (np.sign(a) * np.minimum(np.abs(a), np.float32(cap))).astype(np.float32)
        total += _stage_rows_bytes(stage, a)
    return total


@torch.no_grad()
def fit_budget(net, budget: int | None, iterations: int = 40) -> float | None:
    """Cap the scales so that the tables fit ``budget`` bytes; returns the cap, or None when
    they already fit (nothing changed). Raises ValueError if even all-zero scales do not fit."""
    if budget is None or table_bytes(net) <= budget:
        return None
    if table_bytes(net, 0.0) > budget:
        raise ValueError(f"the tables need {table_bytes(net, 0.0)} bytes even with every scale "
                         f"at 0: a budget of {budget} is too small for this architecture")
    lo = 0.0
    hi = max(float(s.abs().max()) for _, s in _scaled(net) if s is not None)
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        if table_bytes(net, mid) <= budget:
            lo = mid
        else:
            hi = mid
    for _, s in _scaled(net):
        if s is not None:
            s.copy_(torch.sign(s) * torch.clamp(s.abs(), max=lo))
    return lo
