"""The models inside the package: present, valid, the defaults of restore(), and as good as
their file says (the figures the README quotes are re-measured here on Set5)."""
import json

import numpy as np
import pytest

import tinylut
from randmodels import need_shared
from tinylut.cli import main


def test_default_sr_model_is_shipped():
    assert tinylut.DEFAULT_MODELS["sr"] in tinylut.shipped_models()
    assert tinylut.DEFAULT_MODELS["sr"] in tinylut.info()["models"]


@pytest.mark.parametrize("name", tinylut.shipped_models())
def test_shipped_model_loads_and_is_small(name):
    model = tinylut.load_model(name)
    assert model.source == f"shipped:{name}"
    # the issues' storage limits (KB read as 1000 bytes, the stricter reading)
    limit = {("sr", "tinylut-s"): 38_000, ("sr", "tinylut-f"): 171_000,
             ("denoise", "tinylut-s"): 22_000, ("denoise", "tinylut-f"): 187_000}
    assert model.spec.table_bytes <= limit[(model.task, model.arch)]
    if model.task == "denoise":
        assert model.scale == 1 and name.endswith(f"-dn{model.sigma:g}")


def test_restore_without_a_model_uses_the_shipped_default():
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, (7, 9, 3), dtype=np.uint8)
    expected = tinylut.load_model(tinylut.DEFAULT_MODELS["sr"])(img)
    out = tinylut.restore(img)
    assert out.shape == (28, 36, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, expected)


def test_default_sr_model_scores_what_its_file_records_on_set5(capsys):
    """The bake tool writes its Set5 score into the file's meta; `tinylut eval` reproduces it."""
    folder = need_shared("data", "sr", "Set5")
    name = tinylut.DEFAULT_MODELS["sr"]
    recorded = tinylut.load_model(name).spec.meta.get("psnr_y", {}).get("Set5")
    if recorded is None:
        pytest.skip("the shipped model's file records no Set5 score")
    assert main(["eval", "--model", name, "--data", str(folder), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 5
    assert abs(result["psnr"] - recorded) < 1e-3


@pytest.mark.parametrize("name", [n for n in tinylut.shipped_models() if "-dn" in n])
def test_shipped_denoiser_scores_what_its_file_records_on_set12(name, capsys):
    """`tinylut eval --task denoise` (its fixed noise) reproduces the bake tool's Set12 score."""
    folder = need_shared("data", "denoise", "Set12")
    model = tinylut.load_model(name)
    recorded = model.spec.meta.get("psnr", {}).get("Set12")
    if recorded is None:
        pytest.skip(f"{name} records no Set12 score")
    assert main(["eval", "--task", "denoise", "--sigma", f"{model.sigma:g}",
                 "--model", model.arch, "--data", str(folder), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 12 and result["model"] == name
    assert abs(result["psnr"] - recorded) < 1e-3
