"""The C engine equals the numpy reference on random models, images and shapes."""
import multiprocessing
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

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
    # dilated windows (taps 2 apart): all centred ones, and every other one
    dict(scale=2, layout=(("dw", 16), ("pw", 16), ("dw", 16), ("pw", 4)), centred=True,
         dilation=2),
    dict(scale=4, layout=(("dw", 16), ("pw", 16), ("dw", 16), ("pw", 16), ("dw", 16)),
         centred=True, dilation="alternate", rotations=4),
    # eight orientations (the transposed image's rotations too, the sum halved): corner,
    # centred and dilated windows, at x4, x3 (odd sub-pixel blocks) and scale 1
    dict(scale=4, layout=(("dw", 16), ("pw", 16)), rotations=8),
    dict(scale=3, layout=(("dw", 4), ("dw", 8), ("pw", 9)), divisors=(9, 3, 16), rotations=8),
    dict(scale=4, layout=(("dw", 16), ("pw", 16), ("dw", 16), ("pw", 16), ("dw", 16)),
         centred=True, dilation="alternate", rotations=8),
    dict(scale=1, layout=(("dw", 16), ("pw", 16), ("dw", 16), ("pw", 1)), centred="alternate",
         rotations=8),
])
@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (6, 5), (11, 9)])
def test_generic_shapes_match_reference(spec_kw, shape):
    spec = random_model(7, **spec_kw)
    image = np.random.default_rng(3).integers(0, 256, shape, dtype=np.uint8)
    got, want = run_both(spec, image)
    np.testing.assert_array_equal(got, want)


# too_slow: under qemu on a busy machine drawing the inputs alone took 42 s for 5 examples
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
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


@pytest.mark.parametrize("spec_kw", [
    {}, dict(layout=(("dw", 16), ("pw", 16), ("dw", 16), ("pw", 16)), centred="alternate",
             dilation=2, rotations=8)])
def test_output_independent_of_threads_and_bands(spec_kw):
    spec = random_model(5, **spec_kw)
    model = tinylut.Model(spec)
    image = np.random.default_rng(0).integers(0, 256, (97, 61, 3), dtype=np.uint8)
    one = model(image, threads=1, isa="scalar")
    for threads in (2, 3, 8):
        np.testing.assert_array_equal(model(image, threads=threads, isa="scalar"), one)
    # a wide image makes bands of a single row
    wide = np.random.default_rng(1).integers(0, 256, (5, 3000), dtype=np.uint8)
    np.testing.assert_array_equal(model(wide, threads=2, isa="scalar"),
                                  reference.restore(spec, wide))


def test_concurrent_calls_share_the_pool():
    """Calls from several user threads at once (the pool is process-wide) each get their own
    image, whatever thread counts they ask for (the pool grows to the largest)."""
    model = tinylut.Model(random_model(6))
    rng = np.random.default_rng(2)
    images = [rng.integers(0, 256, (40, 23, 3), dtype=np.uint8) for _ in range(6)]
    want = [model(im, threads=1, isa="scalar") for im in images]
    with ThreadPoolExecutor(max_workers=6) as users:
        got = list(users.map(lambda i: model(images[i], threads=1 + i % 4, isa="scalar"),
                             range(6)))
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


def test_a_huge_thread_count_starts_a_bounded_pool():
    """The pool's threads outlive the call: a huge ``threads`` must not leave that many."""
    model = tinylut.Model(random_model(3))
    image = np.random.default_rng(3).integers(0, 256, (400, 9), dtype=np.uint8)
    want = model(image, threads=1, isa="scalar")
    before = threading.active_count()
    np.testing.assert_array_equal(model(image, threads=10**6, isa="scalar"), want)
    assert threading.active_count() - before <= max(8, 4 * (os.cpu_count() or 1))


def _restore_in_child(conn):
    model = tinylut.Model(random_model(5))
    image = np.random.default_rng(0).integers(0, 256, (33, 20), dtype=np.uint8)
    conn.send(model(image, threads=2, isa="scalar"))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_threads_work_in_a_forked_child():
    """A child forked after the parent used the pool has the pool object but not its threads:
    it must start its own instead of waiting on threads that are not there."""
    model = tinylut.Model(random_model(5))
    image = np.random.default_rng(0).integers(0, 256, (33, 20), dtype=np.uint8)
    want = model(image, threads=2, isa="scalar")   # the parent's pool exists now
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_restore_in_child, args=(child,))
    proc.start()
    try:
        assert parent.poll(60), "the forked child did not finish its restore"
        np.testing.assert_array_equal(parent.recv(), want)
    finally:
        proc.join(5)
        if proc.is_alive():
            proc.kill()
    assert proc.exitcode == 0


def test_channels_are_independent():
    model = tinylut.Model(random_model(2))
    image = np.random.default_rng(4).integers(0, 256, (9, 10, 3), dtype=np.uint8)
    rgb = model(image)
    for c in range(3):
        np.testing.assert_array_equal(rgb[..., c], model(np.ascontiguousarray(image[..., c])))


@pytest.mark.parametrize("scale", [1, 3, 4])
def test_eight_orientations_commute_with_transposing(scale):
    """A model of all eight symmetries of the square restores the transposed image as the
    transpose of its output, exactly (both sums take the same eight values); four do not."""
    layout = (("dw", 16), ("pw", 16), ("dw", 16), ("pw", scale * scale))
    image = np.random.default_rng(scale).integers(0, 256, (9, 14), dtype=np.uint8)
    eight = tinylut.Model(random_model(21, scale=scale, layout=layout, centred="alternate",
                                       rotations=8))
    np.testing.assert_array_equal(eight(image.T, isa="scalar"), eight(image, isa="scalar").T)
    four = tinylut.Model(random_model(21, scale=scale, layout=layout, centred="alternate"))
    assert not np.array_equal(four(image.T, isa="scalar"), four(image, isa="scalar").T)
