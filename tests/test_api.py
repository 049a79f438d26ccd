"""The numpy API: what images it takes, what it refuses, and that it never needs torch."""
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import tinylut
from tinylut import reference
from randmodels import random_model


@pytest.fixture(scope="module")
def model():
    return tinylut.Model(random_model(0))


@pytest.mark.parametrize("image, error, message", [
    (np.zeros((4, 4), np.float32), TypeError, "uint8"),
    (np.zeros((4, 4), np.int16), TypeError, "uint8"),
    (np.zeros((4, 4), bool), TypeError, "uint8"),
    (np.full((4, 4), np.nan), TypeError, "uint8"),
    ([[1, 2], [3, 4]], TypeError, "numpy array"),
    (Image.new("RGB", (4, 4)), TypeError, r"numpy array, got Image; np.asarray\(image\)"),
    (np.zeros(4, np.uint8), ValueError, "shape"),
    (np.zeros((2, 2, 2, 2), np.uint8), ValueError, "shape"),
    (np.zeros((0, 4), np.uint8), ValueError, "empty"),
    (np.zeros((4, 0, 3), np.uint8), ValueError, "empty"),
    (np.zeros((4, 4, 5), np.uint8), ValueError, "channels"),
    (np.zeros((3, 40, 40), np.uint8), ValueError, "channels"),
])
def test_bad_images_rejected(model, image, error, message):
    with pytest.raises(error, match=message):
        model(image)
    with pytest.raises(error, match=message):
        tinylut.restore(image, model=model)


def test_shapes_in_and_out(model):
    rng = np.random.default_rng(0)
    for shape in [(5, 6), (5, 6, 1), (5, 6, 2), (5, 6, 3), (5, 6, 4)]:
        image = rng.integers(0, 256, shape, dtype=np.uint8)
        out = model(image)
        assert out.dtype == np.uint8 and out.flags.c_contiguous
        assert out.shape == (20, 24) + shape[2:]


def test_non_contiguous_views(model):
    image = np.random.default_rng(1).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    for view in [image[::2, ::3], image[::-1], image[:, ::-1, 1], image.transpose(1, 0, 2),
                 np.asfortranarray(image)]:
        np.testing.assert_array_equal(model(view), model(np.ascontiguousarray(view)))
    np.testing.assert_array_equal(model(image[::-1, :, 0]),
                                  reference.restore(model.spec, image[::-1, :, 0]))


def test_bad_arguments(model):
    image = np.zeros((4, 4), np.uint8)
    with pytest.raises(ValueError, match="threads"):
        model(image, threads=0)
    with pytest.raises(ValueError, match="instruction set"):
        model(image, isa="mmx")
    with pytest.raises(ValueError, match="task"):
        tinylut.restore(image, model=model, task="paint")
    with pytest.raises(TypeError):
        tinylut.restore(image, model=3.5)


def test_isa_from_environment(monkeypatch, model):
    image = np.random.default_rng(2).integers(0, 256, (6, 6), dtype=np.uint8)
    monkeypatch.setenv("TINYLUT_ISA", "scalar")
    assert tinylut.info()["isa"] == "scalar"
    monkeypatch.setenv("TINYLUT_ISA", "nonsense")
    with pytest.raises(ValueError, match="unknown instruction set"):
        model(image)


def test_info(model):
    info = tinylut.info()
    assert info["isa"] in info["isas"] and "scalar" in info["isas"]
    minfo = model.info()
    assert minfo["table_bytes"] == sum(s["bytes"] for s in minfo["stages"])
    assert len(minfo["stages"]) == 6
    assert [s["window"] for s in minfo["stages"]] == ["corner", "", ""] * 2
    layout = (("dw", 16), ("pw", 16), ("dw", 16))
    centred = tinylut.Model(random_model(1, layout=layout, centred="alternate")).info()
    assert [s["window"] for s in centred["stages"]][:4] == ["corner", "", "centred", ""]


