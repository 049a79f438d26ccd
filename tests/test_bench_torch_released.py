"""tools/torch_released.py, the re-created released test-time forward that tools/bench.py times,
computes what tinylut computes on the released tables (else its timing would mean nothing)."""
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import tinylut  # noqa: E402
from tinylut.official import import_official  # noqa: E402

from randmodels import need_shared  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from torch_released import ReleasedTinyLUTS, released_restore  # noqa: E402


@pytest.mark.parametrize("shape", [(9, 14, 3), (21, 17, 3)])
def test_released_forward_equals_tinylut(shape):
    folder = need_shared("data", "official", "tinylut_s_x4")
    torch.set_num_threads(1)
    img = np.random.default_rng(shape[0]).integers(0, 256, shape, dtype=np.uint8)
    expected = tinylut.Model(import_official(str(folder)))(img)
    np.testing.assert_array_equal(released_restore(ReleasedTinyLUTS(folder), img), expected)
