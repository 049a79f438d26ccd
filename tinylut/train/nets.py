"""TinyLUT networks assembled from the table-space layers (DESIGN.md section 1).

``TinyLUTS``: two branches (MSB: x >> 2 in -32..31, LSB: x & 3 in 0..3), each
DW -> Requant -> PW -> Requant -> UP; merge, pixel shuffle, rotation ensemble (sum of the four
rotations, no division). ``forward`` takes centred integer pixels and returns the exact integer
output of the baked model (as float tensors with straight-through gradients).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .layers import DW, PW, UP, Requant, window_taps

SPLIT_BITS = 2
BRANCHES = (("msb", -32, 31), ("lsb", 0, 3))


def split(x: torch.Tensor, name: str) -> torch.Tensor:
    """Branch input from centred pixels (long): MSB floor(x/4), LSB x mod 4."""
    return x >> SPLIT_BITS if name == "msb" else x & ((1 << SPLIT_BITS) - 1)


class SRBranch(nn.Module):
    def __init__(self, name: str, lo: int, hi: int, scale: int, channels: int = 16,
                 scale_init: float = 0.8):
        super().__init__()
        self.name, self.lo, self.hi = name, lo, hi
        self.dw = DW(lo, hi, channels)
        self.rq1 = Requant(lo, hi, channels, scale_init)
        self.pw = PW(lo, hi, channels)
        self.rq2 = Requant(lo, hi, channels, scale_init)
        self.up = UP(lo, hi, scale * scale, channels)

    def forward(self, taps: torch.Tensor, per_pixel: bool = False) -> torch.Tensor:
        """taps: (P, 9) long branch values of every pixel's window -> (P, scale^2)."""
        g1 = self.rq1(self.dw(taps))
        f2 = self.pw.per_pixel(g1) if per_pixel else self.pw(g1)
        g2 = self.rq2(f2)
        return self.up.per_pixel(g2) if per_pixel else self.up(g2)

    def scales(self) -> list[torch.Tensor]:
        return [self.rq1.scale, self.rq2.scale]


class TinyLUTS(nn.Module):
    """TinyLUT-S for x``scale`` super-resolution."""

    arch = "tinylut-s"
    task = "sr"

    def __init__(self, scale: int = 4, channels: int = 16, rotations: int = 4,
                 scale_init: float = 0.8):
        super().__init__()
        self.scale, self.rotations = scale, rotations
        self.branches = nn.ModuleList(SRBranch(n, lo, hi, scale, channels, scale_init)
                                      for n, lo, hi in BRANCHES)

    def ddm_scales(self) -> list[torch.Tensor]:
        return [s for b in self.branches for s in b.scales()]

    def forward(self, x: torch.Tensor, per_pixel: bool = False) -> torch.Tensor:
        """x: (B, H, W) centred integer pixels (long, -128..127) -> (B, sH, sW) float integers
        in -128..127, the exact output of the baked model."""
        if x.dtype != torch.long:
            x = x.to(torch.long)
        s = self.scale
        rots = {1: (0,), 2: (0, 2), 4: (0, 1, 2, 3)}[self.rotations]
        xr = [torch.rot90(x, r, (1, 2)) for r in rots]
        shapes = [t.shape for t in xr]
        y = 0
        for br in self.branches:
            taps = torch.cat([window_taps(split(t, br.name)) for t in xr])
            out = br(taps, per_pixel=per_pixel)
            y = out if isinstance(y, int) else y + out
        y = torch.clamp(y, -128, 127)
        acc, start = 0, 0
        for r, (b, h, w) in zip(rots, shapes):
            n = b * h * w
            yr = y[start:start + n].reshape(b, h, w, s, s).permute(0, 1, 3, 2, 4)
            yr = yr.reshape(b, h * s, w * s)
            acc = acc + torch.clamp(torch.rot90(yr, -r, (1, 2)), -128, 127)
            start += n
        return torch.clamp(acc, -128, 127)

    @torch.no_grad()
    def restore(self, img: np.ndarray) -> np.ndarray:
        """uint8 (H, W) or (H, W, C) -> uint8 upscaled, through the integer forward."""
        if img.ndim == 3:
            return np.stack([self.restore(np.ascontiguousarray(img[..., c]))
                             for c in range(img.shape[2])], -1)
        x = torch.from_numpy(img.astype(np.int64) - 128).unsqueeze(0)
        y = self.forward(x)[0]
        return (y.to(torch.int64) + 128).numpy().astype(np.uint8)


# ----------------------------------------------------------------------------- released weights

def load_official_state(net: TinyLUTS, state: dict) -> TinyLUTS:
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


def build_net(arch: str, task: str, scale: int, **kw) -> TinyLUTS:
    if arch == "tinylut-s" and task == "sr":
        return TinyLUTS(scale=scale, **kw)
    raise ValueError(f"unsupported arch/task {arch}/{task} (only tinylut-s sr for now)")
