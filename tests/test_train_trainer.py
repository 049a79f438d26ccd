"""The trainer: a short run, exact resume, validation and bake (tiny synthetic data)."""
import argparse

import numpy as np
import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)   # small tensors: threads only add overhead on a busy machine

from PIL import Image  # noqa: E402

from tinylut import reference  # noqa: E402
from tinylut.model import read_model  # noqa: E402
from tinylut.train.data import build_pairs, imresize_down, sample_batch  # noqa: E402
from tinylut.train.nets import TinyLUTS  # noqa: E402
from tinylut.train.trainer import (dither_free_tables, is_free_table, lr_at, main,  # noqa: E402
                                   parse_args, revive_collapsed_scales)


def smooth_image(rng, h, w, channels):
    y, x = np.mgrid[0:h, 0:w]
    img = [128 + 60 * np.sin(x / rng.uniform(3, 9) + rng.uniform(0, 6))
           * np.cos(y / rng.uniform(3, 9)) + rng.normal(0, 8, (h, w)) for _ in range(channels)]
    img = np.clip(np.stack(img, -1), 0, 255).astype(np.uint8)
    return img[..., 0] if channels == 1 else img


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    (root / "train").mkdir()
    for i in range(3):
        Image.fromarray(smooth_image(rng, 50 + 8 * i, 61, 3 if i % 2 else 1)).save(
            root / "train" / f"{i}.png")
    val = root / "val"
    (val / "HR").mkdir(parents=True)
    (val / "LR_bicubic" / "X4").mkdir(parents=True)
    for i in range(2):
        hr = smooth_image(rng, 24, 28, 3)
        lr = np.stack([imresize_down(np.ascontiguousarray(hr[..., c]), 4) for c in range(3)], -1)
        Image.fromarray(hr).save(val / "HR" / f"{i}.png")
        Image.fromarray(lr).save(val / "LR_bicubic" / "X4" / f"{i}.png")
    return root


def run(folders, out, *extra, steps=("--steps", "6")):
    main(["--data", str(folders / "train"), "--out", str(out), *steps, "--batch", "2",
          "--patch", "8", "--val", str(folders / "val"), "--val-every", "3", "--ckpt-every", "2",
          "--seed", "5", "--no-progress", *extra])


def test_pairs_and_batches_are_seeded(folders):
    pairs = build_pairs([str(folders / "train")], 4, min_lr=8)
    assert len(pairs) == 1 + 3 + 1                               # gray, RGB, gray
    for hr, lr in zip(pairs.hr, pairs.lr):
        assert hr.shape == (lr.shape[0] * 4, lr.shape[1] * 4)
    a = sample_batch(pairs, np.random.default_rng(1), 4, 8)
    b = sample_batch(pairs, np.random.default_rng(1), 4, 8)
    assert a[0].shape == (4, 8, 8) and a[1].shape == (4, 32, 32)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_pairs_at_several_scales(folders):
    one = build_pairs([str(folders / "train")], 4, min_lr=8)
    two = build_pairs([str(folders / "train")], 4, min_lr=8, hr_scales=(1.0, 0.7))
    assert len(two) == 2 * len(one)           # every channel is still >= 8 LR pixels at 0.7
    for a, b in zip(one.hr, two.hr[0::2]):
        np.testing.assert_array_equal(a, b)   # the images as they are come first
    for hr, lr in zip(two.hr[1::2], two.lr[1::2]):
        assert hr.shape == (lr.shape[0] * 4, lr.shape[1] * 4)
        np.testing.assert_array_equal(lr, imresize_down(hr, 4))
    big = one.hr[0].shape
    assert two.hr[1].shape[0] <= 0.7 * big[0] + 4 and two.hr[1].shape[1] <= 0.7 * big[1] + 4


