"""TinyLUT networks assembled from the table-space layers (DESIGN.md sections 1 and 3).

Two branches (MSB: x >> 2 in -32..31, LSB: x & 3 in 0..3); each runs
``DW -> Requant -> PW -> [Requant -> DW -> Requant -> PW] x blocks -> Requant -> UP``; the
branches are added, pixel-shuffled and summed over the four rotations (no division; or over
all eight orientations, ``rotations=8``, the sum halved: ``model.ORIENTATIONS``).
``forward`` takes centred integer pixels and returns the exact integer output of the baked
model (as float tensors with straight-through gradients).

Architectures (``ARCHS``; storage per stage in docs/tinylut-f.md):

* ``tinylut-s``: no extra block in either branch (the released TinyLUT-S).
* ``tinylut-f``: ``blocks`` DW+PW blocks of 16 channels in the MSB branch (DESIGN.md section
  3); each adds 2 pixels up and left to the window of one rotation, or, with
  ``centred_blocks``, 1 pixel on every side (the block sees both sides of the pixel within one
  rotation, so what lies on either side is combined by the tables, not only by the sum of
  the rotations).

``msb_tail_dw`` appends that many DW-only blocks (Requant -> DW, no PW) to the MSB blocks: the
window grows as with a block, for the 9 KB of a DW's tables instead of a block's 25 KB.

``msb_channels`` widens the MSB branch (16 features by default, as the paper): every MSB stage
then has that many features, and its UP, with more inputs than outputs, no residual.

Tasks: ``sr`` (UP has scale^2 outputs, each with the residual of its own channel) and
``denoise`` (scale 1: UP has one output; no channel can be its residual, so the UP tables carry
the skip instead: ``T_c[v] = rne(clamp(MLP_c(v) + v))`` and the branch starts as the mean of
its 16 requantised features; the four rotations add up to the clean pixel, as in SR).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..model import MAX_STAGES, ORIENTATIONS
from .dwfeat import FeatureDW, window_index
from .layers import DW, PW, UP, Requant, round_add_clamp

SPLIT_BITS = 2
BRANCHES = (("msb", -32, 31), ("lsb", 0, 3))
BLOCK_SCALE_INIT = 1.0


@dataclass(frozen=True)
class Arch:
    name: str
    msb_blocks: int        # extra DW+PW blocks in the MSB branch
    lsb_blocks: int
    table_budget: int | None   # bytes of tables at most (enforced on the DDM scales)


# Budgets: the paper's sizes, read as 1000-byte KB so that they hold under either reading.
ARCHS = {
    ("tinylut-s", "sr"): Arch("tinylut-s", 0, 0, 38_000),
    ("tinylut-s", "denoise"): Arch("tinylut-s", 0, 0, 22_000),
    ("tinylut-f", "sr"): Arch("tinylut-f", 4, 0, 171_000),
    ("tinylut-f", "denoise"): Arch("tinylut-f", 5, 0, 187_000),
}


def split(x: torch.Tensor, name: str) -> torch.Tensor:
    """Branch input from centred pixels (long): MSB floor(x/4), LSB x mod 4."""
    return x >> SPLIT_BITS if name == "msb" else x & ((1 << SPLIT_BITS) - 1)


_MERGES: dict = {}


def orient(x: torch.Tensor, o: int) -> torch.Tensor:
    """Orientation o (``model.ORIENTATIONS``) of (B, H, W) images: rotation o of them, or
    rotation o - 4 of their transposes."""
    return torch.rot90(x if o < 4 else x.transpose(1, 2), o % 4, (1, 2))


def unorient(y: torch.Tensor, o: int) -> torch.Tensor:
    """The inverse of ``orient``."""
    y = torch.rot90(y, -(o % 4), (1, 2))
    return y if o < 4 else y.transpose(1, 2)


def merge_index(geom, rots, s: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Where every output pixel finds its orientation outputs in the flattened (P, s*s) branch
    output: (R, B*sH*sW) long (pixel shuffle, then orientation back, per orientation), and the
    inverse: the output pixel of every branch output value (cached per geometry)."""
    key = (tuple(geom), tuple(rots), s)
    if key not in _MERGES:
        if len(_MERGES) > 32:
            _MERGES.clear()
        ids, start = [], 0
        for r, (b, h, w) in zip(rots, geom):
            n = b * h * w * s * s
            yr = torch.arange(start, start + n).reshape(b, h, w, s, s).permute(0, 1, 3, 2, 4)
            ids.append(unorient(yr.reshape(b, h * s, w * s), r).reshape(-1))
            start += n
        idx = torch.stack(ids)
        inv = torch.empty(start, dtype=torch.long)
        inv[idx.reshape(-1)] = torch.arange(idx.shape[1]).repeat(len(rots))
        _MERGES[key] = idx, inv
    return _MERGES[key]


