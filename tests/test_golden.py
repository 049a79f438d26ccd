"""The released TinyLUT-S, imported into our format, restores the authors' outputs exactly."""
import numpy as np
import pytest
from PIL import Image

import tinylut
from tinylut.model import from_bytes, to_bytes
from tinylut.official import import_official
from randmodels import need_shared

NAMES = ["baby", "bird", "butterfly", "head", "woman"]


@pytest.fixture(scope="module")
def official():
    folder = need_shared("data", "official", "tinylut_s_x4")
    return tinylut.Model(from_bytes(to_bytes(import_official(str(folder)))))


def test_official_table_bytes(official):
    assert official.spec.table_bytes == 37776   # DESIGN.md: the released sizes


@pytest.mark.parametrize("name", NAMES)
def test_golden_set5(official, name):
    folder = need_shared("data", "official", "tinylut_s_x4", "golden_set5_x4")
    lr = np.asarray(Image.open(folder / "LR" / f"{name}.png").convert("RGB"))
    sr = np.asarray(Image.open(folder / "SR" / f"{name}.png").convert("RGB"))
    for isa in tinylut.engine.available_isas():
        np.testing.assert_array_equal(official(lr, isa=isa), sr, err_msg=isa)
