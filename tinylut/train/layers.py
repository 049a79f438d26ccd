"""TinyLUT stages in PyTorch, trained in table space (DESIGN.md sections 1 and 2).

Names follow the C stages: ``DW`` (depthwise 3x3 of separable taps), ``Requant`` (DDM scales),
``PW`` and ``UP`` (one small MLP per input channel). Every function of one integer (a DW tap, a
PW/UP MLP) is evaluated on its integer grid once per forward, giving a table; pixels then gather
rows of that table. The forward is therefore exactly the integer computation the baked model
file performs, and the gradients equal those of the per-pixel network (``per_pixel`` evaluates
the MLPs at every pixel for tests):

* rows gathered by pixels give the table's gradient by summing the per-pixel output gradients
  into the grid rows (``segment_sum_rows``: a per-column radix sort of the row numbers and one
  ``embedding_bag``);
* the straight-through gradient with respect to a gathered input value uses the MLP's derivative,
  computed analytically on the same grid (``MLPBank.grid_with_derivative``) and dotted with the
  output gradient only at the gathered rows (``gathered_dot``: a sampled sparse product);
* DW tables are linear in their weights, so DW weight gradients are one (9, P) x (P, C) product;
* each round-add-clamp chain and each DDM requantisation is one autograd node with byte masks;
  a PW/UP stage after its table (gather, round, clamp, residual) is one node too
  (``PointLookup``).

The test oracle ``PointTable.per_pixel`` evaluates every MLP at every pixel instead; outputs are
identical and gradients agree to float rounding (tests/test_train_layers.py).

Channels are kept last: features are (P, C) with P the number of pixels of all images and
rotations of a batch, so every stage is one gather over all of them.
"""
from __future__ import annotations

import math
import warnings

import torch
import torch.nn.functional as F
from torch import nn

DW_TAPS = 9
DW_DIVISOR = 9
PW_DIVISOR = 16


class RoundSTE(torch.autograd.Function):
    """Round half to even forward, identity backward (straight-through)."""

    @staticmethod
    def forward(ctx, x):
        return torch.round(x)

    @staticmethod
    def backward(ctx, g):
        return g


def round_ste(x: torch.Tensor) -> torch.Tensor:
    return RoundSTE.apply(x)


def segment_sum_rows(idx: torch.Tensor, grad_out: torch.Tensor, rows: int) -> torch.Tensor:
    """``out[r] = sum of grad_out[p] over every (p, c) with idx[p, c] == r``: (rows, O).

    Column c of idx must hold rows of its own segment ``c*n .. c*n + n-1`` (n = rows / C,
    at most 256: channel-major tables of int8-range values). Each column's local row numbers
    are sorted as uint8, one sort per column: a 1-D integer sort of >= 32768 values is a radix
    sort in torch, one pass for uint8 keys, and a column's pixels stay in cache (one 1M-value
    sort of all columns' int16 keys was 3x slower); the sort's indices are the pixel numbers.
    Then one ``embedding_bag`` over them with a bag per table row. With one output (O = 1) a
    weighted ``bincount`` does it in one pass instead; small segments (the LSB branch's 4
    rows) share sort keys between columns (``_segment_sum_shared_keys``)."""
    p, c = idx.shape
    if grad_out.shape[1] == 1:            # one output (the denoising UP): a weighted bincount
        w = grad_out.expand(p, c).reshape(-1)
        return torch.bincount(idx.reshape(-1), weights=w, minlength=rows) \
            .to(grad_out.dtype).view(-1, 1)
    n = rows // c
    if columns_per_key(n, c) > 1:
        return _segment_sum_shared_keys(idx, grad_out, n, columns_per_key(n, c))
    base = torch.arange(0, rows, n, dtype=idx.dtype)
    keys = torch.empty(c, p, dtype=torch.uint8).copy_(torch.sub(idx, base).t())
    pix = torch.empty(c, p, dtype=torch.int64)
    for j in range(c):
        torch.sort(keys[j], out=(keys[j], pix[j]))
    # bag of local row v of column j starts at the first sorted key >= v
    offsets = torch.searchsorted(keys, torch.arange(n, dtype=torch.uint8).expand(c, n)
                                 .contiguous())
    offsets += torch.arange(0, c * p, p).view(-1, 1)
    return F.embedding_bag(pix.view(-1), grad_out, offsets.view(-1), mode="sum")