class MergeRotations(torch.autograd.Function):
    """``out = clamp(sum_r y[idx[r]], -128, 127)`` with y the clamped branch sum, flattened;
    with ``halve`` (eight orientations) the sum is halved first, rounded half to even.

    Every value of y is one output pixel of one rotation (a permutation): the forward is one
    gather, the backward one gather by the inverse, where autograd of the shuffles, rotations
    and slices took ~5% of a TinyLUT-F step. The per-rotation clamp of section 1 is the
    identity here (y is already clamped) and is left out."""

    @staticmethod
    def forward(ctx, y, idx, inv, shape, halve=False):
        acc = y.reshape(-1).index_select(0, idx.reshape(-1)).view(idx.shape).sum(0)
        if halve:   # integers / 2 in float32: exact, and torch.round is half to even
            acc = torch.round(acc * 0.5)
        out = torch.clamp(acc, -128, 127)
        ctx.save_for_backward(torch.eq(out, acc, out=acc), inv)
        ctx.y_shape, ctx.gain = y.shape, 0.5 if halve else 1.0
        return out.view(shape)

    @staticmethod
    def backward(ctx, grad):
        mask, inv = ctx.saved_tensors
        g = grad.reshape(-1) * mask
        if ctx.gain != 1.0:
            g = g * ctx.gain
        return g.index_select(0, inv).view(ctx.y_shape), None, None, None, None


class Block(nn.Module):
    """Requant -> DW (3x3 over the 16 features) -> Requant -> PW.

    A block starts as the identity: its DW taps and the last layer of its PW MLPs are zero, so
    both stages pass their residual through (and the scales start at 1). Started like the
    first DW (taps 1, a box filter plus the residual: twice the input) and with random MLPs,
    every block doubled the features and added noise of their size, and five blocks saturated
    them: a pilot run stayed worse than its noisy input."""

    def __init__(self, lo: int, hi: int, channels: int, scale_init: float,
                 centred: bool = False, pw: bool = True, dilation: int = 1):
        super().__init__()
        self.rqd = Requant(lo, hi, channels, scale_init)
        self.dw = FeatureDW(lo, hi, channels, centred, dilation)
        # pw=False: a DW-only block (Requant -> DW), a wider window for 9 KB instead of 25 KB
        self.rqp = Requant(lo, hi, channels, scale_init) if pw else None
        self.pw = PW(lo, hi, channels) if pw else None
        with torch.no_grad():
            self.dw.weight.zero_()
            if pw:
                self.pw.mlp.weights[-1].zero_()

    def forward(self, f: torch.Tensor, geom, per_pixel: bool) -> torch.Tensor:
        g = self.dw(self.rqd(f), geom)
        if self.pw is None:
            return g
        g = self.rqp(g)
        return self.pw.per_pixel(g) if per_pixel else self.pw(g)

    def scales(self) -> list[torch.Tensor]:
        return [self.rqd.scale] + ([self.rqp.scale] if self.pw is not None else [])


class LUTBranch(nn.Module):
    def __init__(self, name: str, lo: int, hi: int, outputs: int, channels: int = 16,
                 scale_init: float = 0.8, blocks: int = 0, up_skip: bool = False,
                 centred_blocks: bool = False, tail_dw: int = 0,
                 dilations: tuple[int, ...] | None = None):
        super().__init__()
        self.name, self.lo, self.hi = name, lo, hi
        # one per block, the DW-only ones last (default 1)
        d = tuple(dilations) if dilations else (1,) * (blocks + tail_dw)
        self.dw = DW(lo, hi, channels)
        self.rq1 = Requant(lo, hi, channels, scale_init)
        self.pw = PW(lo, hi, channels)
        # block scales start at 1 (no requantisation loss): ten requantisations at 0.8 would
        # shrink the MSB features to a tenth, a handful of levels, before training starts
        self.blocks = nn.ModuleList(
            [Block(lo, hi, channels, BLOCK_SCALE_INIT, centred_blocks, dilation=d[i])
             for i in range(blocks)]
            + [Block(lo, hi, channels, BLOCK_SCALE_INIT, centred_blocks, pw=False,
                     dilation=d[blocks + i]) for i in range(tail_dw)])
        self.rq2 = Requant(lo, hi, channels, scale_init)
        self.up = UP(lo, hi, outputs, channels, skip=up_skip)

    def forward(self, taps: torch.Tensor, geom=None, per_pixel: bool = False) -> torch.Tensor:
        """taps: (P, 9) long branch values of every pixel's window, geom: how P splits into
        images (``dwfeat.Geometry``, needed with blocks) -> (P, outputs)."""
        g1 = self.rq1(self.dw(taps))
        f = self.pw.per_pixel(g1) if per_pixel else self.pw(g1)
        for blk in self.blocks:
            f = blk(f, geom, per_pixel)
        g2 = self.rq2(f)
        return self.up.per_pixel(g2) if per_pixel else self.up(g2)

    def scales(self) -> list[torch.Tensor]:
        return [self.rq1.scale] + [s for b in self.blocks for s in b.scales()] + \
            [self.rq2.scale]