def test_restore_never_imports_torch(tmp_path):
    from tinylut.model import write_model
    path = tmp_path / "m.tlut"
    write_model(random_model(0), path)
    code = ("import sys, numpy as np, tinylut; "
            f"m = tinylut.load_model({str(path)!r}); "
            "tinylut.restore(np.zeros((8, 8, 3), np.uint8), model=m); "
            "tinylut.info(); "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


# ----------------------------------------------------------------------------- denoising

@pytest.fixture(scope="module")
def denoiser(tmp_path_factory):
    """A random denoising model file (scale 1, UP 16->1) trained 'for' sigma 25."""
    from tinylut.model import replace, write_model
    path = tmp_path_factory.mktemp("dn") / "dn25.tlut"
    write_model(replace(random_model(3, scale=1), meta={"sigma": 25}), path)
    return path


def test_denoiser_runs_at_scale_one(denoiser):
    img = np.random.default_rng(4).integers(0, 256, (9, 7), dtype=np.uint8)
    m = tinylut.load_model(denoiser)
    assert (m.task, m.scale, m.sigma) == ("denoise", 1, 25.0)
    out = tinylut.restore(img, model=str(denoiser), task="denoise", sigma=25)
    assert out.shape == img.shape
    np.testing.assert_array_equal(out, reference.restore(m.spec, img))
    np.testing.assert_array_equal(tinylut.restore(img, model=m), out)     # task from the model
    # colour: every channel on its own
    rgb = np.random.default_rng(5).integers(0, 256, (6, 5, 3), dtype=np.uint8)
    out = tinylut.restore(rgb, model=m, task="denoise")
    for c in range(3):
        np.testing.assert_array_equal(out[..., c], m(rgb[..., c]))


def test_shipped_denoiser_names_and_missing_models(monkeypatch):
    img = np.zeros((4, 4), np.uint8)
    shipped = set(tinylut.shipped_models())
    for kw, name in [({"task": "denoise", "sigma": 25}, "tinylut-s-dn25"),
                     ({"sigma": 15}, "tinylut-s-dn15"),
                     ({"task": "denoise", "sigma": 50, "model": "tinylut-f"}, "tinylut-f-dn50"),
                     ({"model": "tinylut-f"}, "tinylut-f-x4")]:
        if name in shipped:
            assert tinylut.resolve_model(kw.get("model"), kw.get("task"), kw.get("sigma")).name \
                == name
            continue
        with pytest.raises(FileNotFoundError, match=name):
            tinylut.restore(img, **kw)
    # once every one is shipped, the error is still checked: hide the package's files
    monkeypatch.setattr(tinylut, "_shipped_path", lambda name: None)
    monkeypatch.setattr(tinylut, "_loaded", {})   # nor the models loaded so far
    with pytest.raises(FileNotFoundError, match="tinylut-f-dn50"):
        tinylut.restore(img, task="denoise", sigma=50, model="tinylut-f")


@pytest.mark.parametrize("kw, error, message", [
    ({"task": "denoise"}, ValueError, "needs sigma"),
    ({"task": "denoise", "sigma": 30}, ValueError, "sigma 30"),
    ({"task": "denoise", "sigma": -5}, ValueError, "sigma"),
    ({"task": "denoise", "sigma": "25"}, TypeError, "sigma"),
    ({"task": "denoise", "sigma": 25, "model": 3}, TypeError, "model"),
])
def test_denoise_selection_errors(kw, error, message):
    with pytest.raises(error, match=message):
        tinylut.restore(np.zeros((4, 4), np.uint8), **kw)


def test_wrong_task_or_sigma_for_the_model(model, denoiser):
    img = np.zeros((5, 5), np.uint8)
    with pytest.raises(ValueError, match="'sr' model, not 'denoise'"):
        tinylut.restore(img, model=model, task="denoise")
    with pytest.raises(ValueError, match="sigma is for denoising"):
        tinylut.restore(img, model=model, sigma=25)
    with pytest.raises(ValueError, match="'denoise' model, not 'sr'"):
        tinylut.restore(img, model=str(denoiser), task="sr")
    with pytest.raises(ValueError, match="trained for sigma 25, not 15"):
        tinylut.restore(img, model=str(denoiser), sigma=15)


@pytest.mark.parametrize("arg, hint", [("tinylut-s-x4.tlut", "load_model"), (3, "int"),
                                       (None, "NoneType")])
def test_model_needs_a_spec(arg, hint):
    """tinylut.Model wraps a ModelSpec; a path or anything else is a clear TypeError."""
    with pytest.raises(TypeError, match=hint):
        tinylut.Model(arg)
