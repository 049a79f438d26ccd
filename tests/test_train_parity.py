"""The torch network, its baked model file and the engines agree bit for bit.

a. the released network, loaded into our layers, bakes to the released tables byte for byte;
b. random untrained networks: the torch forward equals the numpy reference engine and the C
   engine run on the baked file, for gray and RGB images of odd sizes down to 1x1;
c. the released network's torch forward reproduces the authors' golden Set5 outputs.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)   # small tensors: threads only add overhead on a busy machine

from randmodels import need_shared  # noqa: E402
from tinylut import reference  # noqa: E402
from tinylut.model import from_bytes, to_bytes  # noqa: E402
from tinylut.train.bake import bake  # noqa: E402
from tinylut.train.nets import TinyLUTS, load_official_state  # noqa: E402
from test_train_layers import randomize  # noqa: E402

try:
    from tinylut import Model as _Model  # the C engine
except ImportError:  # pragma: no cover - a tree without the engine
    _Model = None


def official_net(folder):
    net = TinyLUTS()
    return load_official_state(net, dict(np.load(folder / "network_state.npz")))


def test_official_network_bakes_to_released_tables():
    from tinylut.official import import_official
    folder = need_shared("data", "official", "tinylut_s_x4")
    spec = bake(official_net(folder))
    want = import_official(str(folder))
    assert spec.table_bytes == want.table_bytes == 37776
    for b_got, b_want in zip(spec.branches, want.branches, strict=True):
        assert (b_got.name, b_got.split, b_got.bits) == (b_want.name, b_want.split, b_want.bits)
        for s_got, s_want in zip(b_got.stages, b_want.stages, strict=True):
            assert s_got.table.shape == s_want.table.shape
            assert s_got.table.tobytes() == s_want.table.tobytes()
            np.testing.assert_array_equal(s_got.gmap, s_want.gmap)
            np.testing.assert_array_equal(s_got.seg, s_want.seg)
            assert (s_got.kind, s_got.divisor, s_got.residual, s_got.out_lo, s_got.out_hi) == \
                   (s_want.kind, s_want.divisor, s_want.residual, s_want.out_lo, s_want.out_hi)
            if s_want.scales is not None:
                assert s_got.scales.tobytes() == s_want.scales.tobytes()


SHAPES = [(1, 1), (1, 6), (6, 1), (2, 5), (5, 2), (3, 3), (7, 4), (9, 11)]


def parity_images(seed, shapes=SHAPES):
    """Random gray images of odd sizes down to 1x1, two RGB ones, and two flat ones."""
    rng = np.random.default_rng(seed)
    images = [rng.integers(0, 256, s, dtype=np.uint8) for s in shapes]
    return images + [rng.integers(0, 256, (5, 7, 3), dtype=np.uint8),
                     rng.integers(0, 256, (1, 4, 3), dtype=np.uint8),
                     np.full((4, 4), 0, np.uint8), np.full((3, 5), 255, np.uint8)]


def engine_or_none(spec):
    if _Model is None:
        return None
    try:
        return _Model(spec)
    except Exception as e:  # pragma: no cover - the C core is not built here
        if "core" in str(e).lower() or isinstance(e, ImportError):
            return None
        raise


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_random_networks_bake_bit_exact(seed):
    torch.manual_seed(seed)
    net = randomize(TinyLUTS(), seed) if seed else TinyLUTS()
    spec = from_bytes(to_bytes(bake(net)))          # through the file format and back
    engine = engine_or_none(spec)
    for img in parity_images(seed):
        got = net.restore(img)
        want = reference.restore(spec, img)
        assert got.shape == want.shape
        np.testing.assert_array_equal(got, want, err_msg=f"reference, shape {img.shape}")
        if engine is not None:
            np.testing.assert_array_equal(got, engine(img, threads=1),
                                          err_msg=f"C engine, shape {img.shape}")


def test_c_engine_is_checked_when_built():
    """Say so (skip) when the C engine could not be compared."""
    if engine_or_none(bake(TinyLUTS())) is None:
        pytest.skip("the C engine (tinylut._core) is not built: only the numpy reference compared")


def test_released_network_reproduces_golden_set5():
    from tinylut.train.data import list_images, read_rgb
    folder = need_shared("data", "official", "tinylut_s_x4")
    net = official_net(folder)
    files = list_images(folder / "golden_set5_x4" / "LR")
    assert len(files) == 5
    for f in files:
        lr = read_rgb(f)
        gold = read_rgb(folder / "golden_set5_x4" / "SR" / f.name)
        np.testing.assert_array_equal(net.restore(lr), gold, err_msg=f.name)


def test_baked_file_through_public_api(tmp_path):
    """The model file written by the trainer's bake, loaded by tinylut.load_model / restore."""
    from tinylut.model import write_model
    if engine_or_none(bake(TinyLUTS())) is None:
        pytest.skip("the C engine (tinylut._core) is not built")
    import tinylut
    torch.manual_seed(9)
    net = randomize(TinyLUTS(), 9)
    path = tmp_path / "net.tlut"
    write_model(bake(net, name="random-9"), path)
    img = np.random.default_rng(9).integers(0, 256, (7, 10, 3), dtype=np.uint8)
    want = net.restore(img)
    np.testing.assert_array_equal(tinylut.load_model(str(path))(img), want)
    np.testing.assert_array_equal(tinylut.restore(img, model=str(path)), want)