class TinyLUT(nn.Module):
    """A TinyLUT network for ``task`` ("sr" at x``scale``, or "denoise" at scale 1)."""

    def __init__(self, arch: str = "tinylut-s", task: str = "sr", scale: int = 4,
                 channels: int = 16, rotations: int = 4, scale_init: float = 0.8,
                 msb_blocks: int | None = None, lsb_blocks: int | None = None,
                 centred_blocks: bool = False, msb_channels: int | None = None,
                 msb_tail_dw: int = 0, block_dilation: tuple[int, ...] | None = None):
        super().__init__()
        if (arch, task) not in ARCHS:
            raise ValueError(f"unknown architecture/task {arch}/{task}; "
                             f"known: {', '.join('/'.join(k) for k in ARCHS)}")
        if task == "denoise" and scale != 1:
            raise ValueError(f"denoising runs at scale 1, got scale {scale}")
        if task == "sr" and not 2 <= scale <= 8:
            raise ValueError(f"super-resolution scale must be 2..8, got {scale}")
        spec = ARCHS[(arch, task)]
        self.arch, self.task, self.scale, self.rotations = arch, task, scale, rotations
        self.centred_blocks = centred_blocks
        # features of the MSB branch (the LSB branch keeps ``channels``): a wider MSB branch's
        # UP has more inputs than outputs, so it has no residual
        self.msb_channels = channels if msb_channels is None else msb_channels
        width = {"msb": self.msb_channels, "lsb": channels}
        self.table_budget = spec.table_budget
        blocks = {"msb": spec.msb_blocks if msb_blocks is None else msb_blocks,
                  "lsb": spec.lsb_blocks if lsb_blocks is None else lsb_blocks}
        tails = {"msb": msb_tail_dw, "lsb": 0}
        for name in blocks:      # DW, PW, 2 per block, 1 per DW-only block, UP
            stages = 3 + 2 * blocks[name] + tails[name]
            if min(blocks[name], tails[name]) < 0 or stages > MAX_STAGES:
                raise ValueError(f"{name} branch: {blocks[name]} blocks and {tails[name]} "
                                 f"DW-only blocks make {stages} stages; a model file allows "
                                 f"{MAX_STAGES}")
        # the MSB blocks' DW dilations (a dilated window is centred; model.WINDOWS)
        self.block_dilation = tuple(block_dilation) if block_dilation else None
        if self.block_dilation is not None:
            n = blocks["msb"] + tails["msb"]
            if len(self.block_dilation) != n or not set(self.block_dilation) <= {1, 2}:
                raise ValueError(f"block dilations {list(self.block_dilation)}: expected {n} "
                                 f"values of 1 or 2, one per MSB block")
            if 2 in self.block_dilation and not centred_blocks:
                raise ValueError("a dilated block window is centred: it needs centred blocks")
        self.branches = nn.ModuleList(
            LUTBranch(n, lo, hi, scale * scale, width[n], scale_init, blocks[n],
                      up_skip=task == "denoise", centred_blocks=centred_blocks,
                      tail_dw=tails[n], dilations=self.block_dilation if n == "msb" else None)
            for n, lo, hi in BRANCHES)

    def ddm_scales(self) -> list[torch.Tensor]:
        return [s for b in self.branches for s in b.scales()]

    def free_tables(self, block_dw: bool = False) -> "TinyLUT":
        """LUT fine-tuning: from now on the tables of the first DW, PW and UP stages are the
        parameters themselves (``layers.PointTable.free_tables``); the function is unchanged by
        the switch. ``block_dw``: the per-channel DW tables of the F blocks too (otherwise they
        stay products, their input gradient from the weights). May be called again to add the
        block DWs."""
        for br in self.branches:
            for stage in (br.dw, br.pw, *(b.pw for b in br.blocks if b.pw is not None), br.up):
                stage.free_tables()
            if block_dw:
                for blk in br.blocks:
                    blk.dw.free_tables()
        return self

    @property
    def tables_free(self) -> bool:
        return self.branches[0].pw.free is not None

    @property
    def block_dw_free(self) -> bool:
        """Whether the F blocks' DW tables are free (False when there are no blocks)."""
        return any(blk.dw.free is not None for br in self.branches for blk in br.blocks)

    def forward(self, x: torch.Tensor, per_pixel: bool = False) -> torch.Tensor:
        """x: (B, H, W) centred integer pixels (long, -128..127) -> (B, sH, sW) float integers
        in -128..127, the exact output of the baked model."""
        if x.dtype != torch.long:
            x = x.to(torch.long)
        s = self.scale
        rots = ORIENTATIONS[self.rotations]
        xr = [orient(x, o) for o in rots]
        geom = tuple(tuple(t.shape) for t in xr)
        win = window_index(geom, x.device)
        # index_select: ~3x faster than advanced indexing for these gathers
        msb, lsb = (br(torch.cat([split(t, br.name).reshape(-1) for t in xr])
                       .index_select(0, win.view(-1)).view(-1, 9), geom, per_pixel=per_pixel)
                    for br in self.branches)
        y = round_add_clamp(msb, lsb, -128, 127)       # integers: the rounding is exact
        b, h, w = x.shape
        return MergeRotations.apply(y, *merge_index(geom, rots, s), (b, h * s, w * s),
                                    self.rotations == 8)

    @torch.no_grad()
    def restore(self, img: np.ndarray) -> np.ndarray:
        """uint8 (H, W) or (H, W, C) -> uint8 restored, through the integer forward."""
        if img.ndim == 3:
            return np.stack([self.restore(np.ascontiguousarray(img[..., c]))
                             for c in range(img.shape[2])], -1)
        x = torch.from_numpy(img.astype(np.int64) - 128).unsqueeze(0)
        y = self.forward(x)[0]
        return (y.to(torch.int64) + 128).numpy().astype(np.uint8)


