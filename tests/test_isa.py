"""Every instruction-set path available here equals the scalar path bit for bit.

The scalar C path is the reference (tests/test_engine.py holds it against the numpy
reference); here each SIMD path (sse41, avx2, avx512 on x86-64; neon on aarch64) runs the same random
models and images, including shapes the SIMD kernels hand back to scalar code (DW with several
input channels, more than 16 outputs) and shapes they take with their general loops (other
channel counts, other divisors, scale 1 with one output), and the window tables that replace
a whole LSB branch (tinylut-s, no-residual, scale1-one-output, ...). No timing here: speed is
tools/."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import tinylut
from tinylut import engine
from randmodels import random_model

SIMD = [isa for isa in engine.available_isas() if isa != "scalar"]
pytestmark = pytest.mark.skipif(not SIMD, reason="no SIMD path on this machine/build")

# (2, 300): rows longer than the window-table kernel's runs of 256 pixels (kernels.h)
SHAPES = [(1, 1), (1, 9), (9, 1), (1, 40), (2, 3), (3, 17), (16, 16), (17, 33), (5, 70),
          (2, 145), (2, 300)]

MODELS = {
    "tinylut-s": dict(),
    # the LSB branches of these (and of most models here) run as window tables on the SIMD
    # paths (kernels.h): a byte per window at scale 1; at x4 16 lanes shuffled per rotation,
    # read through a state id where a branch has <= 65,535 states (seed 17: channels-8 6,572,
    # no-residual 55,146, even-divisors 61,702) and a row per window where it has more
    # (tinylut-s and tinylut-s-rotations-2: 77,335)
    "tinylut-s-rotations-2": dict(rotations=2),
    "tinylut-s-rotations-1-scale1": dict(scale=1, rotations=1),
    # the transposed orientations too: the last stage permuted for 7 orientations, halved sum
    "tinylut-s-rotations-8": dict(rotations=8),
    "x4-dilated-blocks-rotations-8": dict(layout=(("dw", 16), ("pw", 16), ("dw", 16), ("pw", 16)),
                                          centred="alternate", dilation=2, rotations=8),
    "scale1-rotations-8": dict(scale=1, layout=(("dw", 16), ("pw", 16)), rotations=8),
    "scale1-one-output": dict(scale=1, layout=(("dw", 16), ("pw", 16))),
    "extra-dw-pw": dict(layout=(("dw", 16), ("pw", 16), ("dw", 16), ("pw", 16))),
    "channels-8": dict(layout=(("dw", 8), ("pw", 8))),
    "channels-12-odd-divisors": dict(layout=(("dw", 12), ("pw", 12)), divisors=(7, 9, 5, 3)),
    "even-divisors": dict(layout=(("dw", 16), ("pw", 16)), divisors=(10, 6, 16, 12)),
    "divisor-1-and-2": dict(layout=(("dw", 16), ("pw", 16)), divisors=(1, 2)),
    "no-residual": dict(layout=(("dw", 16), ("pw", 16), ("pw", 16)), residual=False),
    "wide-32": dict(scale=2, layout=(("dw", 32), ("pw", 32))),
    "scale2-msb3-lsb3": dict(scale=2, layout=(("dw", 4), ("pw", 16)),
                             branches=(("msb", 3), ("lsb", 3), ("msb", 6))),
    "full-split": dict(scale=3, layout=(("dw", 16),), branches=(("full", 0),), rotations=2),
    # x4 with a last stage on 256 input values (no SIMD table): the merge permutes the rotations
    "full-split-x4": dict(layout=(("dw", 16),), branches=(("full", 0), ("msb", 2))),
    "f-shaped": dict(layout=(("dw", 16), ("pw", 16), ("dw", 16), ("pw", 16), ("dw", 16),
                             ("pw", 16), ("dw", 16), ("pw", 16))),
    "f-shaped-scale1-odd-divisors": dict(scale=1, layout=(("dw", 16), ("pw", 16), ("dw", 16),
                                                          ("pw", 16), ("dw", 16), ("pw", 16)),
                                         divisors=(9, 7, 5, 16, 9, 3, 10)),
    "dw-8x8-even-divisor": dict(layout=(("dw", 8), ("dw", 8), ("pw", 16), ("dw", 16)),
                                divisors=(9, 6, 4, 12, 9)),
    "lsb1-bits": dict(layout=(("dw", 16), ("pw", 16)), branches=(("msb", 1), ("lsb", 1))),
    "centred-windows": dict(layout=(("dw", 16), ("pw", 16), ("dw", 16), ("pw", 16)), centred=True),
    "f-shaped-centred-blocks": dict(scale=1, layout=(("dw", 16), ("pw", 16), ("dw", 16),
                                                     ("pw", 16), ("dw", 16), ("pw", 16)),
                                    centred="alternate"),
    # dilated windows (taps at -2, 0, 2): the first DW too (read through a window table on
    # the LSB branch), mixed with plain centred ones
    "f-shaped-dilated": dict(scale=1, layout=(("dw", 16), ("pw", 16), ("dw", 16), ("pw", 16),
                                              ("dw", 16), ("pw", 16)),
                             centred=True, dilation="alternate"),
    "x4-dilated-blocks": dict(layout=(("dw", 16), ("pw", 16), ("dw", 16), ("pw", 16), ("dw", 16),
                                      ("pw", 16)), centred="alternate", dilation=2),
    # per-channel DW on 256 input values: too many for the byte-table kernel (<= 64), so the
    # gather kernel takes it
    "f-shaped-full-range": dict(scale=1, layout=(("dw", 16), ("pw", 16), ("dw", 16), ("pw", 16)),
                                branches=(("full", 0),), centred=True),
}


def check_all(model, image, threads=1):
    want = model(image, isa="scalar", threads=threads)
    for isa in SIMD:
        np.testing.assert_array_equal(model(image, isa=isa, threads=threads), want, err_msg=isa)


@pytest.fixture(scope="module", params=sorted(MODELS))
def model(request):
    return tinylut.Model(random_model(17, **MODELS[request.param]))


@pytest.mark.parametrize("shape", SHAPES)
def test_models_and_shapes(model, shape):
    rng = np.random.default_rng(shape[0] * 100 + shape[1])
    check_all(model, rng.integers(0, 256, shape, dtype=np.uint8))


def test_rgb_and_extremes(model):
    rng = np.random.default_rng(5)
    check_all(model, rng.integers(0, 256, (11, 19, 3), dtype=np.uint8))
    for value in (0, 127, 128, 255):
        check_all(model, np.full((4, 21), value, np.uint8))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(h=st.integers(1, 20), w=st.integers(1, 50), channels=st.sampled_from([None, 1, 2, 3, 4]),
       seed=st.integers(0, 2**16), kind=st.sampled_from(sorted(MODELS)))
def test_random_images(h, w, channels, seed, kind):
    rng = np.random.default_rng(seed)
    shape = (h, w) if channels is None else (h, w, channels)
    model = tinylut.Model(random_model(seed % 7, **MODELS[kind]))
    check_all(model, rng.integers(0, 256, shape, dtype=np.uint8))


@pytest.mark.parametrize("channels", [2, 3, 4])
def test_channels_restored_independently(model, channels):
    """Every channel of an image comes out as if restored alone, on every path: the core emits
    the channels into planes and interleaves them (widths leave remainders of 4 and 16)."""
    image = np.random.default_rng(channels).integers(0, 256, (13, 37, channels), dtype=np.uint8)
    for isa in ["scalar", *SIMD]:
        got = model(image, isa=isa, threads=1)
        for c in range(channels):
            alone = model(np.ascontiguousarray(image[..., c]), isa=isa, threads=1)
            np.testing.assert_array_equal(got[..., c], alone, err_msg=f"{isa}, channel {c}")


def test_threads_do_not_change_output():
    model = tinylut.Model(random_model(3))
    image = np.random.default_rng(8).integers(0, 256, (61, 45, 3), dtype=np.uint8)
    want = model(image, isa="scalar", threads=1)
    for isa in SIMD:
        for threads in (1, 2, 5):
            np.testing.assert_array_equal(model(image, isa=isa, threads=threads), want,
                                          err_msg=f"{isa}, {threads} threads")


def test_strided_views():
    model = tinylut.Model(random_model(4))
    base = np.random.default_rng(9).integers(0, 256, (30, 40, 4), dtype=np.uint8)
    for view in (base[::2, ::3, :3], base[:, :, 1], np.asfortranarray(base[..., :3])):
        check_all(model, view)


def test_forced_isa_and_info(monkeypatch):
    model = tinylut.Model(random_model(0))
    image = np.zeros((3, 3), np.uint8)
    info = tinylut.info()
    assert info["isa"] == SIMD[-1] and info["isas"] == ["scalar", *SIMD]
    for isa in engine.ISA_NAMES:
        if isa in info["isas"]:
            model(image, isa=isa)
            monkeypatch.setenv("TINYLUT_ISA", isa)
            assert tinylut.info()["isa"] == isa
            monkeypatch.delenv("TINYLUT_ISA")
        else:
            with pytest.raises(ValueError, match="not available"):
                model(image, isa=isa)
            monkeypatch.setenv("TINYLUT_ISA", isa)
            with pytest.raises(ValueError, match="not available"):
                model(image)
            monkeypatch.delenv("TINYLUT_ISA")