def columns_per_key(n: int, c: int) -> int:
    """How many of c columns with n local rows each share one uint8 sort key: their local rows
    side by side in its bits (n a power of two; as many columns as fit and divide c)."""
    if n < 2 or n & (n - 1) or n > 256:
        return 1
    k = 8 // (n.bit_length() - 1)
    while c % k:
        k -= 1
    return k


def _segment_sum_shared_keys(idx: torch.Tensor, grad_out: torch.Tensor, n: int, k: int
                             ) -> torch.Tensor:
    """``segment_sum_rows`` for n-row segments with k columns per uint8 key: a quarter of the
    sorts and row gathers for n = 4 (k = 4; ~2.5x faster). The rows are summed per joint key
    (n^k bins), then each column's rows are the bins summed over the other columns."""
    p, c = idx.shape
    bits = n.bit_length() - 1
    # row numbers mod 256 (the cast wraps), and the local row: segments start at multiples of n
    loc = torch.empty(c, p, dtype=torch.uint8).copy_(idx.t()).bitwise_and_(n - 1)
    groups = c // k
    loc = loc.view(groups, k, p)
    keys = loc[:, 0].clone()
    for i in range(1, k):                 # column i of a group in bits (k-1-i)*bits and up
        keys.bitwise_left_shift_(bits).bitwise_or_(loc[:, i])
    pix = torch.empty(groups, p, dtype=torch.int64)
    for j in range(groups):
        torch.sort(keys[j], out=(keys[j], pix[j]))
    bins = n ** k
    offsets = torch.searchsorted(keys, torch.arange(bins).to(torch.uint8).expand(groups, bins)
                                 .contiguous())
    offsets += torch.arange(0, groups * p, p).view(-1, 1)
    joint = F.embedding_bag(pix.view(-1), grad_out, offsets.view(-1), mode="sum") \
        .view(groups, *([n] * k), -1)
    cols = [joint.sum(tuple(d + 1 for d in range(k) if d != i)) for i in range(k)]
    return torch.stack(cols, 1).reshape(c * n, -1)


_CROW: dict = {}


def _crow(p: int, c: int, dtype) -> torch.Tensor:
    key = (p, c, dtype)
    if key not in _CROW:
        if len(_CROW) > 64:
            _CROW.clear()
        _CROW[key] = torch.arange(0, p * c + 1, c, dtype=dtype)
    return _CROW[key]


