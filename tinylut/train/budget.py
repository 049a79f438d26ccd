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

from .bake import branch_stages
from .dwfeat import FeatureDW


class _Layout:
    """The byte count of a network's tables as a function of its DDM scales, vectorised:
    per scaled stage, bytes = per_row * sum_c rows_c with
    rows_c = rne(hi |a_c|) + rne(-lo |a_c|) + 1 (lo <= 0 <= hi: rne(v a) is monotone in v, so
    its range over lo..hi is rne(lo a)..rne(hi a) for a >= 0 and mirrored for a < 0; float32
    products, as ``requant_segments``), plus the fixed bytes of the first DW stages."""

    def __init__(self, net):
        self.fixed, self.scales, his, los, per_row = 0, [], [], [], []
        for stage, scales in (p for br in net.branches for p in branch_stages(br)):
            lo, hi = stage.lo, stage.hi
            if scales is None:                     # the first DW: its split values, 9 taps
                self.fixed += 9 * (hi - lo + 1) * stage.channels
                continue
            if lo > 0 or hi < 0:
                raise ValueError(f"value range {lo}..{hi} does not contain 0")
            n = scales.numel()
            self.scales.append(scales)
            his.append(np.full(n, hi, np.float32))
            los.append(np.full(n, -lo, np.float32))
            per_row.append(np.full(n, 9 if isinstance(stage, FeatureDW)
                                   else stage.outputs, np.int64))
        self.hi, self.lo = np.concatenate(his), np.concatenate(los)
        self.per_row = np.concatenate(per_row)

    def abs_scales(self) -> np.ndarray:
        return np.abs(torch.cat([s.detach().reshape(-1) for s in self.scales])
                      .cpu().numpy().astype(np.float32))

    def bytes(self, a: np.ndarray, cap: float | None = None) -> int:
        if cap is not None:
            a = np.minimum(a, np.float32(cap))
        rows = np.round(self.hi * a) + np.round(self.lo * a) + 1
        return self.fixed + int(np.dot(rows.astype(np.int64), self.per_row))


def table_bytes(net, cap: float | None = None) -> int:
    """Bytes of the baked tables; with ``cap``: as if every |a_c| were at most cap."""
    layout = _Layout(net)
    return layout.bytes(layout.abs_scales(), cap)


@torch.no_grad()
def fit_budget(net, budget: int | None, iterations: int = 40) -> float | None:
    """Cap the scales so that the tables fit ``budget`` bytes; returns the cap, or None when
    they already fit (nothing changed). Raises ValueError if even all-zero scales do not fit."""
    if budget is None:
        return None
    layout = _Layout(net)
    a = layout.abs_scales()
    if layout.bytes(a) <= budget:
        return None
    if layout.bytes(a, 0.0) > budget:
        raise ValueError(f"the tables need {layout.bytes(a, 0.0)} bytes even with every scale "
                         f"at 0: a budget of {budget} is too small for this architecture")
    lo, hi = 0.0, float(a.max())
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        if layout.bytes(a, mid) <= budget:
            lo = mid
        else:
            hi = mid
    for s in layout.scales:
        s.copy_(torch.sign(s) * torch.clamp(s.abs(), max=lo))
    return lo