def test_cosine_schedule():
    args = parse_args(["--out", "x", "--steps", "100", "--lr", "5e-3", "--lr-min", "5e-4"])
    assert lr_at(0, args) == pytest.approx(5e-3)
    assert lr_at(50, args) == pytest.approx(2.75e-3)
    assert lr_at(100, args) == pytest.approx(5e-4)


def test_resume_is_exact_and_bake_matches(folders, tmp_path):
    run(folders, tmp_path / "straight", "--bake", str(tmp_path / "m.tlut"))
    run(folders, tmp_path / "split", "--stop-at", "3")
    mid = torch.load(tmp_path / "split" / "last.pt", weights_only=False)
    assert mid["step"] == 3
    run(folders, tmp_path / "split", "--resume")
    a = torch.load(tmp_path / "straight" / "last.pt", weights_only=False)
    b = torch.load(tmp_path / "split" / "last.pt", weights_only=False)
    assert a["step"] == b["step"] == 6
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
    assert [h[:3] for h in a["history"]] == [h[:3] for h in b["history"]]
    assert len(a["history"]) == 2
    # training moved the weights away from the initialisation
    torch.manual_seed(5)
    init = TinyLUTS().state_dict()
    assert any(not torch.equal(init[k], a["model"][k]) for k in init)
    for k in a["ema"]:
        assert torch.equal(a["ema"][k], b["ema"][k]), k
    # the weight average is 0.999 old weights + 0.001 new ones at every step
    assert any(not torch.equal(a["ema"][k], a["model"][k]) for k in init)
    # the baked file is the trained network (its weight average), bit for bit
    spec = read_model(tmp_path / "m.tlut")
    assert spec.meta["trained_steps"] == 6
    assert spec.meta["val_psnr_y"] == round(a["history"][-1][4], 3)
    net = TinyLUTS()
    net.load_state_dict(a["ema"])
    img = smooth_image(np.random.default_rng(3), 9, 7, 3)
    np.testing.assert_array_equal(net.restore(img), reference.restore(spec, img))
    # validation scored the baked model: the same number from the file through the reference
    from tinylut.train.data import load_sr_set
    from tinylut.train.evaluate import eval_sr
    items = load_sr_set(folders / "val", 4)
    assert a["history"][-1][4] == eval_sr(lambda im: reference.restore(spec, im), items, 4)
    assert a["history"][-1][5] == spec.table_bytes
    log = (tmp_path / "split" / "train.log").read_text()
    assert "resumed from" in log and "val val Y-PSNR" in log


def test_noisy_batches_are_seeded_and_rounded_like_the_test_noise(folders):
    from tinylut.noise import add_noise
    from tinylut.train.data import gray_set, load_gray_images, sample_noisy_batch
    images = load_gray_images([str(folders / "train")], min_size=8)
    assert len(images) == 3 and all(im.ndim == 2 and im.dtype == np.uint8 for im in images)
    train = gray_set(images)
    noisy, clean = sample_noisy_batch(train, np.random.default_rng(2), 4, 8, 25)
    again = sample_noisy_batch(train, np.random.default_rng(2), 4, 8, 25)
    np.testing.assert_array_equal(noisy, again[0])
    np.testing.assert_array_equal(clean, again[1])
    # the same draws: the patches first, then the noise of all of them at once
    rng = np.random.default_rng(2)
    patches, _ = sample_batch(train, rng, 4, 8)
    np.testing.assert_array_equal(patches, clean)
    np.testing.assert_array_equal(add_noise(patches, 25, rng), noisy)
    assert noisy.dtype == np.uint8 and 15 < np.std(noisy.astype(float) - clean) < 35


