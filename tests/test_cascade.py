"""Cascades: a model file whose later passes (scale 1) run on the first network's output.

The file format (version 3), its validation, the engine on every instruction-set path against
running the networks one after another and against the numpy reference; ``tinylut info``."""
import struct

import numpy as np
import pytest

import tinylut
from tinylut import engine, reference
from tinylut.model import MAX_PASSES, ModelFormatError, from_bytes, replace, to_bytes
from randmodels import random_model
from test_model_file import check_random_mutations, join_file, split_file

F_LAYOUT = (("dw", 16), ("pw", 16), ("dw", 16), ("pw", 16))


def cascade(first_scale=4, later=2, seed=0):
    first = random_model(seed, scale=first_scale)
    passes = tuple(random_model(seed + 1 + i, scale=1, layout=F_LAYOUT, centred="alternate")
                   for i in range(later))
    return replace(first, passes=passes), first, passes


@pytest.mark.parametrize("isa", engine.available_isas())
@pytest.mark.parametrize("shape", [(1, 1), (5, 3), (17, 12), (9, 40, 3)])
def test_passes_run_in_order_on_every_path(isa, shape):
    spec, first, passes = cascade()
    image = np.random.default_rng(sum(shape)).integers(0, 256, shape, dtype=np.uint8)
    out = tinylut.Model(spec)(image, isa=isa, threads=2)
    step = tinylut.Model(first)(image, isa=isa)
    for p in passes:
        step = tinylut.Model(p)(step, isa=isa)
    np.testing.assert_array_equal(out, step)
    assert out.shape[:2] == (shape[0] * 4, shape[1] * 4)
    if shape[0] * shape[1] <= 60:   # the numpy reference is slow
        np.testing.assert_array_equal(out, reference.restore(spec, image))


def test_round_trip_version_3_and_older_files_unchanged():
    spec, first, _ = cascade(later=3)
    data = to_bytes(spec)
    assert struct.unpack("<I", data[8:12]) == (3,)
    back = from_bytes(data)
    assert to_bytes(back) == data
    assert len(back.networks) == 4 and all(p.scale == 1 for p in back.passes)
    assert back.table_bytes == sum(st.table_bytes for n in spec.networks
                                   for b in n.branches for st in b.stages) > first.table_bytes
    assert struct.unpack("<I", to_bytes(first)[8:12]) == (1,)   # no passes: as before
    image = np.random.default_rng(0).integers(0, 256, (6, 7), dtype=np.uint8)
    np.testing.assert_array_equal(tinylut.Model(back)(image), tinylut.Model(spec)(image))


def test_info_lists_every_pass():
    spec, first, passes = cascade()
    info = tinylut.Model(spec).info()
    assert info["passes"] == 3 and info["table_bytes"] == spec.table_bytes
    assert sorted({s["pass"] for s in info["stages"]}) == [0, 1, 2]
    assert sum(s["bytes"] for s in info["stages"]) == spec.table_bytes


@pytest.mark.parametrize("make, message", [
    (lambda f, p: replace(f, passes=(replace(p, scale=4),)), "scale 1"),
    (lambda f, p: replace(f, passes=(replace(p, passes=(p,)),)), "passes of its own"),
    (lambda f, p: replace(f, passes=(p,) * MAX_PASSES), "at most"),
    (lambda f, p: replace(f, passes=[p]), "tuple"),
    (lambda f, p: replace(f, passes=("not a model",)), "ModelSpec"),
    (lambda f, p: replace(f, passes=(replace(p, task="paint"),)), "pass 1.task"),
])
def test_bad_cascades_rejected(make, message):
    first = random_model(0)
    later = random_model(1, scale=1)
    with pytest.raises(ModelFormatError, match=message):
        to_bytes(make(first, later))


@pytest.mark.parametrize("change, message", [
    (lambda h: h["passes"][0].update(scale=2), "scale 1|outputs"),
    (lambda h: h["passes"][0]["branches"][0]["stages"][1].update(cin=8), "pass 1 branch"),
    (lambda h: h["passes"][0]["branches"][0]["stages"][0].update(array="p9.b0.s0"), "missing"),
    (lambda h: h["passes"][0].pop("branches"), "branches"),
    (lambda h: h["passes"].append(h["passes"][0]) or h["passes"].extend(h["passes"]), "at most"),
    (lambda h: h.update(passes={"a": 1}), "type"),
    (lambda h: h["passes"].__setitem__(0, 7), "branches"),
    (lambda h: h["passes"][0].update(meta=3), "meta"),
])
def test_doctored_cascade_files_rejected(change, message):
    header, blob = split_file(to_bytes(cascade(later=1)[0]))
    change(header)
    with pytest.raises(ModelFormatError, match=message):
        from_bytes(join_file(header, blob, version=3))


def test_passes_need_version_3():
    header, blob = split_file(to_bytes(cascade(later=1)[0]))
    with pytest.raises(ModelFormatError, match="version-2 file has no passes"):
        from_bytes(join_file(header, blob, version=2))


def test_random_mutations_of_a_cascade_never_crash():
    check_random_mutations(to_bytes(cascade(first_scale=1, later=1)[0]), 200, 1)


def test_cli_info_shows_the_passes(tmp_path, capsys):
    from tinylut.cli import main
    path = tmp_path / "c.tlut"
    path.write_bytes(to_bytes(cascade()[0]))
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "passes      3" in out
    assert any(line.split()[:2] == ["pass", "branch"] for line in out.splitlines())
