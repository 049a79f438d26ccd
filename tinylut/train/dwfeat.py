"""Spatial geometry of a batch and the depthwise 3x3 stage on feature maps (TinyLUT-F).

Features are (P, C) rows, channels last; P runs over the pixels of every image of every
rotation. A *geometry* ``((n, h, w), ...)`` says how P splits into chunks of n images of h x w
pixels (one chunk per rotation), and ``window_index`` gives, for every pixel, the rows of its
3x3 window padded 2 rows on top and 2 columns on the left with numpy-reflect semantics: tap
k = 3i + j at (y-2+i, x-2+j), tap 8 the pixel itself (DESIGN.md section 1, tinylut.reference),
or, for a *centred* window, padded 1 on every side: tap k at (y-1+i, x-1+j), or, centred with
dilation 2, padded 2 on every side: tap k at (y+2(i-1), x+2(j-1)).

``FeatureDW`` is the DW stage of the model file with cin = cout = C: output channel c reads
its own input channel through 9 linear tap tables ``D[k][v, c] = rne(clamp(w[k, c] * v))``,
``f = clamp(rne(sum_k D[k][g_k, c] / 9) + g, lo, hi)`` with g the requantised input. The tables
are linear, so the stage is computed without building them (``w * g`` with the same float32
products the baked tables hold), tap by tap on shifted views of a padded copy, and
differentiated directly: straight-through rounding, the clamp's gradient, the padding folded
back with ``index_add_``.
"""
from __future__ import annotations

import torch
from torch import nn

from ..model import WINDOW_PADS, WINDOWS
from .layers import (DW_DIVISOR, DW_TAPS, int_table, int_table_with_slope, reflect_index,
                     round_add_clamp, slope)

Geometry = tuple[tuple[int, int, int], ...]

_WINDOWS: dict = {}
# A window: (centred, dilation). Padding before and after each axis (model.WINDOW_PADS): the
# paper's window has the pixel at its bottom-right corner; a centred one reads both sides of
# the pixel within one rotation; a dilated (centred) one its taps 2 apart.
PADS = {WINDOWS[name]: pads for name, pads in WINDOW_PADS.items()}


def window_index(geom: Geometry, device=None, centred: bool = False,
                 dilation: int = 1) -> torch.Tensor:
    """(P, 9) long: row numbers of every pixel's 3x3 window (cached per geometry)."""
    key = (tuple(geom), str(device), centred, dilation)
    if key not in _WINDOWS:
        if len(_WINDOWS) > 32:
            _WINDOWS.clear()
        parts, start = [], 0
        b, a = PADS[centred, dilation]
        d = dilation
        for n, h, w in geom:
            ids = torch.arange(start, start + n * h * w, device=device).view(n, h, w)
            pad = ids[:, reflect_index(h, b, device, a)][:, :, reflect_index(w, b, device, a)]
            taps = [pad[:, d * i:d * i + h, d * j:d * j + w] for i in range(3) for j in range(3)]
            parts.append(torch.stack(taps, -1).reshape(-1, DW_TAPS))
            start += n * h * w
        _WINDOWS[key] = torch.cat(parts)
    return _WINDOWS[key]