def test_denoise_run_bakes_a_denoiser(folders, tmp_path):
    from tinylut.train.data import load_denoise_set
    from tinylut.train.evaluate import eval_denoise
    val = tmp_path / "val"
    val.mkdir()
    for i in range(2):
        Image.fromarray(smooth_image(np.random.default_rng(10 + i), 12, 15, 1)).save(
            val / f"v{i}.png")
    out = tmp_path / "dn"
    main(["--task", "denoise", "--sigma", "15", "--data", str(folders / "train"), "--out",
          str(out), "--steps", "3", "--batch", "2", "--patch", "8", "--val", str(val),
          "--val-every", "3", "--seed", "1", "--no-progress", "--bake", str(tmp_path / "d.tlut")])
    spec = read_model(tmp_path / "d.tlut")
    assert (spec.name, spec.task, spec.scale, spec.arch) == \
        ("tinylut-s-dn15", "denoise", 1, "tinylut-s")
    assert spec.meta["sigma"] == 15 and spec.meta["table_budget"] == 22000
    assert spec.table_bytes <= 22000
    state = torch.load(out / "last.pt", weights_only=False)
    assert state["args"]["sigma"] == 15 and state["args"]["task"] == "denoise"
    # the logged validation is the baked file's PSNR on the fixed-noise Set12-style folder
    items = load_denoise_set(val, 15)
    assert spec.meta["val_psnr"] == round(
        eval_denoise(lambda im: reference.restore(spec, im), items), 3)


def test_denoise_needs_sigma(folders, tmp_path):
    with pytest.raises(SystemExit, match="sigma"):
        main(["--task", "denoise", "--data", str(folders / "train"), "--out", str(tmp_path),
              "--steps", "1", "--no-progress"])


def test_revive_sets_only_collapsed_scales():
    torch.manual_seed(0)
    net = TinyLUTS()
    msb, lsb = net.branches[0], net.branches[1]
    with torch.no_grad():
        lsb.rq1.scale.fill_(0.1)           # 0..3 all round to 0: collapsed
        lsb.rq2.scale[:8] = 0.2            # 3 * 0.2 rounds to 1: alive
        lsb.rq2.scale[8:] = -0.01
        msb.rq1.scale[0] = 0.01            # 32 * 0.01 rounds to 0: collapsed
    before = msb.rq2.scale.clone()
    assert revive_collapsed_scales(net, 0.7) == 16 + 8 + 1
    assert torch.all(lsb.rq1.scale == 0.7) and torch.all(lsb.rq2.scale[8:] == 0.7)
    assert torch.allclose(lsb.rq2.scale[:8], torch.tensor(0.2))
    assert msb.rq1.scale[0].item() == pytest.approx(0.7) and torch.equal(msb.rq2.scale, before)


def test_dither_keeps_the_function_and_staggers_the_fractions():
    torch.manual_seed(1)
    net = TinyLUTS().free_tables()
    with torch.no_grad():    # the lockstep case: a whole row at one rounding boundary
        net.branches[1].up.free[:, 0] = -0.5 + 1e-3
    x = torch.randint(-128, 128, (2, 13, 11))
    before = net(x)
    tables = {n: p.detach().clone() for n, p in net.named_parameters() if is_free_table(n)}
    assert dither_free_tables(net, seed=3) == sum(t.numel() for t in tables.values())
    assert torch.equal(net(x), before)
    for n, p in net.named_parameters():
        if is_free_table(n):
            assert torch.equal(torch.round(p), torch.round(tables[n]))
            assert torch.all((p - torch.round(p)).abs() < 0.45)
    row = net.branches[1].up.free[:, 0].detach().flatten()
    assert len(torch.unique(row)) == row.numel()     # no two entries left in lockstep


def test_dither_needs_free_tables(folders, tmp_path):
    with pytest.raises(SystemExit, match="free tables"):
        run(folders, tmp_path / "d", "--stop-at", "1", "--dither-tables", "0")
    run(folders, tmp_path / "t", "--stop-at", "1", "--tune-tables", "--dither-tables", "0")
    assert "free table entries dithered" in (tmp_path / "t" / "train.log").read_text()


