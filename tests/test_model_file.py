"""Model files: round trip, and corrupt or hostile files rejected with ValueError."""
import hashlib
import json
import struct

import numpy as np
import pytest

import tinylut
from tinylut.model import (MAGIC, ModelFormatError, from_bytes, read_model, replace, to_bytes,
                           write_model)
from randmodels import random_model


@pytest.fixture(scope="module")
def good():
    return to_bytes(random_model(3))


def split_file(data):
    (head_len,) = struct.unpack("<I", data[12:16])
    return json.loads(data[16:16 + head_len]), bytearray(data[16 + head_len:])


def join_file(header, blob, sign=True, version=1):
    """A file from a (possibly doctored) header and blob, re-signed so the checksum passes
    and the structural checks are what is being tested."""
    blob = bytes(blob)
    if sign:
        header["sha256"] = hashlib.sha256(blob).hexdigest()
        header["blob_bytes"] = len(blob)
    head = json.dumps(header).encode()
    return MAGIC + struct.pack("<II", version, len(head)) + head + blob


def test_round_trip(tmp_path):
    spec = random_model(1)
    path = tmp_path / "m.tlut"
    write_model(spec, path)
    back = read_model(path)
    assert to_bytes(back) == to_bytes(spec)
    image = np.random.default_rng(0).integers(0, 256, (9, 8), dtype=np.uint8)
    np.testing.assert_array_equal(tinylut.load_model(path)(image), tinylut.Model(spec)(image))