class TinyLUTS(TinyLUT):
    """TinyLUT-S for x``scale`` super-resolution."""

    def __init__(self, scale: int = 4, channels: int = 16, rotations: int = 4,
                 scale_init: float = 0.8):
        super().__init__("tinylut-s", "sr", scale, channels, rotations, scale_init)


# ----------------------------------------------------------------------------- released weights

def load_official_state(net: TinyLUT, state: dict) -> TinyLUT:
    """Load the released network's weights (``network_state.npz`` names) into ``net``.

    Released names: ``depthconv1.weight{k}1`` (MSB) / ``weight{k}11`` (LSB), k = 1..9 with a
    mask selecting window position k-1; ``pointconv1.HConv.{c}.conv{i}`` / ``LConv`` (PW MLPs),
    ``upconv.HConv.{c}.conv{i}`` (UP MLPs), ``clip_hh1/2`` (MSB scales), ``clip_hl1/2`` (LSB)."""
    def arr(key):
        return torch.as_tensor(np.asarray(state[key], np.float32))

    with torch.no_grad():
        for br, code, suffix in ((net.branches[0], "H", "1"), (net.branches[1], "L", "11")):
            w = torch.zeros(9, br.dw.channels)
            for k in range(9):
                wk = arr(f"depthconv1.weight{k + 1}{suffix}") * arr(f"depthconv1.mask{k + 1}{suffix}")
                w[k] = wk.reshape(-1, 9)[:, k]
            br.dw.weight.copy_(w)
            br.rq1.scale.copy_(arr(f"clip_h{code.lower()}1").reshape(-1))
            br.rq2.scale.copy_(arr(f"clip_h{code.lower()}2").reshape(-1))
            for stage, prefix in ((br.pw, "pointconv1"), (br.up, "upconv")):
                bank = stage.mlp
                for i in range(len(bank.weights)):
                    ws = torch.stack([arr(f"{prefix}.{code}Conv.{c}.conv{i + 1}.weight")
                                      for c in range(bank.channels)])
                    bs = torch.stack([arr(f"{prefix}.{code}Conv.{c}.conv{i + 1}.bias")
                                      for c in range(bank.channels)])
                    bank.weights[i].copy_(ws.reshape(bank.weights[i].shape))
                    bank.biases[i].copy_(bs)
    return net


def build_net(arch: str, task: str, scale: int | None = None, **kw) -> TinyLUT:
    """The network of an architecture and task (scale: 4 for sr, 1 for denoise by default)."""
    if scale is None:
        scale = 1 if task == "denoise" else 4
    return TinyLUT(arch, task, scale, **kw)