def test_resume_may_change_the_schedule(folders, tmp_path):
    run(folders, tmp_path / "r", "--stop-at", "2")
    run(folders, tmp_path / "r", "--resume", "--steps", "8", "--lr", "1e-3", "--lr-min", "1e-5",
        "--revive-scales", "0.8")
    state = torch.load(tmp_path / "r" / "last.pt", weights_only=False)
    assert state["step"] == 8
    assert state["args"]["lr"] == 1e-3 and state["args"]["lr_min"] == 1e-5
    log = (tmp_path / "r" / "train.log").read_text()
    assert "collapsed DDM scales set to 0.8" in log


def test_l1_loss_trains_otherwise_and_is_kept_on_resume(folders, tmp_path):
    run(folders, tmp_path / "mse", "--stop-at", "2")
    run(folders, tmp_path / "l1", "--stop-at", "2", "--loss", "l1")
    mse = torch.load(tmp_path / "mse" / "last.pt", weights_only=False)
    l1 = torch.load(tmp_path / "l1" / "last.pt", weights_only=False)
    assert mse["args"]["loss"] == "mse" and l1["args"]["loss"] == "l1"
    # same seed, batches and start: only the loss differs, so the weights must
    assert any(not torch.equal(a, mse["model"][k]) for k, a in l1["model"].items())
    run(folders, tmp_path / "l1", "--resume")
    assert torch.load(tmp_path / "l1" / "last.pt", weights_only=False)["args"]["loss"] == "l1"


def test_resume_may_add_image_scales(folders, tmp_path):
    run(folders, tmp_path / "r", "--stop-at", "2")
    first = (tmp_path / "r" / "train.log").read_text()
    run(folders, tmp_path / "r", "--resume", "--hr-scales", "1", "0.7")
    state = torch.load(tmp_path / "r" / "last.pt", weights_only=False)
    assert state["step"] == 6 and state["args"]["hr_scales"] == [1.0, 0.7]
    log = (tmp_path / "r" / "train.log").read_text()[len(first):]
    assert "10 training images" in log       # 5 channels, twice
    with pytest.raises(SystemExit, match="hr-scales"):
        run(folders, tmp_path / "bad", "--hr-scales", "1.5")


def test_tune_tables_on_resume_keeps_the_function_then_trains_the_tables(folders, tmp_path):
    run(folders, tmp_path / "r", "--stop-at", "2")
    before = torch.load(tmp_path / "r" / "last.pt", weights_only=False)
    run(folders, tmp_path / "r", "--resume", "--stop-at", "3", "--tune-tables",
        "--bake", str(tmp_path / "t3.tlut"))
    mid = torch.load(tmp_path / "r" / "last.pt", weights_only=False)
    assert mid["args"]["tune_tables"] is True and mid["step"] == 3
    assert any(k.endswith(".free") for k in mid["model"])
    assert not any(".mlp." in k for k in mid["model"])
    assert len(mid["opt"]["param_groups"]) == 2          # the tables have their own rate
    log = (tmp_path / "r" / "train.log").read_text()
    assert "tables freed (LUT fine-tuning)" in log
    # freeing changes nothing by itself: the freed step-2 average is the MLP one, bit for bit
    mlp_net = TinyLUTS()
    mlp_net.load_state_dict(before["ema"])
    freed = TinyLUTS()
    freed.load_state_dict(before["ema"])
    freed.free_tables()
    img = smooth_image(np.random.default_rng(5), 10, 9, 1)
    np.testing.assert_array_equal(freed.restore(img), mlp_net.restore(img))
    # a later resume keeps the tables free (without the flag) and continues exactly
    run(folders, tmp_path / "r", "--resume", "--bake", str(tmp_path / "t6.tlut"))
    end = torch.load(tmp_path / "r" / "last.pt", weights_only=False)
    assert end["step"] == 6 and end["args"]["tune_tables"] is True
    assert any(not torch.equal(mid["model"][k], end["model"][k])
               for k in mid["model"] if k.endswith(".free"))
    spec = read_model(tmp_path / "t6.tlut")
    assert spec.meta["tables"].startswith("fine-tuned as free tables")
    net = TinyLUTS().free_tables()
    net.load_state_dict(end["ema"])
    img = smooth_image(np.random.default_rng(4), 8, 9, 3)
    np.testing.assert_array_equal(net.restore(img), reference.restore(spec, img))


