"""Denoising and TinyLUT-F networks (torch): the baked file runs bit for bit like the network,
the table-space gradients equal the per-pixel network's, and the table budget holds.

a. random untrained networks of every architecture and task (several seeds): the torch integer
   forward equals the numpy reference engine and the C engine run on the baked file, gray and
   RGB (channels independently), odd sizes down to 1x1;
b. the grid forward and gradients equal the per-pixel MLP network (denoise UP with its table
   skip and no residual; the F blocks) and the feature DW's hand-written backward equals
   autograd of plain ops;
c. ``fit_budget`` caps the DDM scales so that the baked tables fit, and ``table_bytes`` predicts
   the baked bytes exactly.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)   # small tensors: threads only add overhead on a busy machine

from tinylut import reference  # noqa: E402
from tinylut.model import from_bytes, to_bytes  # noqa: E402
from tinylut.train.bake import bake  # noqa: E402
from tinylut.train.budget import fit_budget, table_bytes  # noqa: E402
from tinylut.train.dwfeat import FeatureDW, window_index  # noqa: E402
from tinylut.train.nets import ARCHS, MergeRotations, build_net, merge_index, orient  # noqa: E402
from test_train_layers import check_grid_equals_per_pixel, randomize  # noqa: E402
from test_train_parity import engine_or_none, parity_images  # noqa: E402

SHAPES = [(1, 1), (1, 6), (6, 1), (2, 5), (5, 2), (3, 3), (7, 4), (9, 11), (13, 3)]
NETS = sorted(ARCHS)


def random_net(arch, task, seed, centred_blocks=False, msb_channels=None, tail_dw=0,
               dilation=None, rotations=4):
    torch.manual_seed(seed)
    net = build_net(arch, task, centred_blocks=centred_blocks, msb_channels=msb_channels,
                    msb_tail_dw=tail_dw, block_dilation=dilation, rotations=rotations)
    return randomize(net, seed) if seed else net


@pytest.mark.parametrize("arch, task, seed, centred, width, tail, dilation, rotations", [
    # S sr: test_train_parity.py
    (a, t, seed, False, None, 0, None, 4) for a, t in NETS if (a, t) != ("tinylut-s", "sr")
    for seed in ((0, 1, 2, 3) if a == "tinylut-s" else (0, 1))] + [
    ("tinylut-f", t, 2, True, None, 0, None, 4) for t in ("sr", "denoise")] + [
    ("tinylut-f", "sr", 4, True, None, 1, None, 4),
    ("tinylut-f", "denoise", 4, False, None, 2, None, 4)]
    + [("tinylut-s", "sr", 3, False, 24, 0, None, 4),
       ("tinylut-s", "denoise", 3, False, 32, 0, None, 4)]
    # dilated block windows: mixed with plain centred ones, in a DW-only block too
    + [("tinylut-f", "sr", 5, True, None, 1, (2, 1, 2, 2, 1), 4),
       ("tinylut-f", "denoise", 6, True, None, 0, (1, 2, 1, 2, 2), 4)]
    # eight orientations (the transposed image's four rotations too, the sum halved)
    + [("tinylut-f", "sr", 7, True, None, 0, (1, 2, 1, 2), 8),
       ("tinylut-s", "sr", 8, False, None, 0, None, 8),
       ("tinylut-f", "denoise", 9, True, None, 0, None, 8)])
def test_random_networks_bake_bit_exact(arch, task, seed, centred, width, tail, dilation,
                                        rotations):
    net = random_net(arch, task, seed, centred, width, tail, dilation, rotations)
    spec = from_bytes(to_bytes(bake(net, name="x")))          # through the file format
    assert (spec.arch, spec.task, spec.scale) == (arch, task, 1 if task == "denoise" else 4)
    assert spec.rotations == rotations
    msb = spec.branches[0].stages
    blocks = len(net.branches[0].blocks) - tail
    kinds = ["dw", "pw"] + ["dw", "pw"] * blocks + ["dw"] * tail + ["pw"]
    assert [st.kind for st in msb] == kinds
    assert [st.centred for st in msb] == \
        [centred and 1 < i < len(msb) - 1 and kinds[i] == "dw" for i in range(len(msb))]
    assert [st.dilation for st in msb if st.centred] == \
        list(dilation or [1] * (blocks + tail if centred else 0))
    assert msb[0].cout == (width or 16) and msb[-1].cin == (width or 16)
    assert msb[-1].residual == (task == "sr" and width is None)
    engine = engine_or_none(spec)
    for img in parity_images(seed, SHAPES):
        got = net.restore(img)
        assert got.shape[:2] == (img.shape[0] * net.scale, img.shape[1] * net.scale)
        if img.size <= 15 or img.ndim == 3 or engine is None:   # the slow numpy reference
            want = reference.restore(spec, img)
            np.testing.assert_array_equal(got, want, err_msg=f"reference, shape {img.shape}")
        if engine is not None:
            np.testing.assert_array_equal(got, engine(img, threads=1),
                                          err_msg=f"C engine, shape {img.shape}")


def test_networks_differ_from_identity():
    """The parity above means something: the random networks really change the images."""
    img = np.random.default_rng(0).integers(0, 256, (9, 11), dtype=np.uint8)
    for arch, task in NETS:
        out = random_net(arch, task, 1).restore(img)
        if task == "denoise":
            assert np.mean(out != img) > 0.5


def test_denoise_up_stage_in_the_file():
    spec = bake(random_net("tinylut-s", "denoise", 1), name="x")
    for br in spec.branches:
        up = br.stages[-1]
        assert (up.kind, up.cin, up.cout, up.residual, up.divisor) == ("pw", 16, 1, False, 16)
        assert (up.out_lo, up.out_hi) == (-128, 127)


@pytest.mark.parametrize("arch, task, tail", [(a, t, 0) for a, t in NETS]
                         + [("tinylut-f", "sr", 1)])
def test_grid_forward_and_gradients_equal_per_pixel_network(arch, task, tail):
    net = random_net(arch, task, 3, tail_dw=tail)
    n_params = len(list(net.parameters()))
    # the deepest net in float64: in float32 its smallest gradients (a bias's, 4e-3 at most)
    # differ by a float32 rounding of the larger terms they sum (4e-8), over the 1e-5 bound
    dtype = torch.float64 if tail else torch.float32
    default = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        check_grid_equals_per_pixel(net.to(dtype), torch.Generator().manual_seed(4), 7,
                                    0.8 * n_params)
    finally:
        torch.set_default_dtype(default)


def fast_and_reference(dw, param, vals, geom, gen):
    """(output, param's gradient, input's gradient) of the stage and of its reference, for a
    random output gradient; the outputs must be equal."""
    go = torch.randn(vals.shape, generator=gen)
    outs = []
    for ref in (False, True):
        param.grad = None
        v = vals.clone().requires_grad_(True)
        out = dw.reference(v, geom) if ref else dw(v, geom)
        out.backward(go)
        outs.append((out.detach(), param.grad.clone(), v.grad.clone()))
    assert torch.equal(outs[0][0], outs[1][0])
    return outs


WINDOWS = [(False, 1), (True, 1), (True, 2)]     # (centred, dilation)


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("wrange", [1.5, 6.0])        # 6.0: some products clamp
def test_feature_dw_backward_equals_autograd(wrange, window):
    g = torch.Generator().manual_seed(5)
    geom = ((2, 5, 7), (2, 7, 5), (1, 1, 3), (1, 2, 1))
    win = window_index(geom)
    for lo, hi in ((-32, 31), (0, 3)):
        dw = FeatureDW(lo, hi, 16, *window)
        with torch.no_grad():
            dw.weight.copy_((torch.rand(dw.weight.shape, generator=g) * 2 - 1) * wrange)
        vals = torch.randint(lo, hi + 1, (win.shape[0], 16), generator=g).float()
        outs = fast_and_reference(dw, dw.weight, vals, geom, g)
        torch.testing.assert_close(outs[0][1], outs[1][1], rtol=1e-5, atol=1e-4)
        torch.testing.assert_close(outs[0][2], outs[1][2], rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("window", WINDOWS)
def test_free_feature_dw_equals_autograd_of_gathered_rows(window):
    """Free (nonlinear) tap tables: the lookup's values and its table and input gradients equal
    autograd of plain gathers (the input's straight-through gradient is the table's slope)."""
    g = torch.Generator().manual_seed(6)
    geom = ((2, 5, 7), (2, 7, 5), (1, 1, 3), (1, 2, 1))
    win = window_index(geom)
    for lo, hi in ((-32, 31), (0, 3)):
        dw = FeatureDW(lo, hi, 16, *window)
        with torch.no_grad():
            dw.weight.copy_((torch.rand(dw.weight.shape, generator=g) * 2 - 1) * 6)
        vals = torch.randint(lo, hi + 1, (win.shape[0], 16), generator=g).float()
        linear = dw(vals, geom)
        dw.free_tables()
        assert dw.weight is None
        assert torch.equal(dw(vals, geom), linear)            # the same function at the switch
        with torch.no_grad():                                  # then any function of the value
            dw.free.add_(torch.randn(dw.free.shape, generator=g) * 40)
        outs = fast_and_reference(dw, dw.free, vals, geom, g)
        assert not torch.equal(outs[0][0], linear)
        torch.testing.assert_close(outs[0][1], outs[1][1], rtol=1e-5, atol=1e-4)
        torch.testing.assert_close(outs[0][2], outs[1][2], rtol=1e-5, atol=1e-4)
        assert outs[0][2].abs().sum() > 0


@pytest.mark.parametrize("window, pad", [((False, 1), (2, 0)), ((True, 1), (1, 1)),
                                         ((True, 2), (2, 2))])
def test_window_index_is_numpy_reflect_window(window, pad):
    geom = ((1, 4, 6), (2, 1, 3), (1, 2, 1), (1, 3, 2))
    win = window_index(geom, None, *window).numpy()
    d = window[1]
    start = 0
    for n, h, w in geom:
        ids = np.arange(start, start + n * h * w).reshape(n, h, w)
        for i in range(n):
            p = np.pad(ids[i], (pad, pad), mode="reflect")
            want = np.stack([p[d * a:d * a + h, d * b:d * b + w]
                             for a in range(3) for b in range(3)], -1)
            got = win[ids[i].reshape(-1)]
            np.testing.assert_array_equal(got, want.reshape(-1, 9))
        start += n * h * w


@pytest.mark.parametrize("arch, task, tail", [(a, t, 0) for a, t in NETS]
                         + [("tinylut-f", "sr", 1)])
def test_table_bytes_predicts_bake_and_budget_holds(arch, task, tail):
    for seed in (0, 2):
        net = random_net(arch, task, seed, tail_dw=tail)
        with torch.no_grad():                 # large scales: the tables outgrow any budget
            for s in net.ddm_scales():
                s.mul_(2.5)
        before = table_bytes(net)
        assert before == bake(net).table_bytes
        budget = net.table_budget or 30_000
        cap = fit_budget(net, budget)
        got = bake(net).table_bytes
        assert got == table_bytes(net) <= budget
        if before > budget:
            assert cap is not None and got > 0.97 * budget   # the largest cap that fits
        assert fit_budget(net, budget) is None              # a second call changes nothing


def test_budget_too_small_is_an_error():
    net = build_net("tinylut-s", "denoise")
    with pytest.raises(ValueError, match="too small"):
        fit_budget(net, 5000)


def test_unknown_architecture_or_scale():
    with pytest.raises(ValueError, match="unknown architecture"):
        build_net("tinylut-x", "sr")
    with pytest.raises(ValueError, match="17 stages"):     # the file format's limit, at once
        build_net("tinylut-f", "denoise", msb_blocks=6, msb_tail_dw=2)
    with pytest.raises(ValueError, match="-1 blocks"):
        build_net("tinylut-f", "sr", msb_blocks=-1)
    assert len(build_net("tinylut-f", "denoise", msb_blocks=6, msb_tail_dw=1)
               .branches[0].blocks) == 7
    with pytest.raises(ValueError, match="scale 1"):
        build_net("tinylut-s", "denoise", 4)


def test_fresh_f_blocks_are_the_identity():
    """A new F block passes its features through unchanged (DW taps and last PW layer zero,
    scales 1), so an untrained F network starts from the TinyLUT-S function."""
    torch.manual_seed(0)
    net = build_net("tinylut-f", "denoise", msb_tail_dw=1)
    geom = ((2, 6, 5),)
    f = torch.randint(-32, 32, (60, 16)).float()
    assert net.branches[0].blocks[-1].pw is None      # the DW-only block too
    for blk in net.branches[0].blocks:
        assert torch.equal(blk(f, geom, per_pixel=False), f)


@pytest.mark.parametrize("scale, rots", [(4, (0, 1, 2, 3)), (1, (0, 1, 2, 3)), (2, (0, 2)),
                                         (3, (0,)), (4, tuple(range(8))), (3, tuple(range(8)))])
def test_merge_rotations_equals_autograd_of_shuffle_and_rotations(scale, rots):
    """One gather (and its inverse) = pixel shuffle, rotate back, clamp each rotation, sum,
    clamp, through autograd (DESIGN.md section 1, steps 8-9); orientations 4..7 are the
    transposed image's rotations, and the sum of eight is halved (rounded half to even, a
    straight-through gradient of 1/2)."""
    g = torch.Generator().manual_seed(scale)
    b, h, w = 2, 5, 3
    halve = len(rots) == 8
    geom = tuple(tuple(orient(torch.zeros(b, h, w), r).shape) for r in rots)
    p = sum(n * hh * ww for n, hh, ww in geom)
    y = torch.randint(-128, 128, (p, scale * scale), generator=g).float().requires_grad_(True)
    go = torch.randn(b, h * scale, w * scale, generator=g)
    got = MergeRotations.apply(y, *merge_index(geom, rots, scale), (b, h * scale, w * scale),
                               halve)
    acc, start = 0, 0
    for r, (n, hh, ww) in zip(rots, geom):
        yr = y[start:start + n * hh * ww].reshape(n, hh, ww, scale, scale)
        yr = yr.permute(0, 1, 3, 2, 4).reshape(n, hh * scale, ww * scale)
        yr = torch.rot90(yr, -(r % 4), (1, 2))
        acc = acc + torch.clamp(yr if r < 4 else yr.transpose(1, 2), -128, 127)
        start += n * hh * ww
    if halve:
        half = acc * 0.5
        acc = half + (torch.from_numpy(reference.rne_div(acc.detach().long().numpy(), 2))
                      .float() - half).detach()
    want = torch.clamp(acc, -128, 127)
    assert torch.equal(got, want)
    assert len(rots) == 1 or bool((acc.abs() > 128).any())      # the final clamp cuts somewhere
    torch.testing.assert_close(torch.autograd.grad(got, y, go)[0],
                               torch.autograd.grad(want, y, go)[0], rtol=0, atol=0)
