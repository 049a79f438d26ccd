"""The released TinyLUT-S x4 inference as its authors run it at test time, in PyTorch, for timing.

The authors' test script (Jonas-KD/TinyLUT, ``test_TinyLUT.py``) keeps the tables as float32
tensors and, for each of the four rotations, runs the whole network on the rotated, padded
image: the 9 DW taps become one (pixels, 9) index tensor whose rows are gathered and summed;
PW and UP loop over the 16 input channels in Python, work out each channel's table segment from
its DDM scale on every call, gather a (pixels, 16) block per channel and add the blocks up.
This module does the same operations in the same order (written here, not copied), so
``tools/bench.py --torch-released`` times what the issue calls "the PyTorch forward of the same
model, the way the released code runs it". ``released_restore`` returns the uint8 image, which
the benchmark checks against tinylut on the same tables: a timing of a wrong forward is no
timing at all.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

TABLES = {  # (branch, stage) -> released file
    ("msb", "dw"): "Model_V_L1_Depth_x4_H6.npy", ("lsb", "dw"): "Model_V_L1_Depth_x4_L2.npy",
    ("msb", "pw"): "Model_V_L1_Point_x4_H6.npy", ("lsb", "pw"): "Model_V_L1_Point_x4_L2.npy",
    ("msb", "up"): "Model_V_UP_x4_H6.npy", ("lsb", "up"): "Model_V_UP_x4_L2.npy",
}
RANGES = {"msb": (-32, 31), "lsb": (0, 3)}
SCALES = {("msb", 1): "clip_hh1", ("msb", 2): "clip_hh2", ("lsb", 1): "clip_hl1", ("lsb", 2): "clip_hl2"}


class ReleasedTinyLUTS:
    def __init__(self, folder: str | Path):
        folder = Path(folder)
        self.tab = {k: torch.from_numpy(np.load(folder / f).astype(np.float32).reshape(-1, 16))
                    for k, f in TABLES.items()}
        clips = np.load(folder / "clip_scales.npz")
        self.scale = {k: torch.from_numpy(clips[name].astype(np.float32)).reshape(1, 16, 1, 1)
                      for k, name in SCALES.items()}

    def _dw(self, table: torch.Tensor, x: torch.Tensor, lo: int, n: int) -> torch.Tensor:
        h, w = x.shape[2] - 2, x.shape[3] - 2
        taps = [x[:, :, i:i + h, j:j + w].unsqueeze(-1) - lo + (3 * i + j) * n
                for i in range(3) for j in range(3)]
        idx = torch.cat(taps, -1).round().long()
        rows = table[idx.flatten()].reshape(*x.shape[:2], h, w, 9, 16).clamp(-128, 127)
        return torch.round(rows.sum(-2) / 9.0)                       # (B, 1, h, w, 16)

    def _per_channel(self, table: torch.Tensor, g: torch.Tensor, scale: torch.Tensor,
                     lo: int, hi: int) -> torch.Tensor:
        out, start = [], 0
        for c in range(16):
            # the channel's segment: the values rne(v * a_c) takes, found on every call
            vals = torch.round(torch.arange(lo, hi + 1) * scale[0, c, 0, 0].item()).unique()
            first = torch.arange(int(vals.min()), int(vals.max()) + 1)
            idx = (g[:, c] - first.min()).round().flatten().long()
            seg = table[start:start + first.numel()]
            out.append(seg[idx].reshape(*g[:, c].shape, 16).clamp(-128, 127))
            start += first.numel()
        return torch.round(sum(out) / 16.0)                           # (B, h, w, 16)

    def _branch(self, x: torch.Tensor, b: str) -> torch.Tensor:
        lo, hi = RANGES[b]
        f = self._dw(self.tab[(b, "dw")], x, lo, hi - lo + 1)[:, 0].permute(0, 3, 1, 2)
        f = (f + x[:, :, 2:, 2:]).clamp(lo, hi)
        g1 = torch.round(f * self.scale[(b, 1)]).clamp(lo, hi)
        p = self._per_channel(self.tab[(b, "pw")], g1, self.scale[(b, 1)], lo, hi)
        f2 = (p.permute(0, 3, 1, 2) + g1).clamp(lo, hi)
        g2 = torch.round(f2 * self.scale[(b, 2)]).clamp(lo, hi)
        u = self._per_channel(self.tab[(b, "up")], g2, self.scale[(b, 2)], lo, hi).clamp(-128, 127)
        return (u.permute(0, 3, 1, 2) + g2).clamp(-128, 127)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, 1, H + 2, W + 2) centred pixels padded 2 on the top and left -> (B, 1, 4H, 4W)."""
        lsb, msb = torch.remainder(x, 4).float(), torch.div(x, 4, rounding_mode="floor").float()
        y = (self._branch(msb, "msb") + self._branch(lsb, "lsb")).clamp(-128, 127)
        return F.pixel_shuffle(y, 4)


def released_restore(net: ReleasedTinyLUTS, img: np.ndarray) -> np.ndarray:
    """uint8 HxWx3 -> uint8 4Hx4Wx3, channels as a batch, the four rotations one after another."""
    x = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))).float()[:, None] - 128
    acc = 0
    with torch.no_grad():
        for r in range(4):
            xr = F.pad(torch.rot90(x, r, [2, 3]), (2, 0, 2, 0), mode="reflect")
            acc = acc + torch.rot90(net.forward(xr), -r, [2, 3]).clamp(-128, 127)
    out = acc.clamp(-128, 127) + 128
    return out[:, 0].permute(1, 2, 0).to(torch.uint8).numpy()