def test_init_grows_tinylut_s_into_tinylut_f_with_the_same_function(folders, tmp_path):
    from tinylut.train.nets import build_net
    from tinylut.train.trainer import load_init
    torch.manual_seed(11)
    small = build_net("tinylut-s", "sr")
    with torch.no_grad():      # away from the start, as a trained net is
        for p in small.parameters():
            p.mul_(1 + 0.3 * torch.randn_like(p))
    big = build_net("tinylut-f", "sr")
    x = torch.randint(-128, 128, (2, 13, 10))
    assert not torch.equal(big(x), small(x))
    fresh = load_init(big, {"model": build_net("tinylut-s", "sr").state_dict(),
                            "ema": small.state_dict()}, "s.pt")
    assert fresh == len([k for k in big.state_dict() if ".blocks." in k]) > 0
    assert torch.equal(big(x), small(x))            # the average was loaded, blocks identity
    # a net of another task or a bigger one does not fit
    with pytest.raises(SystemExit, match="do not fit"):
        load_init(build_net("tinylut-f", "denoise"), {"model": small.state_dict()}, "s.pt")
    with pytest.raises(SystemExit, match="do not fit"):
        load_init(build_net("tinylut-s", "sr"), {"model": big.state_dict()}, "f.pt")
    # an F run's blocks fit an F net only with the same windows (the same shapes otherwise)
    centred = build_net("tinylut-f", "sr", centred_blocks=True)
    assert load_init(centred, {"model": small.state_dict()}, "s.pt") > 0   # S: no blocks
    with pytest.raises(SystemExit, match="windows"):
        load_init(centred, {"model": big.state_dict(), "args": {}}, "f.pt")
    load_init(centred, {"model": big.state_dict(), "args": {"centred_blocks": True}}, "f.pt")
    # an F run grows by a block the same way: the new (last) block starts as the identity
    with torch.no_grad():
        for p in centred.parameters():
            p.mul_(1 + 0.3 * torch.randn_like(p))
    deeper = build_net("tinylut-f", "sr", centred_blocks=True, msb_blocks=5)
    grown = load_init(deeper, {"model": centred.state_dict(), "args": {"centred_blocks": True}},
                      "f.pt")
    assert grown == len([k for k in deeper.state_dict() if ".blocks.4." in k]) > 0
    assert torch.equal(deeper(x), centred(x))
    # or by a DW-only block after the last one
    tail = build_net("tinylut-f", "sr", centred_blocks=True, msb_blocks=5, msb_tail_dw=1)
    grown = load_init(tail, {"model": deeper.state_dict(), "args": {"centred_blocks": True}},
                      "f.pt")
    assert grown == len([k for k in tail.state_dict() if ".blocks.5." in k]) == 2
    assert torch.equal(tail(x), centred(x))
    # through the trainer: an F run started from an S run's checkpoint
    run(folders, tmp_path / "s", "--steps", "2")
    run(folders, tmp_path / "f", "--steps", "2", "--arch", "tinylut-f", "--val-every", "100",
        "--init", str(tmp_path / "s" / "last.pt"))
    log = (tmp_path / "f" / "train.log").read_text()
    assert "block tensors start as the identity" in log
    # a resume keeps the record of where the weights started (it does not load them again)
    run(folders, tmp_path / "f", "--resume", "--steps", "3")
    state = torch.load(tmp_path / "f" / "last.pt", weights_only=False)
    assert state["step"] == 3 and state["args"]["init"] == str(tmp_path / "s" / "last.pt")