def test_truncated_files_rejected(good):
    for cut in [0, 5, 8, 15, 16, 100, len(good) // 2, len(good) - 1]:
        with pytest.raises(ModelFormatError):
            from_bytes(good[:cut])


def test_bad_magic_and_version(good):
    with pytest.raises(ModelFormatError, match="magic"):
        from_bytes(b"NOTALUT\0" + good[8:])
    with pytest.raises(ModelFormatError, match="version"):
        from_bytes(good[:8] + struct.pack("<I", 99) + good[12:])
    with pytest.raises(ModelFormatError, match="header length"):
        from_bytes(good[:12] + struct.pack("<I", 2**31) + good[16:])


def test_checksum_catches_blob_corruption(good):
    header, blob = split_file(good)
    blob[len(blob) // 2] ^= 0x40
    with pytest.raises(ModelFormatError, match="checksum"):
        from_bytes(join_file(header, blob, sign=False))


def test_not_json_header(good):
    (head_len,) = struct.unpack("<I", good[12:16])
    bad = good[:16] + b"{" * head_len + good[16 + head_len:]
    with pytest.raises(ModelFormatError, match="JSON"):
        from_bytes(bad)


def doctored(good, change):
    header, blob = split_file(good)
    change(header, blob)
    return join_file(header, blob)


def first_table(header):
    return header["arrays"]["b0.s0.table"]


@pytest.mark.parametrize("change, message", [
    (lambda h, b: first_table(h).update(offset=len(b) + 8), "outside"),
    (lambda h, b: first_table(h).update(offset=-8), "outside"),
    (lambda h, b: first_table(h).update(offset=3), "outside"),
    (lambda h, b: first_table(h).update(dtype="float64"), "dtype"),
    (lambda h, b: first_table(h).update(dtype="object"), "dtype"),
    (lambda h, b: first_table(h).update(shape=[9, 64, 17]), "nbytes"),
    (lambda h, b: first_table(h).update(shape=[65536] * 4, nbytes=0), "nbytes"),
    (lambda h, b: first_table(h).update(shape=[10**12], nbytes=10**12), "shape"),
    (lambda h, b: first_table(h).update(shape="big"), "type"),
    (lambda h, b: h["arrays"].pop("b0.s1.seg"), "missing"),
    (lambda h, b: h["branches"][0]["stages"][1].update(cin=8), "cin"),
    (lambda h, b: h["branches"][0]["stages"][0].update(cout=15), "cout|shape"),
    (lambda h, b: h["branches"][0]["stages"][0].update(kind="conv"), "kind"),
    (lambda h, b: h["branches"][0]["stages"][0].update(divisor=0), "divisor"),
    (lambda h, b: h["branches"][0]["stages"][0].update(out_lo=-500), "out_lo"),
    (lambda h, b: h["branches"][0]["stages"][0].update(residual=1), "type"),
    (lambda h, b: h["branches"][0].update(split="middle"), "split"),
    (lambda h, b: h["branches"][0].update(bits=9), "bits"),
    (lambda h, b: h["branches"][0]["stages"].pop(0), "cin"),
    (lambda h, b: h["branches"][0].update(stages=[]), "stages"),
    (lambda h, b: h.update(branches=[]), "branches"),
    (lambda h, b: h.update(branches=h["branches"] * 3), "branches"),
    (lambda h, b: h.update(scale=3), "scale"),
    (lambda h, b: h.update(scale=True), "type"),
    (lambda h, b: h.update(rotations=3), "rotations"),
    (lambda h, b: h.update(task="paint"), "task"),
    (lambda h, b: h.update(meta=[1, 2]), "meta"),
    (lambda h, b: h.update(format="other"), "format"),
])
def test_doctored_headers_rejected(good, change, message):
    with pytest.raises(ModelFormatError, match=message):
        from_bytes(doctored(good, change))


def test_segment_pointing_outside_table_rejected(good):
    header, blob = split_file(good)
    entry = header["arrays"]["b0.s1.seg"]
    seg = np.frombuffer(bytes(blob[entry["offset"]:entry["offset"] + entry["nbytes"]]),
                        "<i4").copy()
    seg[0] = 10**6   # first row of channel 0 far past the table
    blob[entry["offset"]:entry["offset"] + entry["nbytes"]] = seg.tobytes()
    with pytest.raises(ModelFormatError, match="segments reach rows"):
        from_bytes(join_file(header, blob))
    seg[0] = -5
    blob[entry["offset"]:entry["offset"] + entry["nbytes"]] = seg.tobytes()
    with pytest.raises(ModelFormatError, match="segments reach rows"):
        from_bytes(join_file(header, blob))


def check_random_mutations(good, trials, seed):
    """Every file with 1-3 random bytes changed is either rejected with ModelFormatError or
    a valid model that runs."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (4, 5), dtype=np.uint8)
    for _ in range(trials):
        data = bytearray(good)
        for _ in range(rng.integers(1, 4)):
            data[rng.integers(0, len(data))] = rng.integers(0, 256)
        try:
            spec = from_bytes(bytes(data))
        except ModelFormatError:
            continue
        tinylut.Model(spec)(image)   # a file that passes must run


def test_random_mutations_never_crash(good):
    check_random_mutations(good, 300, 0)


def test_not_bytes():
    with pytest.raises(TypeError):
        from_bytes("a string")


def test_load_model_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no model file"):
        tinylut.load_model(tmp_path / "nope.tlut")
    (tmp_path / "junk.tlut").write_bytes(b"\x00" * 100)
    with pytest.raises(ValueError, match="magic"):
        tinylut.load_model(tmp_path / "junk.tlut")
    with pytest.raises(TypeError):
        tinylut.load_model(3)


def test_centred_windows_need_version_2(tmp_path):
    """A model with a centred DW window is written as version 2 (older readers would run it
    with corner windows); one without stays version 1. The window survives the round trip
    and changes the output, so it is not silently dropped anywhere."""
    layout = (("dw", 16), ("pw", 16), ("dw", 16))
    assert struct.unpack("<I", to_bytes(random_model(4, layout=layout))[8:12]) == (1,)
    several = random_model(4, layout=layout, centred="alternate")
    data = to_bytes(several)
    assert struct.unpack("<I", data[8:12]) == (2,)
    back = from_bytes(data)
    assert [st.centred for st in back.branches[0].stages] == [False, False, True, False]
    image = np.random.default_rng(1).integers(0, 256, (7, 9), dtype=np.uint8)
    flipped = random_model(4, layout=layout)                    # the same tables, all corner
    assert not np.array_equal(tinylut.Model(back)(image), tinylut.Model(flipped)(image))
    header, blob = split_file(data)
    with pytest.raises(ModelFormatError, match="window"):       # centred in a version-1 file
        from_bytes(join_file(header, blob, version=1))
    assert from_bytes(join_file(header, blob, version=2)).branches[0].stages[2].centred


def test_dilated_windows_need_version_4():
    """A dilated window (centred, taps 2 apart) is written as version 4, read back as such
    and changes the output; a version-3 file cannot hold it."""
    layout = (("dw", 16), ("pw", 16), ("dw", 16))
    data = to_bytes(random_model(4, layout=layout, centred="alternate", dilation=2))
    assert struct.unpack("<I", data[8:12]) == (4,)
    back = from_bytes(data)
    assert [st.window for st in back.branches[0].stages] == \
        ["corner", "corner", "dilated", "corner"]
    image = np.random.default_rng(1).integers(0, 256, (7, 9), dtype=np.uint8)
    plain = random_model(4, layout=layout, centred="alternate")     # the same tables
    assert not np.array_equal(tinylut.Model(back)(image), tinylut.Model(plain)(image))
    header, blob = split_file(data)
    with pytest.raises(ModelFormatError, match="window"):
        from_bytes(join_file(header, blob, version=3))


@pytest.mark.parametrize("centred, dilation", [(False, 2), (True, 3), (True, 0), (True, 2.0)])
def test_bad_dilation_rejected(centred, dilation):
    spec = random_model(4, layout=(("dw", 16), ("pw", 16), ("dw", 16)))
    st = spec.branches[0].stages[2]
    bad = replace(spec, branches=(replace(spec.branches[0], stages=spec.branches[0].stages[:2]
                                          + (replace(st, centred=centred, dilation=dilation),)
                                          + spec.branches[0].stages[3:]),)
                  + spec.branches[1:])
    with pytest.raises(ModelFormatError, match="dilation"):
        to_bytes(bad)


@pytest.mark.parametrize("stage, window", [(2, "middle"), (2, 1), (1, "centred"), (1, "dilated")])
def test_bad_window_rejected(stage, window):
    several = random_model(4, layout=(("dw", 16), ("pw", 16), ("dw", 16)))
    header, blob = split_file(to_bytes(several))
    header["branches"][0]["stages"][stage]["window"] = window
    with pytest.raises(ModelFormatError, match="window"):
        from_bytes(join_file(header, blob, version=4))


def test_eight_orientations_need_version_5():
    """``rotations`` 8 (the transposed image's rotations too) is written as version 5 and read
    back as such; a version-4 file cannot hold it, and other counts are rejected."""
    data = to_bytes(random_model(5, rotations=8))
    assert struct.unpack("<I", data[8:12]) == (5,)
    assert from_bytes(data).rotations == 8
    assert struct.unpack("<I", to_bytes(random_model(5))[8:12]) == (1,)
    header, blob = split_file(data)
    with pytest.raises(ModelFormatError, match="rotations"):
        from_bytes(join_file(header, blob, version=4))
    for bad in (3, 6, 16, 0, True):
        header["rotations"] = bad
        with pytest.raises(ModelFormatError, match="rotations"):
            from_bytes(join_file(header, blob, version=5))
