"""tools/make_dead_leaves.py: the synthetic training images are reproducible and what they claim."""
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from make_dead_leaves import dead_leaves, gaussian_blur, main  # noqa: E402


def test_same_seed_same_image_and_different_seeds_differ():
    a = dead_leaves(np.random.default_rng(3), 48)
    b = dead_leaves(np.random.default_rng(3), 48)
    c = dead_leaves(np.random.default_rng(4), 48)
    assert a.dtype == np.uint8 and a.shape == (48, 48)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_images_are_piecewise_smooth_with_sharp_edges():
    img = dead_leaves(np.random.default_rng(0), 96, r_min=6).astype(np.int32)
    step = np.abs(np.diff(img, axis=1))
    # mostly smooth inside the shapes, with a few strong edges between them
    assert np.median(step) <= 2
    assert (step >= 40).mean() > 0.005
    assert img.max() - img.min() > 150


def test_blur_keeps_flat_images_and_the_mean_of_a_step():
    flat = np.full((12, 15), 77, np.uint8)
    assert np.array_equal(gaussian_blur(flat, 1.3), flat)
    edge = np.zeros((20, 20), np.uint8)
    edge[:, 10:] = 200
    soft = gaussian_blur(edge, 1.0)
    assert soft.mean() == pytest.approx(edge.mean(), abs=1)
    assert 0 < soft[5, 9] < 200 and 0 < soft[5, 10] < 200


def test_blur_off_writes_the_same_images_as_before_the_option(tmp_path):
    # --blur 0 must not consume random numbers: the data a model was trained on stays reproducible
    main([str(tmp_path / "a"), "--count", "2", "--size", "30", "--seed", "5"])
    main([str(tmp_path / "b"), "--count", "2", "--size", "30", "--seed", "5", "--blur", "0"])
    rng = np.random.default_rng(5)
    first = dead_leaves(rng, 30, r_min=rng.uniform(2, 10))
    from PIL import Image
    for name in ("dl000.png", "dl001.png"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert np.array_equal(np.asarray(Image.open(tmp_path / "a" / "dl000.png")), first)


@pytest.mark.parametrize("args", [["--count", "0"], ["--size", "4"], ["--blur", "1.5"],
                                  ["--blur", "nan"]])
def test_bad_arguments_are_refused(tmp_path, args):
    with pytest.raises(SystemExit):
        main([str(tmp_path / "x"), *args])