def test_tune_block_dw_may_be_added_on_a_later_resume(folders, tmp_path):
    from tinylut.train.trainer import net_from_args
    run(folders, tmp_path / "f", "--steps", "4", "--stop-at", "2", "--arch", "tinylut-f",
        "--val-every", "100", "--tune-tables")
    first = torch.load(tmp_path / "f" / "last.pt", weights_only=False)
    assert first["args"]["tune_tables"] and not first["args"]["tune_block_dw"]
    assert any(k.endswith("blocks.0.dw.weight") for k in first["model"])
    run(folders, tmp_path / "f", "--resume", "--stop-at", "3", "--tune-block-dw",
        "--bake", str(tmp_path / "f3.tlut"))
    mid = torch.load(tmp_path / "f" / "last.pt", weights_only=False)
    assert mid["args"]["tune_tables"] and mid["args"]["tune_block_dw"] and mid["step"] == 3
    assert not any(".dw.weight" in k for k in mid["model"])
    assert "the blocks' DW too" in (tmp_path / "f" / "train.log").read_text()
    # freeing the block DWs changed nothing by itself: the step-2 average, freed, is the same
    before, freed = (net_from_args(first["args"]) for _ in range(2))
    before.load_state_dict(first["ema"])
    freed.load_state_dict(first["ema"])
    freed.free_tables(block_dw=True)
    img = smooth_image(np.random.default_rng(5), 10, 9, 1)
    np.testing.assert_array_equal(freed.restore(img), before.restore(img))
    # the checkpoint rebuilds as saved and its bake is the trained net
    net = net_from_args(mid["args"])
    net.load_state_dict(mid["ema"])
    spec = read_model(tmp_path / "f3.tlut")
    assert "the blocks' DW too" in spec.meta["tables"]
    np.testing.assert_array_equal(net.restore(img), reference.restore(spec, img))


def test_too_many_blocks_stop_before_training(folders, tmp_path):
    with pytest.raises(SystemExit, match="17 stages"):
        run(folders, tmp_path / "x", "--arch", "tinylut-f", "--msb-blocks", "6",
            "--msb-tail-dw", "2")
    assert not (tmp_path / "x" / "last.pt").exists()


def test_centred_blocks_and_width_are_kept_on_resume_and_baked(folders, tmp_path):
    from tinylut.train.trainer import net_from_args
    run(folders, tmp_path / "c", "--steps", "4", "--stop-at", "2", "--arch", "tinylut-f",
        "--val-every", "100", "--centred-blocks", "--msb-channels", "20", "--msb-blocks", "2",
        "--msb-tail-dw", "1", "--block-dilation", "2", "1", "2")
    run(folders, tmp_path / "c", "--resume", "--stop-at", "3", "--bake", str(tmp_path / "c.tlut"))
    state = torch.load(tmp_path / "c" / "last.pt", weights_only=False)
    assert state["args"]["centred_blocks"] and state["step"] == 3
    assert state["args"]["block_dilation"] == [2, 1, 2]
    assert state["args"]["msb_channels"] == 20 and state["args"]["msb_blocks"] == 2
    assert state["args"]["msb_tail_dw"] == 1
    net = net_from_args(state["args"])
    assert [blk.pw is None for blk in net.branches[0].blocks] == [False, False, True]
    assert all(blk.dw.centred and blk.dw.channels == 20 for blk in net.branches[0].blocks)
    net.load_state_dict(state["ema"])
    spec = read_model(tmp_path / "c.tlut")
    assert [st.kind for st in spec.branches[0].stages] == ["dw", "pw"] * 3 + ["dw", "pw"]
    assert [st.centred for st in spec.branches[0].stages] == \
        [st.kind == "dw" and i > 0 for i, st in enumerate(spec.branches[0].stages)]
    assert [st.window for st in spec.branches[0].stages if st.kind == "dw"] == \
        ["corner", "dilated", "centred", "dilated"]
    img = smooth_image(np.random.default_rng(6), 11, 8, 1)
    np.testing.assert_array_equal(net.restore(img), reference.restore(spec, img))


