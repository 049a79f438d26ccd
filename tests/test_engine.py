"""The C engine equals the numpy reference on random models, images and shapes."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinylut
from tinylut import reference
from randmodels import random_model

SHAPES = [(1, 1), (1, 7), (7, 1), (2, 2), (2, 5), (3, 3), (5, 8), (13, 6), (17, 23)]


def run_both(spec, image, **kw):
    model = tinylut.Model(spec)
    return model(image, isa="scalar", **kw), reference.restore(spec, image)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("shape", SHAPES)
def test_tinylut_s_shape_matches_reference(seed, shape):
    rng = np.random.default_rng(1000 + seed)
    image = rng.integers(0, 256, shape, dtype=np.uint8)
    got, want = run_both(random_model(seed), image)
    assert got.shape == (shape[0] * 4, shape[1] * 4)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("spec_kw", [
    dict(scale=2, layout=(("dw", 8), ("pw", 8), ("dw", 8), ("pw", 4)), divisors=(7, 12, 1)),
    dict(scale=1, layout=(("dw", 16), ("pw", 16)), rotations=2),
    dict(scale=3, layout=(("dw", 4), ("dw", 8), ("pw", 5)), divisors=(9, 3, 16, 2)),
    dict(scale=4, layout=(("dw", 16), ("pw", 16), ("pw", 16)), residual=False),
    dict(scale=1, layout=(("dw", 16),), branches=(("full", 0),), rotations=1),
    dict(scale=2, layout=(("dw", 2), ("pw", 16)), branches=(("msb", 3), ("lsb", 3), ("msb", 6))),
    # centred windows: all of them, and centred after corner (TinyLUT-F with centred blocks)
    dict(scale=2, layout=(("dw", 16), ("pw", 16), ("dw", 16), ("pw", 4)), centred=True),
    dict(scale=4, layout=(("dw", 16), ("pw", 16), ("dw", 16), ("pw", 16), ("dw", 16)),
         centred="alternate", rotations=4),
    dict(scale=1, layout=(("dw", 4), ("dw", 8), ("pw", 16), ("dw", 16)), divisors=(9, 6, 4, 12),
         centred="alternate", rotations=2),
])
@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (6, 5), (11, 9)])
def test_generic_shapes_match_reference(spec_kw, shape):
    spec = random_model(7, **spec_kw)
    image = np.random.default_rng(3).integers(0, 256, shape, dtype=np.uint8)
    got, want = run_both(spec, image)
    np.testing.assert_array_equal(got, want)


@settings(max_examples=25, deadline=None)
@given(h=st.integers(1, 24), w=st.integers(1, 24), channels=st.sampled_from([None, 1, 3, 4]),
       seed=st.integers(0, 2**16))
def test_random_images_match_reference(h, w, channels, seed):
    rng = np.random.default_rng(seed)
    shape = (h, w) if channels is None else (h, w, channels)
    image = rng.integers(0, 256, shape, dtype=np.uint8)
    got, want = run_both(random_model(seed % 4), image)
    np.testing.assert_array_equal(got, want)


def test_extreme_images_match_reference():
    spec = random_model(11)
    for value in (0, 255, 127, 128):
        image = np.full((6, 7), value, np.uint8)
        got, want = run_both(spec, image)
        np.testing.assert_array_equal(got, want)


def test_output_independent_of_threads_and_bands():
    spec = random_model(5)
    model = tinylut.Model(spec)
    image = np.random.default_rng(0).integers(0, 256, (97, 61, 3), dtype=np.uint8)
    one = model(image, threads=1, isa="scalar")
    for threads in (2, 3, 8):
        np.testing.assert_array_equal(model(image, threads=threads, isa="scalar"), one)
    # a wide image makes bands of a single row
    wide = np.random.default_rng(1).integers(0, 256, (5, 3000), dtype=np.uint8)
    np.testing.assert_array_equal(model(wide, threads=2, isa="scalar"),
                                  reference.restore(spec, wide))


def test_channels_are_independent():
    model = tinylut.Model(random_model(2))
    image = np.random.default_rng(4).integers(0, 256, (9, 10, 3), dtype=np.uint8)
    rgb = model(image)
    for c in range(3):
        np.testing.assert_array_equal(rgb[..., c], model(np.ascontiguousarray(image[..., c])))