def dw_products(weight: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """``clamp(w * v, -128, 127)`` before rounding, the very float32 ops of the baked tables.
    weight (9, C) broadcast against values (..., 9, C)."""
    return torch.clamp(weight * values, -128, 127)


def _chunks(geom: Geometry, window: tuple[bool, int]):
    """(start, n, h, w, padding) of every chunk; padding: the row and column reflect indices
    and the rows (columns) before the image, as ``_pad`` and ``_unpad`` take them."""
    start = 0
    b, a = PADS[window]
    for n, h, w in geom:
        yield start, n, h, w, (reflect_index(h, b, after=a), reflect_index(w, b, after=a), b)
        start += n * h * w


def _pad(x: torch.Tensor, ri: torch.Tensor, ci: torch.Tensor, b: int) -> torch.Tensor:
    """(n, h, w, C) -> (n, h+p, w+p, C) reflect-padded, b rows and columns before the image
    and p - b after (p: ``_chunks``' indices, len(ri) - h): slice copies, the padding rows
    and columns gathered from the copy."""
    n, h, w, c = x.shape
    p = len(ri) - h
    pad = x.new_empty(n, h + p, w + p, c)
    pad[:, b:b + h, b:b + w] = x
    pad[:, :b, b:b + w] = x[:, ri[:b]]
    if b < p:
        pad[:, b + h:, b:b + w] = x[:, ri[b + h:]]
    pad[:, :, :b] = pad[:, :, ci[:b] + b]
    if b < p:
        pad[:, :, b + w:] = pad[:, :, ci[b + w:] + b]
    return pad


def _padded(g: torch.Tensor, geom: Geometry, window: tuple[bool, int] = (False, 1)):
    """Per chunk of ``geom``: its rows in g (a slice), its shape (n, h, w), the reflect-padded
    (n, h+p, w+p, C) copy of g there and the padding (for ``_unpad``)."""
    c = g.shape[1]
    for start, n, h, w, padding in _chunks(geom, window):
        sl = slice(start, start + n * h * w)
        yield sl, (n, h, w), _pad(g[sl].view(n, h, w, c), *padding), padding


def _unpad(gpad: torch.Tensor, ri: torch.Tensor, ci: torch.Tensor, b: int,
           out: torch.Tensor) -> None:
    """The backward of ``_pad``: fold the gradient of the padding back onto the pixels it was
    copied from (columns, then rows) and write the result to ``out`` (n, h, w, C)."""
    h, w = out.shape[1:3]
    p = len(ri) - h
    inner = gpad[:, :, b:b + w]
    inner.index_add_(2, ci[:b], gpad[:, :, :b].clone())
    if b < p:
        inner.index_add_(2, ci[b + w:], gpad[:, :, b + w:].clone())
    out.copy_(inner[:, b:b + h]).index_add_(1, ri[:b], inner[:, :b])
    if b < p:
        out.index_add_(1, ri[b + h:], inner[:, b + h:])


def _tap_index(pad: torch.Tensor, lo: int) -> torch.Tensor:
    """Flat positions in one tap's (N, C) table of every padded value: (v - lo) * C + c."""
    c = pad.shape[-1]
    return (pad.to(torch.long) - lo) * c + torch.arange(c, device=pad.device)


class FeatureDWLookup(torch.autograd.Function):
    """``acc[p, c] = sum_k rne(clamp(w[k, c] * g[window k of p, c]))`` (P, C).

    Computed tap by tap on a reflect-padded (n, h+2, w+2, C) copy of each chunk: tap k is a
    shifted view, so no (P, 9, C) tensor is ever built; every product goes to one reused
    buffer. The clamp is skipped when no product can reach it (|w| * max|g| < 127.5), which is
    the usual case."""

    @staticmethod
    def forward(ctx, g, weight, geom, vmax, window):
        ctx.save_for_backward(g, weight)
        ctx.geom, ctx.clamps = geom, float(weight.abs().max()) * vmax >= 127.5
        ctx.window = window
        acc = torch.empty_like(g)
        c, d = g.shape[1], window[1]
        for sl, (n, h, w), pad, _ in _padded(g, geom, window):
            out = acc[sl].view(n, h, w, c)
            tmp = torch.empty_like(out)
            for k in range(DW_TAPS):
                i, j = d * (k // 3), d * (k % 3)
                prod = torch.mul(pad[:, i:i + h, j:j + w], weight[k], out=tmp if k else out)
                if ctx.clamps:
                    prod.clamp_(-128, 127)
                prod.round_()
                if k:
                    out += prod
        return acc

    @staticmethod
    def backward(ctx, grad):
        g, weight = ctx.saved_tensors
        grad = grad.contiguous()
        c = g.shape[1]
        grad_w = torch.zeros_like(weight)
        grad_g = torch.empty_like(g)
        kernel = weight.t().reshape(c, 1, 3, 3)          # tap k = 3i + j at (i, j)
        d = ctx.window[1]
        for sl, (n, h, w), pad, pidx in _padded(g, ctx.geom, ctx.window):
            go = grad[sl].view(n, h, w, c)
            if ctx.clamps:     # every tap its own clamp mask (float 0/1: cheaper than bools)
                gpad = torch.zeros_like(pad)
                tmp = torch.empty_like(go)
                for k in range(DW_TAPS):
                    i, j = d * (k // 3), d * (k % 3)
                    t = pad[:, i:i + h, j:j + w]
                    prod = t * weight[k]
                    gk = go * torch.eq(prod, prod.clamp(-128, 127), out=prod)
                    grad_w[k] += torch.mul(gk, t, out=tmp).view(-1, c).sum(0)
                    gpad[:, i:i + h, j:j + w].addcmul_(gk, weight[k])
            else:
                # straight-through rounding, no clamp: the backward of a depthwise 3x3
                # convolution of the padded copy (channels-last views; ~3x the tap loop)
                gpad, gw, _ = torch.ops.aten.convolution_backward(
                    go.permute(0, 3, 1, 2), pad.permute(0, 3, 1, 2), kernel, None, [1, 1],
                    [0, 0], [d, d], False, [0, 0], c, [True, True, False])
                gpad = gpad.permute(0, 2, 3, 1)
                grad_w += gw.view(c, DW_TAPS).t()
            _unpad(gpad, *pidx, grad_g[sl].view(n, h, w, c))
        return grad_g, grad_w, None, None, None


class FeatureDWTableLookup(torch.autograd.Function):
    """``acc[p, c] = sum_k T[k][g[window k of p, c] - lo, c]`` for free (9, N, C) tables T
    (LUT fine-tuning): each table entry gets the sum of the output gradients of the pixels
    that read it, and the input, straight through, the table's slope there times those."""

    @staticmethod
    def forward(ctx, g, table, slope_t, geom, lo, window):
        ctx.save_for_backward(g, slope_t)
        ctx.geom, ctx.lo, ctx.window = geom, lo, window
        flat = table.reshape(DW_TAPS, -1)
        acc = torch.empty_like(g)
        c, d = g.shape[1], window[1]
        for sl, (n, h, w), pad, _ in _padded(g, geom, window):
            idx = _tap_index(pad, lo)
            out = acc[sl].view(n, h, w, c)
            for k in range(DW_TAPS):
                i, j = d * (k // 3), d * (k % 3)
                rows = torch.take(flat[k], idx[:, i:i + h, j:j + w])
                if k:
                    out += rows
                else:
                    out.copy_(rows)
        return acc

    @staticmethod
    def backward(ctx, grad):
        g, slope_t = ctx.saved_tensors
        grad = grad.contiguous()
        c = g.shape[1]
        slopes = slope_t.reshape(DW_TAPS, -1)
        grad_t = torch.zeros_like(slopes)
        grad_g = torch.empty_like(g)
        d = ctx.window[1]
        for sl, (n, h, w), pad, pidx in _padded(g, ctx.geom, ctx.window):
            idx = _tap_index(pad, ctx.lo)
            go = grad[sl].view(n, h, w, c)
            gpad = torch.zeros(idx.shape, dtype=g.dtype, device=g.device)
            for k in range(DW_TAPS):
                i, j = d * (k // 3), d * (k % 3)
                ik = idx[:, i:i + h, j:j + w].reshape(-1)
                grad_t[k].index_add_(0, ik, go.reshape(-1))
                gpad[:, i:i + h, j:j + w].addcmul_(go, slopes[k][ik].view_as(go))
            _unpad(gpad, *pidx, grad_g[sl].view(n, h, w, c))
        return grad_g, grad_t.view_as(slope_t), None, None, None, None


class FeatureDW(nn.Module):
    """DW 3x3 on C feature channels (cin = cout = C), residual = the pixel's own input.

    Linear taps ``w[k, c] * v`` while training; ``free_tables`` (LUT fine-tuning) makes each
    tap's table of every channel a free function of its value, for the same bytes.
    ``centred``: the window is centred on the pixel instead of the paper's corner window;
    ``dilation`` 2 (centred only) spreads its taps 2 pixels apart."""

    def __init__(self, lo: int, hi: int, channels: int = 16, centred: bool = False,
                 dilation: int = 1):
        super().__init__()
        if (centred, dilation) not in PADS:
            raise ValueError(f"no window with centred={centred} and dilation={dilation}")
        self.lo, self.hi, self.channels, self.centred = lo, hi, channels, centred
        self.dilation = dilation
        # every tap starts at 1: a box filter, as the first DW stage
        self.weight = nn.Parameter(torch.ones(DW_TAPS, channels))
        self.register_parameter("free", None)       # (9, N, C) once the tables are freed

    @torch.no_grad()
    def free_tables(self) -> None:
        """Train the tables themselves from now on; the function is unchanged by the switch."""
        if self.free is None:
            grid = torch.arange(self.lo, self.hi + 1, dtype=torch.float32)
            self.free = nn.Parameter(dw_products(self.weight.unsqueeze(1),
                                                 grid.view(1, -1, 1)).clone())
            self.weight = None

    @property
    def window(self) -> tuple[bool, int]:
        return self.centred, self.dilation

    def table_at(self, values: torch.Tensor) -> torch.Tensor:
        """(9, len, C) integer tables at the given input values (free tables: values outside
        lo..hi, which the runtime never reaches, read the edge rows)."""
        if self.free is not None:
            rows = (torch.clamp(values, self.lo, self.hi) - self.lo).to(torch.long)
            return int_table(self.free[:, rows])
        return torch.round(dw_products(self.weight.unsqueeze(1), values.view(1, -1, 1)))

    def forward(self, g: torch.Tensor, geom: Geometry) -> torch.Tensor:
        """g: (P, C) requantised values (float integers) laid out as ``geom`` -> (P, C)."""
        if self.free is not None:
            t, d = int_table_with_slope(self.free, slope(self.free.detach()))
            acc = FeatureDWTableLookup.apply(g, t, d, geom, self.lo, self.window)
        else:
            acc = FeatureDWLookup.apply(g, self.weight, geom, max(abs(self.lo), abs(self.hi)),
                                        self.window)
        return round_add_clamp(acc, g, self.lo, self.hi, DW_DIVISOR)

    def reference(self, g: torch.Tensor, geom: Geometry) -> torch.Tensor:
        """The same stage through autograd of plain ops on the (P, 9, C) window of every pixel
        (a test oracle for the values and the gradients)."""
        from .layers import round_ste
        win = g[window_index(geom, g.device, *self.window)]              # (P, 9, C)
        if self.free is None:
            acc = round_ste(dw_products(self.weight, win)).sum(1)
        else:        # gathered rows, plus the slope as the input's straight-through gradient
            t, d = int_table_with_slope(self.free, slope(self.free.detach()))  # (9, N, C)
            rows = (win.detach() - self.lo).to(torch.long)
            acc = sum(t[k].gather(0, rows[:, k]) + (win[:, k] - win[:, k].detach())
                      * d[k].gather(0, rows[:, k]) for k in range(DW_TAPS))
        return round_add_clamp(acc, g, self.lo, self.hi, DW_DIVISOR)
