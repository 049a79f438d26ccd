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
    limit = {"sr": 38 * 1024}.get(model.task)
    if limit is not None and model.arch == "tinylut-s":
        assert model.spec.table_bytes <= limit


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
