"""The transposed self-ensemble (``ensemble=True``): its rounding, its symmetry, and that it
is the mean of two plain runs on every path, checked against the numpy reference engine."""
from __future__ import annotations

import json

import numpy as np
import pytest

import tinylut
from randmodels import random_model
from tinylut import engine, reference
from tinylut.cli import main
from tinylut.ensemble import mean_rne
from tinylut.imageio import read_image, write_image


def rand_img(shape, seed):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def reference_ensemble(spec, img):
    """Independent of tinylut.ensemble: numpy's round is half to even."""
    a = reference.restore(spec, img).astype(np.float64)
    swapped = np.swapaxes(img, 0, 1)
    b = np.swapaxes(reference.restore(spec, np.ascontiguousarray(swapped)), 0, 1)
    return np.round((a + b) / 2).astype(np.uint8)


def test_mean_rne_every_pair():
    a, b = np.meshgrid(np.arange(256, dtype=np.uint8), np.arange(256, dtype=np.uint8))
    want = np.round((a.astype(np.float64) + b) / 2).astype(np.uint8)
    np.testing.assert_array_equal(mean_rne(a, b), want)


@pytest.mark.parametrize("seed, kw", [(0, {}), (1, {"centred": "alternate"}),
                                      (2, {"scale": 1, "task": "denoise"}),
                                      (3, {"layout": (("dw", 16), ("pw", 16), ("dw", 16)),
                                           "centred": True, "dilation": "alternate"})])
@pytest.mark.parametrize("shape", [(13, 7, 3), (5, 9), (1, 6, 2), (8, 8, 4)])
def test_ensemble_is_mean_of_image_and_transpose(seed, kw, shape):
    spec = random_model(seed, **kw)
    model = tinylut.Model(spec)
    img = rand_img(shape, seed + 10)
    got = model(img, ensemble=True, threads=2)
    assert got.shape == model(img).shape
    want = reference_ensemble(spec, img if img.ndim == 3 else img[:, :, None])
    np.testing.assert_array_equal(got, want if img.ndim == 3 else want[:, :, 0])


@pytest.mark.parametrize("isa", engine.available_isas())
def test_ensemble_same_on_every_path_and_commutes_with_transpose(isa):
    model = tinylut.Model(random_model(4, centred=True))
    img = rand_img((23, 17, 3), 5)
    out = model(img, ensemble=True, isa=isa, threads=1)
    np.testing.assert_array_equal(out, model(img, ensemble=True, isa="scalar", threads=3))
    # all eight orientations are averaged, so transposing the input transposes the output
    flipped = model(np.ascontiguousarray(img.transpose(1, 0, 2)), ensemble=True, isa=isa)
    np.testing.assert_array_equal(flipped, out.transpose(1, 0, 2))


def test_ensemble_off_is_the_plain_run():
    model = tinylut.Model(random_model(0))
    img = rand_img((10, 12, 3), 6)
    np.testing.assert_array_equal(model(img, ensemble=False), model(img))
    assert (model(img, ensemble=True) != model(img)).any()


@pytest.mark.parametrize("bad", ["yes", 1, None, 0.0])
def test_ensemble_must_be_bool(bad):
    img = rand_img((4, 4), 0)
    with pytest.raises(TypeError, match="ensemble"):
        tinylut.Model(random_model(0))(img, ensemble=bad)
    with pytest.raises(TypeError, match="ensemble"):
        tinylut.restore(img, ensemble=bad)


def test_cli_restore_and_eval_ensemble(tmp_path, capsys, random_model_path, random_spec):
    lr = rand_img((9, 11, 3), 7)
    write_image(tmp_path / "in.png", lr)
    assert main(["restore", str(tmp_path / "in.png"), str(tmp_path / "out.png"), "--model",
                 str(random_model_path), "--ensemble"]) == 0
    np.testing.assert_array_equal(read_image(tmp_path / "out.png"),
                                  reference_ensemble(random_spec, lr))
    root = tmp_path / "set"
    (root / "HR").mkdir(parents=True)
    (root / "LR_bicubic" / "X4").mkdir(parents=True)
    write_image(root / "LR_bicubic" / "X4" / "a.png", lr)
    write_image(root / "HR" / "a.png", rand_img((36, 44, 3), 8))
    capsys.readouterr()
    for flag in ([], ["--ensemble"]):
        assert main(["eval", "--model", str(random_model_path), "--data", str(root), "--json",
                     *flag]) == 0
        res = json.loads(capsys.readouterr().out)
        assert res["ensemble"] is bool(flag)
        plain = res["psnr"] if not flag else plain
    assert res["psnr"] != plain


def test_mean_rne_checks_its_arrays():
    a = np.zeros((3, 4), np.uint8)
    with pytest.raises(ValueError, match="one shape"):
        mean_rne(a, np.zeros((4, 3), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        mean_rne(a, np.zeros((3, 4), np.uint16))
    strided = np.arange(24, dtype=np.uint8).reshape(4, 6)[:, ::2].T   # a non-contiguous view
    np.testing.assert_array_equal(mean_rne(strided, strided), strided)


def test_a_model_of_eight_orientations_is_its_own_ensemble(monkeypatch):
    """Summing all eight orientations, the model restores a transposed image as its output
    transposed: the ensemble is that same output, and is run once."""
    model = tinylut.Model(random_model(5, rotations=8))
    img = rand_img((9, 14, 3), 8)
    plain = model(img)
    calls, real_run = [], engine.run
    monkeypatch.setattr(engine, "run", lambda *a, **kw: calls.append(1) or real_run(*a, **kw))
    np.testing.assert_array_equal(model(img, ensemble=True), plain)
    assert len(calls) == 1
    np.testing.assert_array_equal(reference_ensemble(model.spec, img), plain)