def test_resume_with_eight_orientations_converts_and_keeps_them(folders, tmp_path):
    """--rotations 8 on resume: the same weights now summed over eight orientations, the
    baked file says so and runs like the network; a later resume keeps the eight."""
    from tinylut.train.trainer import net_from_args
    run(folders, tmp_path / "r", "--stop-at", "2")
    four = torch.load(tmp_path / "r" / "last.pt", weights_only=False)
    assert four["args"]["rotations"] == 4
    run(folders, tmp_path / "r", "--resume", "--rotations", "8", "--stop-at", "3")
    state = torch.load(tmp_path / "r" / "last.pt", weights_only=False)
    assert state["args"]["rotations"] == 8 and state["step"] == 3
    assert "now over 8 orientations (the run had 4)" in (tmp_path / "r" / "train.log").read_text()
    run(folders, tmp_path / "r", "--resume", "--stop-at", "4", "--bake", str(tmp_path / "r.tlut"))
    state = torch.load(tmp_path / "r" / "last.pt", weights_only=False)
    assert state["args"]["rotations"] == 8
    spec = read_model(tmp_path / "r.tlut")
    assert spec.rotations == 8
    net = net_from_args(state["args"])
    net.load_state_dict(state["ema"])
    img = smooth_image(np.random.default_rng(7), 9, 12, 1)
    np.testing.assert_array_equal(net.restore(img), reference.restore(spec, img))
    np.testing.assert_array_equal(net.restore(img.T), net.restore(img).T)


@pytest.mark.parametrize("extra, message", [
    (("--block-dilation", "2", "1"), "centred"),                       # corner blocks
    (("--centred-blocks", "--block-dilation", "2"), "one per MSB block"),
    (("--centred-blocks", "--block-dilation", "3", "1"), "1 or 2")])
def test_bad_block_dilation_stops_before_training(folders, tmp_path, extra, message):
    with pytest.raises(SystemExit, match=message):
        run(folders, tmp_path / "x", "--arch", "tinylut-f", "--msb-blocks", "2", *extra)
    assert not (tmp_path / "x" / "last.pt").exists()


def test_warm_restart_starts_its_cosine_at_the_restart_rate(folders, tmp_path):
    run(folders, tmp_path / "r", "--stop-at", "4")
    run(folders, tmp_path / "r", "--resume", "--warm-restart", "3", "--restart-lr", "2e-3",
        "--lr-min", "1e-4", steps=())
    state = torch.load(tmp_path / "r" / "last.pt", weights_only=False)
    assert state["step"] == 7
    saved = argparse.Namespace(**state["args"])
    assert saved.steps == 7 and saved.lr_min == 1e-4
    assert lr_at(4, saved) == pytest.approx(2e-3)      # where the restart began
    assert lr_at(7, saved) == pytest.approx(1e-4)
    assert "warm_restart" not in state["args"]         # a later resume keeps the new schedule
    assert "warm restart: cosine" in (tmp_path / "r" / "train.log").read_text()


@pytest.mark.parametrize("extra, message", [
    (["--warm-restart", "3"], "needs --resume"),
    (["--resume", "--warm-restart", "3", "--steps", "9"], "give neither"),
    (["--resume", "--warm-restart", "0"], ">= 1"),
    (["--resume", "--warm-restart", "3", "--restart-lr", "1e-5", "--lr-min", "1e-4"],
     "above --lr-min"),
])
def test_warm_restart_refuses_what_it_cannot_do(folders, tmp_path, extra, message):
    if "--resume" in extra:
        run(folders, tmp_path / "r", "--stop-at", "2")
    with pytest.raises(SystemExit, match=message):
        run(folders, tmp_path / "r", *extra, steps=())