def gathered_dot(idx: torch.Tensor, deriv: torch.Tensor, grad_out: torch.Tensor) -> torch.Tensor:
    """``out[p, c] = deriv[idx[p, c]] . grad_out[p]``: (P, C), computed only at the gathered rows
    (a sampled dense-dense product over a CSR pattern with C entries per pixel). Needs the row
    numbers of every pixel increasing in c, which channel-major tables guarantee."""
    p, c = idx.shape
    if deriv.shape[1] == 1:               # one output: a plain gather (index_select: ~3x faster)
        return deriv.view(-1).index_select(0, idx.view(-1)).view(p, c) * grad_out
    crow = _crow(p, c, idx.dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pattern = torch.sparse_csr_tensor(crow, idx.reshape(-1),
                                          grad_out.new_zeros(p * c), size=(p, deriv.shape[0]),
                                          check_invariants=False)
        out = torch.sparse.sampled_addmm(pattern, grad_out, deriv.t(), beta=0.0)
    return out.values().view(p, c)


class RoundAddClamp(torch.autograd.Function):
    """``y = clamp(clamp(rne(x / div), ilo, ihi) + add, lo, hi)`` in one autograd node.

    Straight-through for the rounding, the clamps' own gradients (1 inside, 0 where they cut):
    the same gradients as composing ``round_ste`` and ``torch.clamp``, with far fewer
    full-size temporaries. The masks are float 0/1 and applied by a product: on CPU a compare
    into bools or a ``torch.where`` costs 3-10x a float compare or product. ``add`` may be None;
    the inner clamp is skipped when ``ilo`` is None."""

    @staticmethod
    def forward(ctx, x, add, div, ilo, ihi, lo, hi):
        r = torch.div(x, div) if div != 1 else x.clone()
        r.round_()
        m_x = None
        if ilo is not None:
            r2 = torch.clamp(r, ilo, ihi)
            m_x = torch.eq(r2, r, out=r)
            r = r2
        if add is not None:
            r.add_(add)
        y = torch.clamp(r, lo, hi)
        m_add = torch.eq(y, r, out=r)
        ctx.save_for_backward(m_add if m_x is None else m_x.mul_(m_add), m_add)
        ctx.div, ctx.has_add, ctx.one_mask = div, add is not None, m_x is None
        return y

    @staticmethod
    def backward(ctx, grad):
        m_x, m_add = ctx.saved_tensors
        gm = grad * m_x
        grad_add = None
        if ctx.has_add and ctx.needs_input_grad[1]:
            grad_add = gm if ctx.one_mask else grad * m_add
        grad_x = gm / ctx.div if ctx.div != 1 else gm
        return grad_x, grad_add, None, None, None, None, None


def round_add_clamp(x, add, lo, hi, div=1, inner=None):
    ilo, ihi = inner if inner is not None else (None, None)
    return RoundAddClamp.apply(x, add, div, ilo, ihi, lo, hi)


class RequantFn(torch.autograd.Function):
    """DDM forward ``clamp(rne(f * a), lo, hi)`` (f: (P, C), a: (C,)), straight-through;
    the clamp's mask as float 0/1 (see ``RoundAddClamp``)."""

    @staticmethod
    def forward(ctx, f, a, lo, hi):
        r = torch.mul(f, a).round_()
        y = torch.clamp(r, lo, hi)
        ctx.save_for_backward(f, a, torch.eq(y, r, out=r))
        return y

    @staticmethod
    def backward(ctx, grad):
        f, a, m = ctx.saved_tensors
        gm = grad * m
        grad_f = gm * a if ctx.needs_input_grad[0] else None
        grad_a = gm.mul_(f).sum(0) if ctx.needs_input_grad[1] else None
        return grad_f, grad_a, None, None


class LUTGather(torch.autograd.Function):
    """``out[p] = sum_c table[idx[p, c]]`` with straight-through input gradients.

    table: (R, O) rows of every channel's segment one after another; idx: (P, C) long row numbers
    (increasing in c); deriv: (R, O) d table / d input value at every row (detached) or None when
    the gathered values carry no gradient; g: the (P, C) float values the rows were looked up for
    (only its gradient is used). Backward: each table row gets the sum of the output gradients of
    the pixels that read it; the input value of channel c at pixel p gets
    ``deriv[idx[p, c]] . grad_out[p]`` (the MLP's derivative at the grid point).
    """

    @staticmethod
    def forward(ctx, g, table, deriv, idx):
        ctx.save_for_backward(idx, deriv)
        ctx.rows = table.shape[0]
        return F.embedding_bag(idx, table, mode="sum")

    @staticmethod
    def backward(ctx, grad_out):
        idx, deriv = ctx.saved_tensors
        grad_g = grad_table = None
        grad_out = grad_out.contiguous()
        if ctx.needs_input_grad[1]:
            grad_table = segment_sum_rows(idx, grad_out, ctx.rows)
        if ctx.needs_input_grad[0] and deriv is not None:
            grad_g = gathered_dot(idx, deriv, grad_out)
        return grad_g, grad_table, None, None


class PointLookup(torch.autograd.Function):
    """A whole PW/UP stage after its table: ``y = clamp(clamp(rne(S), ilo, ihi) + g, lo, hi)``
    with ``S = sum_c table[idx[p, c]]`` (``LUTGather`` then ``RoundAddClamp`` in one node).

    The caller passes the table and its derivative already divided by the stage's divisor (16:
    a power of two, so ``sum(t / 16) == sum(t) / 16`` exactly for int8 rows), so neither
    direction spends a full-size pass on the division; the sum is rounded and clamped in its
    own buffer, and the residual's gradient is added into the gathered one in place instead
    of autograd summing two (P, C) tensors. ``residual``: add g (outputs = inputs);
    ``inner``: (ilo, ihi) or None; the masks as in ``RoundAddClamp``."""

    @staticmethod
    def forward(ctx, g, table, deriv, idx, residual, inner, lo, hi):
        s = F.embedding_bag(idx, table, mode="sum").round_()
        m_x = None
        if inner is not None:
            r = torch.clamp(s, *inner)
            m_x = torch.eq(r, s, out=s)
            s = r
        if residual:
            s.add_(g)
        y = torch.clamp(s, lo, hi)
        m_add = torch.eq(y, s, out=s)
        ctx.save_for_backward(idx, deriv, m_add if m_x is None else m_x.mul_(m_add), m_add)
        ctx.rows, ctx.residual, ctx.one_mask = table.shape[0], residual, m_x is None
        return y

    @staticmethod
    def backward(ctx, grad):
        idx, deriv, m_x, m_add = ctx.saved_tensors
        gm = grad * m_x                   # d loss / d S (the divisor is in the table)
        grad_table = segment_sum_rows(idx, gm, ctx.rows) if ctx.needs_input_grad[1] else None
        grad_g = None
        if ctx.needs_input_grad[0]:
            grad_g = gathered_dot(idx, deriv, gm)
            if ctx.residual:
                grad_g.add_(gm if ctx.one_mask else grad * m_add)
        return grad_g, grad_table, None, None, None, None, None, None


def lut_gather(g: torch.Tensor | None, table: torch.Tensor, deriv: torch.Tensor | None,
               idx: torch.Tensor) -> torch.Tensor:
    if g is None:
        g = table.new_zeros(())
        deriv = None
    return LUTGather.apply(g, table, deriv, idx)


# ----------------------------------------------------------------------------- MLP bank

class MLPBank(nn.Module):
    """``channels`` independent MLPs 1 -> hidden ... -> out with ReLU, evaluated together.

    ``widths`` = (1, 64, 64, 16) for PW, (1, 64, 64, 64, 64, 16) for UP. Parameters are stacked
    over channels: weight{i} (C, out_i, in_i), bias{i} (C, out_i)."""

    def __init__(self, channels: int, widths: tuple[int, ...]):
        super().__init__()
        self.channels, self.widths = channels, tuple(widths)
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for fan_in, fan_out in zip(widths[:-1], widths[1:]):
            # kaiming normal (fan_in, gain sqrt 2) and zero bias, as the released training code
            w = torch.randn(channels, fan_out, fan_in) * math.sqrt(2.0 / fan_in)
            self.weights.append(nn.Parameter(w))
            self.biases.append(nn.Parameter(torch.zeros(channels, fan_out)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (C, N) input values per channel -> (C, N, out)."""
        h = x.unsqueeze(2) * self.weights[0].transpose(1, 2) + self.biases[0].unsqueeze(1)
        for w, b in zip(self.weights[1:], self.biases[1:]):
            h = torch.baddbmm(b.unsqueeze(1), torch.relu(h), w.transpose(1, 2))
        return h

    def grid_with_derivative(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Outputs (with autograd) and d output / d x (detached), both (C, N, out)."""
        w0 = self.weights[0].transpose(1, 2)                       # (C, 1, H)
        h = x.unsqueeze(2) * w0 + self.biases[0].unsqueeze(1)
        with torch.no_grad():
            d = w0.expand_as(h)
        for w, b in zip(self.weights[1:], self.biases[1:]):
            wt = w.transpose(1, 2)
            with torch.no_grad():
                d = torch.bmm(d * (h > 0), wt.detach())
            h = torch.baddbmm(b.unsqueeze(1), torch.relu(h), wt)
        return h, d


# ----------------------------------------------------------------------------- stages

def slope(h: torch.Tensor) -> torch.Tensor:
    """d h / d v along dim 1 of a table over consecutive integers v: central differences,
    one-sided at the two ends (the straight-through input gradient of a free table)."""
    d = torch.empty_like(h)
    d[:, 1:-1] = (h[:, 2:] - h[:, :-2]) * 0.5
    d[:, 0] = h[:, 1] - h[:, 0]
    d[:, -1] = h[:, -1] - h[:, -2]
    return d


def int_table(v: torch.Tensor) -> torch.Tensor:
    """A table entry: round (STE) and clamp to int8."""
    return torch.clamp(round_ste(v), -128, 127)


def int_table_with_slope(h: torch.Tensor, d: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Table values h as int8 entries (``int_table``) and their straight-through input
    derivative d, zero where the int8 clamp cuts (the clamp's gradient)."""
    t = int_table(h)
    with torch.no_grad():
        d = d * (torch.round(h) == t)
    return t, d


class DWLookup(torch.autograd.Function):
    """``acc[p, c] = sum_k D[k][v_k(p), c]`` with ``D[k][v, c] = rne(clamp(w[k, c] * v))``,
    differentiated with respect to the weights w directly.

    Every table entry is a linear function of its weight (straight-through rounding), so
    ``dL/dw[k, c] = sum_p dL/dacc[p, c] * v_k(p)`` over the pixels whose product is not clamped:
    one (9, P) x (P, C) product instead of scattering P*9 row gradients into the table. When a
    weight is large enough to clamp somewhere, that weight falls back to the exact table route
    (row gradients summed per grid value, masked by the clamp)."""

    @staticmethod
    def forward(ctx, weight, table, idx, taps, grid):
        # table: (9*N, C) the integer table of weight; idx: (P, 9) its rows; taps: (P, 9) values
        ctx.save_for_backward(weight, idx, taps, grid)
        return F.embedding_bag(idx, table, mode="sum")

    @staticmethod
    def backward(ctx, grad_out):
        weight, idx, taps, grid = ctx.saved_tensors
        grad_out = grad_out.contiguous()
        prod = weight.unsqueeze(1) * grid.view(1, -1, 1)                      # (9, N, C)
        inside = (prod >= -128) & (prod <= 127)
        grad_w = torch.mm(taps.t().to(grad_out.dtype), grad_out)              # (9, C)
        if not bool(inside.all()):
            rows = segment_sum_rows(idx, grad_out, idx.shape[1] * grid.numel())
            rows = rows.view(weight.shape[0], grid.numel(), -1)
            grad_w = (rows * grid.view(1, -1, 1) * inside).sum(1)
        return grad_w, None, None, None, None


class DW(nn.Module):
    """Depthwise 3x3 of 9 separable taps: ``D[k][v, c] = rne(clamp(w[k, c] * v, -128, 127))``;
    ``f = clamp(rne(sum_k D[k][v_k] / 9) + v_8, lo, hi)``."""

    def __init__(self, lo: int, hi: int, channels: int = 16):
        super().__init__()
        self.lo, self.hi, self.channels = lo, hi, channels
        # the released code starts every tap at weight 1 (a box filter)
        self.weight = nn.Parameter(torch.ones(DW_TAPS, channels))
        self.register_parameter("free", None)       # (9, N, C) once the tables are freed
        self.register_buffer("grid", torch.arange(lo, hi + 1, dtype=torch.float32),
                             persistent=False)

    @property
    def n(self) -> int:
        return self.hi - self.lo + 1

    @torch.no_grad()
    def free_tables(self) -> None:
        """Train the table itself from now on (see ``PointTable.free_tables``): each tap
        becomes any function of its value instead of a product, for the same bytes."""
        if self.free is None:
            self.free = nn.Parameter(torch.clamp(
                self.weight.unsqueeze(1) * self.grid.view(1, -1, 1), -128, 127).clone())
            self.weight = None

    def table(self) -> torch.Tensor:
        """(9, N, C) float table (integer values), differentiable (straight-through)."""
        if self.free is not None:
            return int_table(self.free)
        v = self.grid.view(1, -1, 1)
        return round_ste(torch.clamp(self.weight.unsqueeze(1) * v, -128, 127))

    def lookup(self, taps: torch.Tensor, reference: bool = False) -> torch.Tensor:
        """The sum of the 9 taps' rows (P, C); ``reference``: through the table's autograd."""
        idx = (taps - self.lo + torch.arange(DW_TAPS, device=taps.device, dtype=taps.dtype)
               * self.n)
        if reference or self.free is not None:
            return lut_gather(None, self.table().reshape(-1, self.channels), None, idx)
        with torch.no_grad():
            t = self.table().reshape(-1, self.channels)
        return DWLookup.apply(self.weight, t, idx, taps, self.grid)

    def forward(self, taps: torch.Tensor) -> torch.Tensor:
        """taps: (P, 9) long input values (window of every pixel) -> (P, C) float."""
        acc = self.lookup(taps)
        return round_add_clamp(acc, taps[:, 8:9].to(acc.dtype), self.lo, self.hi, DW_DIVISOR)


class Requant(nn.Module):
    """DDM: ``g = clamp(rne(float32(f) * a_c), lo, hi)`` with a learned per-channel scale."""

    def __init__(self, lo: int, hi: int, channels: int = 16, init: float = 0.8):
        super().__init__()
        self.lo, self.hi = lo, hi
        self.scale = nn.Parameter(torch.full((channels,), float(init)))

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        return RequantFn.apply(f, self.scale, self.lo, self.hi)


class PointTable(nn.Module):
    """PW / UP: one MLP per input channel, a table of its outputs on the integer grid lo..hi,
    ``S = sum_c T_c[g_c]``; PW: ``clamp(rne(S/16) + g, lo, hi)``; UP:
    ``clamp(clamp(rne(S/16), -128, 127) + g, -128, 127)``.

    ``skip``: the table is ``T_c[v] = rne(clamp(MLP_c(v) + v))``, a skip connection inside the
    table. The denoising UP uses it (one output, so no per-output residual exists: the stage
    then computes ``clamp(rne(S/16), -128, 127)`` and starts as the mean of its inputs)."""

    def __init__(self, lo: int, hi: int, widths: tuple[int, ...], out_lo: int, out_hi: int,
                 clamp_sum: bool, channels: int = 16, skip: bool = False):
        super().__init__()
        self.lo, self.hi, self.channels = lo, hi, channels
        self.out_lo, self.out_hi, self.clamp_sum = out_lo, out_hi, clamp_sum
        self.skip = skip
        self.outputs = widths[-1]
        # the residual adds input channel o to output o: only when there are as many outputs
        self.residual = widths[-1] == channels
        self.mlp = MLPBank(channels, widths)
        self.register_parameter("free", None)       # (C, N, out) once the tables are freed
        self.register_buffer("grid", torch.arange(lo, hi + 1, dtype=torch.float32),
                             persistent=False)
        self.register_buffer("row_offset",
                             torch.arange(channels, dtype=torch.float32) * self.n - lo,
                             persistent=False)

    @property
    def n(self) -> int:
        return self.hi - self.lo + 1

    @torch.no_grad()
    def free_tables(self) -> None:
        """Train the table itself from now on (LUT fine-tuning): the MLP's values on the grid
        become the parameter, and the MLP is dropped. The function is unchanged by the switch
        (the baked file differs only in rows the runtime never reads, see ``raw``); afterwards
        every row may move on its own, no longer tied to its neighbours through the MLP (and
        the rounding of each entry can be learned)."""
        if self.free is None:
            x = self.grid.unsqueeze(0).expand(self.channels, -1)
            self.free = nn.Parameter(self.raw(x).clone())
            self.mlp = None

    def raw(self, x: torch.Tensor) -> torch.Tensor:
        """The function before rounding: (C, N) values -> (C, N, out) MLP outputs, plus the
        input itself when the table carries a skip connection. Free tables: the row of each
        value (values outside lo..hi, which the runtime never reaches, read the edge rows)."""
        if self.free is not None:
            rows = (torch.clamp(x, self.lo, self.hi) - self.lo).to(torch.long)
            return torch.gather(self.free, 1, rows.unsqueeze(2).expand(-1, -1, self.outputs))
        h = self.mlp(x)
        return h + x.unsqueeze(2) if self.skip else h

    def table_at(self, values: torch.Tensor) -> torch.Tensor:
        """Table rows (C, len, out) for the given input values (same for every channel)."""
        return int_table(self.raw(values.unsqueeze(0).expand(self.channels, -1)))

    def table(self, with_derivative: bool = False):
        """Rows for the grid lo..hi: (C, N, out) [and the STE derivative (C, N, out)]."""
        x = self.grid.unsqueeze(0).expand(self.channels, -1)
        if not with_derivative:
            return int_table(self.raw(x))
        if self.free is not None:
            h, d = self.free, slope(self.free.detach())
        else:
            h, d = self.mlp.grid_with_derivative(x)
            if self.skip:
                h, d = h + x.unsqueeze(2), d + 1
        return int_table_with_slope(h, d)

    def _finish(self, s: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        return round_add_clamp(s, g if self.residual else None, self.out_lo, self.out_hi,
                               PW_DIVISOR, (-128, 127) if self.clamp_sum else None)

    def forward(self, g: torch.Tensor) -> torch.Tensor:
        """g: (P, C) float values in lo..hi -> (P, out)."""
        t, d = self.table(with_derivative=True)
        c, n, o = t.shape
        # row numbers computed in float (exact small integers), converted once to int32
        idx = (g.detach() + self.row_offset).to(torch.int32)
        # / 16 folded into the (small) tables: exact, see PointLookup
        return PointLookup.apply(g, t.reshape(c * n, o) * (1 / PW_DIVISOR),
                                 d.reshape(c * n, o) * (1 / PW_DIVISOR), idx, self.residual,
                                 (-128, 127) if self.clamp_sum else None,
                                 self.out_lo, self.out_hi)

    def per_pixel(self, g: torch.Tensor) -> torch.Tensor:
        """The same stage with every MLP evaluated at every pixel (slow; a test oracle)."""
        t = int_table(self.raw(g.t()))                               # (C, P, out)
        return self._finish(t.sum(0), g)


def PW(lo: int, hi: int, channels: int = 16) -> PointTable:
    return PointTable(lo, hi, (1, 64, 64, channels), lo, hi, clamp_sum=False, channels=channels)


def UP(lo: int, hi: int, outputs: int = 16, channels: int = 16, skip: bool = False
       ) -> PointTable:
    return PointTable(lo, hi, (1, 64, 64, 64, 64, outputs), -128, 127, clamp_sum=True,
                      channels=channels, skip=skip)


# ----------------------------------------------------------------------------- geometry

def reflect_index(n: int, pad: int, device=None, after: int = 0) -> torch.Tensor:
    """Source indices of numpy ``np.pad(a, (pad, after), 'reflect')`` for a length-n axis
    (periodic reflection with period 2(n-1); n = 1 repeats the only value)."""
    p = torch.arange(-pad, n + after, device=device)
    if n == 1:
        return torch.zeros_like(p)
    m = 2 * (n - 1)
    q = torch.remainder(p, m)
    return torch.where(q < n, q, m - q)


def window_taps(x: torch.Tensor, pad: int = 2) -> torch.Tensor:
    """x: (B, H, W) long -> (B*H*W, 9): the 3x3 window of every pixel, padded ``pad`` rows on
    top and columns on the left with numpy-reflect semantics; tap k = 3i + j at (y-2+i, x-2+j)."""
    b, h, w = x.shape
    xp = x[:, reflect_index(h, pad, x.device)][:, :, reflect_index(w, pad, x.device)]
    taps = [xp[:, i:i + h, j:j + w] for i in range(3) for j in range(3)]
    return torch.stack(taps, dim=-1).reshape(-1, 9)
