"""Table-space layers: the grid forward and its gradients equal the per-pixel network."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)   # small tensors: threads only add overhead on a busy machine

from tinylut.train.layers import (LUTGather, PointLookup, RequantFn, RoundSTE,  # noqa: E402
                                  columns_per_key, gathered_dot,
                                  reflect_index, round_add_clamp, round_ste,
                                  segment_sum_rows, window_taps)
from tinylut.train.nets import TinyLUTS  # noqa: E402


def randomize(net, seed):
    """Spread an untrained network over the whole integer range (DW weights, scales of both
    signs and near 0, MLP biases), so clamps, segments and saturations all get exercised."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for br in net.branches:
            blocks = list(br.blocks)
            for dw in [br.dw] + [b.dw for b in blocks]:
                dw.weight.copy_(torch.rand(dw.weight.shape, generator=g) * 6 - 3)
            for scale in br.scales():
                s = torch.rand(scale.shape, generator=g) * 2.8 - 1.4
                s[torch.rand(s.shape, generator=g) < 0.2] = 1e-4
                scale.copy_(s)
            for stage in [br.pw, br.up] + [b.pw for b in blocks if b.pw is not None]:
                for b in stage.mlp.biases:
                    b.copy_(torch.randn(b.shape, generator=g))
                last = stage.mlp.weights[-1]          # zero in a fresh F block
                last.copy_(torch.randn(last.shape, generator=g) * (2 / last.shape[-1]) ** 0.5)
    return net


@pytest.mark.parametrize("n", range(1, 8))
def test_reflect_index_is_numpy_reflect(n):
    a = np.arange(n)
    for before, after in ((2, 0), (1, 1), (0, 2)):
        want = np.pad(a, (before, after), mode="reflect")
        assert reflect_index(n, before, after=after).numpy().tolist() == want.tolist()


@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (2, 6), (4, 3), (7, 7)])
def test_window_taps_match_numpy_pad(shape):
    x = np.random.default_rng(0).integers(-128, 128, shape)
    p = np.pad(x, ((2, 0), (2, 0)), mode="reflect")
    h, w = shape
    want = np.stack([p[i:i + h, j:j + w] for i in range(3) for j in range(3)], -1).reshape(-1, 9)
    got = window_taps(torch.from_numpy(x)[None]).numpy()
    np.testing.assert_array_equal(got, want)


def test_round_ste_is_half_even_with_identity_gradient():
    x = torch.tensor([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.49, -0.51], requires_grad=True)
    y = RoundSTE.apply(x)
    assert y.tolist() == [-2.0, -2.0, -0.0, 0.0, 2.0, 2.0, 0.0, -1.0]
    y.sum().backward()
    assert x.grad.tolist() == [1.0] * 8


def test_lut_gather_backward_equals_dense_formulas():
    rng = torch.Generator().manual_seed(1)
    p, c, n, o = 500, 5, 7, 3
    idx = torch.randint(0, n, (p, c), generator=rng) + torch.arange(c) * n
    table = torch.randn(c * n, o, generator=rng, dtype=torch.float64).float()
    deriv = torch.randn(c * n, o, generator=rng)
    go = torch.randn(p, o, generator=rng)
    want_table = torch.zeros(c * n, o)
    want_g = torch.zeros(p, c)
    for pi in range(p):
        for ci in range(c):
            want_table[idx[pi, ci]] += go[pi]
            want_g[pi, ci] = deriv[idx[pi, ci]] @ go[pi]
    torch.testing.assert_close(segment_sum_rows(idx, go, c * n), want_table, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(gathered_dot(idx, deriv, go), want_g, rtol=1e-5, atol=1e-5)
    g = torch.zeros(p, c, requires_grad=True)
    t = table.clone().requires_grad_(True)
    out = LUTGather.apply(g, t, deriv, idx)
    torch.testing.assert_close(out, table[idx].sum(1))
    out.backward(go)
    torch.testing.assert_close(t.grad, want_table, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(g.grad, want_g, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("outputs, residual, inner",
                         [(4, True, None), (4, True, (-128, 127)), (4, False, (-128, 127)),
                          (1, False, (-128, 127)), (1, False, None)])
def test_point_lookup_equals_gather_then_round_add_clamp(outputs, residual, inner):
    """The fused stage (table and derivative pre-divided by 16) gives the values and the
    gradients of LUTGather followed by round_add_clamp with divisor 16."""
    rng = torch.Generator().manual_seed(2)
    p, c, n, lo, hi = 400, outputs if residual else 5, 8, -4, 3
    gv = torch.randint(lo, hi + 1, (p, c), generator=rng).float()
    idx = (gv - lo + torch.arange(c) * n).to(torch.int32)
    table = torch.randint(-128, 128, (c * n, outputs), generator=rng).float()
    deriv = torch.randn(c * n, outputs, generator=rng)
    go = torch.randn(p, outputs, generator=rng)
    results = []
    for fused in (False, True):
        g = gv.clone().requires_grad_(True)
        t = table.clone().requires_grad_(True)
        if fused:
            y = PointLookup.apply(g, t / 16, deriv / 16, idx, residual, inner, lo, hi)
        else:
            s = LUTGather.apply(g, t, deriv, idx)
            y = round_add_clamp(s, g if residual else None, lo, hi, 16, inner)
        y.backward(go)
        results.append((y, t.grad, g.grad))
    (y0, t0, g0), (y1, t1, g1) = results
    assert torch.equal(y0, y1)
    assert 0 < (y0 == lo).sum() and 0 < (y0 == hi).sum()       # the clamps were exercised
    torch.testing.assert_close(t1, t0, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(g1, g0, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_grid_forward_and_gradients_equal_per_pixel_network(seed):
    torch.manual_seed(seed)
    net = TinyLUTS()
    if seed:
        randomize(net, seed)
    check_grid_equals_per_pixel(net, torch.Generator().manual_seed(100 + seed), 9,
                                min_flowing=len(list(net.parameters())) - 2)


def check_grid_equals_per_pixel(net, gen, size, min_flowing):
    """The table-space forward and gradients of ``net`` equal its per-pixel MLP network on a
    random (2, size, size) batch; at least ``min_flowing`` parameters get a gradient."""
    x = torch.randint(-128, 128, (2, size, size), generator=gen)
    s = net.scale
    target = torch.randn(2, size * s, size * s, generator=gen) * 40
    results = []
    for per_pixel in (False, True):
        net.zero_grad()
        y = net(x, per_pixel=per_pixel)
        loss = ((y - target) ** 2).mean() + 0.1 * (torch.cat(net.ddm_scales()) ** 2).mean()
        loss.backward()
        results.append((y.detach(), {k: p.grad.clone() for k, p in net.named_parameters()}))
    (y_grid, g_grid), (y_pix, g_pix) = results
    assert torch.equal(y_grid, y_pix)
    nonzero = 0
    for name, want in g_pix.items():
        got = g_grid[name]
        scale = want.abs().max().item()
        nonzero += scale > 0
        assert (got - want).abs().max().item() <= 1e-5 * max(scale, 1e-12), name
    assert nonzero >= min_flowing   # the gradients really flow


@pytest.mark.parametrize("wrange", [1.5, 6.0])     # 6.0: some products clamp at -128/127
def test_dw_weight_gradient_equals_table_route(wrange):
    from tinylut.train.layers import DW
    g = torch.Generator().manual_seed(7)
    for lo, hi in ((-32, 31), (0, 3)):
        dw = DW(lo, hi)
        with torch.no_grad():
            dw.weight.copy_((torch.rand(dw.weight.shape, generator=g) * 2 - 1) * wrange)
        taps = torch.randint(lo, hi + 1, (300, 9), generator=g)
        go = torch.randn(300, 16, generator=g)
        grads = []
        for ref in (False, True):
            dw.weight.grad = None
            out = dw.lookup(taps, reference=ref)
            out.backward(go)
            grads.append((out.detach(), dw.weight.grad.clone()))
        assert torch.equal(grads[0][0], grads[1][0])
        torch.testing.assert_close(grads[0][1], grads[1][1], rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("n, c, dtype", [(4, 3, torch.int32), (64, 3, torch.int32),
                                          (256, 3, torch.int32), (4, 16, torch.int32),
                                          (4, 9, torch.int64), (2, 16, torch.int32),
                                          (16, 6, torch.int32), (6, 4, torch.int32)])
def test_segment_sum_rows_on_training_sized_columns(n, c, dtype):
    """Columns of >= 32768 pixels take torch's radix sort (the training batches do); small
    segments share sort keys between columns (row numbers past 255 wrap in the uint8 keys)."""
    g = torch.Generator().manual_seed(n)
    p = 40000
    idx = (torch.randint(0, n, (p, c), generator=g) + torch.arange(c) * n).to(dtype)
    go = torch.randn(p, 5, generator=g)
    want = torch.zeros(c * n, 5, dtype=torch.float64).index_add_(
        0, idx.reshape(-1).long(), go.double().repeat_interleave(c, 0))
    # float32 sums of ~10^4 values: the tolerance follows the largest sum
    torch.testing.assert_close(segment_sum_rows(idx, go, c * n).double(), want,
                               rtol=1e-5, atol=1e-5 * float(want.abs().max()))


@pytest.mark.parametrize("n, c, k", [(4, 16, 4), (4, 9, 3), (4, 5, 1), (2, 16, 8), (16, 16, 2),
                                     (64, 16, 1), (256, 3, 1), (6, 4, 1), (1, 3, 1)])
def test_columns_per_key(n, c, k):
    assert columns_per_key(n, c) == k


@pytest.mark.parametrize("outputs", [1, 3])
def test_row_sums_and_gathered_dot_for_any_output_width(outputs):
    """The one-output shortcuts (bincount, plain gather) equal the dense formulas too."""
    g = torch.Generator().manual_seed(outputs)
    p, c, n = 300, 4, 6
    idx = (torch.randint(0, n, (p, c), generator=g) + torch.arange(c) * n).to(torch.int32)
    go = torch.randn(p, outputs, generator=g)
    deriv = torch.randn(c * n, outputs, generator=g)
    want_t = torch.zeros(c * n, outputs).index_add_(0, idx.reshape(-1).long(),
                                                     go.repeat_interleave(c, 0))
    want_g = (deriv[idx.long()] * go.unsqueeze(1)).sum(-1)
    torch.testing.assert_close(segment_sum_rows(idx, go, c * n), want_t, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(gathered_dot(idx, deriv, go), want_g, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("div, inner, with_add", [(9, None, True), (16, None, True),
                                                  (16, (-128, 127), True), (16, (-128, 127), False),
                                                  (1, None, True)])
def test_round_add_clamp_and_requant_equal_autograd_of_plain_ops(div, inner, with_add):
    """The fused nodes (float masks) give the values and gradients of round_ste + clamp."""
    g = torch.Generator().manual_seed(div)
    x = (torch.randint(-3000, 3000, (400, 16), generator=g) / 7).requires_grad_(True)
    add = torch.randint(-40, 40, (400, 16), generator=g).float().requires_grad_(True)
    go = torch.randn(400, 16, generator=g)
    a = add if with_add else None
    got = round_add_clamp(x, a, -32, 31, div, inner)
    r = round_ste(x / div)
    if inner is not None:
        r = torch.clamp(r, *inner)
    want = torch.clamp(r + add if with_add else r, -32, 31)
    assert torch.equal(got, want)
    ins = (x, add) if with_add else (x,)
    for gg, gw in zip(torch.autograd.grad(got, ins, go), torch.autograd.grad(want, ins, go)):
        torch.testing.assert_close(gg, gw, rtol=1e-6, atol=0)
    scale = (torch.rand(16, generator=g) * 3 - 1.5).requires_grad_(True)
    got = RequantFn.apply(add, scale, -32, 31)
    want = torch.clamp(round_ste(add * scale), -32, 31)
    assert torch.equal(got, want)
    for gg, gw in zip(torch.autograd.grad(got, (add, scale), go),
                      torch.autograd.grad(want, (add, scale), go)):
        torch.testing.assert_close(gg, gw, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("arch,task,tail", [("tinylut-s", "sr", 0), ("tinylut-f", "denoise", 0),
                                            ("tinylut-f", "sr", 1)])
def test_free_tables_keep_the_function_and_train_every_table(arch, task, tail):
    from tinylut import reference
    from tinylut.train.bake import bake
    from tinylut.train.nets import build_net
    torch.manual_seed(2)
    net = randomize(build_net(arch, task, msb_tail_dw=tail), 7)
    spec = bake(net)
    x = torch.randint(-128, 128, (2, 7, 6))
    y = net(x)
    net.free_tables()
    assert net.tables_free
    # the same function; the files differ only in rows the runtime never reads (values a
    # scale above 1 sends past the clamp: MLP values there before, the edge rows now)
    img = np.random.default_rng(1).integers(0, 256, (9, 8), dtype=np.uint8)
    np.testing.assert_array_equal(reference.restore(bake(net), img),
                                  reference.restore(spec, img))
    out = net(x)
    assert torch.equal(out, y)
    out.float().square().mean().backward()
    for br in net.branches:
        assert br.dw.weight is None and br.pw.mlp is None and br.up.mlp is None
        for stage in (br.dw, br.pw, br.up, *(b.pw for b in br.blocks if b.pw is not None)):
            assert stage.free.grad is not None and stage.free.grad.abs().sum() > 0
    # the per-channel DW of the F blocks stays a product of its weights, unless asked
    for blk in net.branches[0].blocks:
        assert blk.dw.weight.grad is not None
    if net.branches[0].blocks:
        assert not net.block_dw_free
        net.free_tables(block_dw=True)
        assert net.block_dw_free
        np.testing.assert_array_equal(reference.restore(bake(net), img),
                                      reference.restore(spec, img))
        out = net(x)
        assert torch.equal(out, y)
        out.float().square().mean().backward()
        for blk in net.branches[0].blocks:
            assert blk.dw.weight is None and blk.dw.free.grad.abs().sum() > 0


def test_free_table_slope_is_the_central_difference():
    from tinylut.train.layers import slope
    h = torch.tensor([[[0.0], [1.0], [4.0], [9.0]]])          # v^2 on v = 0..3
    assert slope(h).view(-1).tolist() == [1.0, 2.0, 4.0, 5.0]
