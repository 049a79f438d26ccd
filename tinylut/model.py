"""The tinylut model file: read, write and validate (numpy only, no pickle).

A model is a list of branches (MSB, LSB, ...); each branch is a list of stages. Every stage
looks up one int8 table row per (input channel, tap), sums the rows, divides with
round-half-to-even, adds an optional residual and clamps (DESIGN.md section 1):

    out[o] = clamp(rne(sum_rows / divisor) + residual, out_lo, out_hi)

Stage kinds:
  ``dw``  spatial 3x3 window (9 taps), depthwise: output ``o`` reads input channel
          ``o // (cout // cin)``. Tap k = 3i + j reads pixel (y - 2 + i, x - 2 + j) of the
          rotated frame (the paper's window, the pixel at its corner; reflect padding of 2
          rows/columns on the top/left), or, for a ``centred`` stage, (y - 1 + i, x - 1 + j),
          or, centred with ``dilation`` 2, (y + 2(i - 1), x + 2(j - 1)): the same nine taps
          spread over a 5x5 square (reflect padding of 2 on every side).
  ``pw``  pointwise: every input channel contributes a row of ``cout`` values.

Before the lookup each input value v goes through the stage's requantisation map
``gmap[c, v - in_lo]`` (the DDM scales, precomputed in float32 with rne); the row of value g
in channel c is ``seg[c, 0] + g - seg[c, 1]`` (segment start row, lowest value of the segment).
The residual of output o is the requantised value of input channel ``o * cin // cout``.

File layout: magic ``TINYLUT\\0``, uint32 version, uint32 header length, a UTF-8 JSON header,
then a blob of little-endian arrays each named in the header by dtype, shape and offset.
The header carries the SHA-256 of the blob. Version 2 adds a stage's ``window`` ("corner", the
default, or "centred"); version 3 adds ``passes``: further networks (scale 1 each) run one after
another on the first network's output, a cascade whose later passes refine what the earlier
ones made; version 4 adds the window "dilated" (centred, dilation 2); version 5 adds
``rotations`` 8 (``ORIENTATIONS``). A file is written in the oldest version that holds it, so
older readers keep reading what they can.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import struct
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

MAGIC = b"TINYLUT\0"
VERSIONS = (1, 2, 3, 4, 5)  # readable; 1: no centred windows, 2: no passes, 3: no dilated
# windows, 4: no eight orientations
# rotations -> the orientations a network's outputs are summed over: o < 4 is np.rot90(x, o),
# o >= 4 np.rot90(x.T, o - 4) (the transposed image: all eight symmetries of the square). The
# sum of eight is halved (rounded half to even), so each orientation still predicts about a
# quarter of the pixel and a four-rotation network converts to eight unchanged in scale.
ORIENTATIONS = {1: (0,), 2: (0, 2), 4: (0, 1, 2, 3), 8: tuple(range(8))}
ROTATIONS_SINCE = {1: 1, 2: 1, 4: 1, 8: 5}
# window name -> (centred, dilation), and the first version that has it
WINDOWS = {"corner": (False, 1), "centred": (True, 1), "dilated": (True, 2)}
WINDOW_SINCE = {"corner": 1, "centred": 2, "dilated": 4}
# reflect padding before and after the pixel (rows on top and at the bottom, the same for
# columns) in the rotated frame: the corner window reads rows y-2..y, a centred one y-1..y+1,
# a dilated one y-2, y, y+2; the larger of the two is how far the window reaches
WINDOW_PADS = {"corner": (2, 0), "centred": (1, 1), "dilated": (2, 2)}
TAPS = {"dw": 9, "pw": 1}
SPLITS = ("msb", "lsb", "full")

# Bounds that keep every accumulator inside int16 and every file small; a file outside
# them is rejected before any array is built.
MAX_FILE_BYTES = 64 << 20
MAX_HEADER_BYTES = 1 << 20
MAX_CHANNELS = 64
MAX_STAGES = 16
MAX_BRANCHES = 4
MAX_DIVISOR = 1024
MAX_SCALE = 8
MAX_TABLE_ROWS = 1 << 16
MAX_PASSES = 4          # networks in one file, the first included

_DTYPES = {"int8": np.int8, "int32": np.int32, "float32": np.float32}


class ModelFormatError(ValueError):
    """A model file or model description that is not a valid tinylut model."""


@dataclass(frozen=True)
class Stage:
    kind: str                 # "dw" or "pw"
    cin: int
    cout: int
    divisor: int
    residual: bool
    out_lo: int
    out_hi: int
    table: np.ndarray         # int8 (taps, rows, row_width)
    gmap: np.ndarray          # int8 (cin, in_hi - in_lo + 1): input value -> requantised value
    seg: np.ndarray           # int32 (cin, 2): (first row, value of first row)
    scales: np.ndarray | None = None   # float32 (cin,): the DDM scales gmap came from
    centred: bool = False     # dw: the 3x3 window centred on the pixel, not at its corner
    dilation: int = 1         # dw, centred: 2 spreads the taps to -2, 0, 2 (window "dilated")

    @property
    def window(self) -> str:
        """The window's name in the file (WINDOWS)."""
        return next(k for k, v in WINDOWS.items() if v == (self.centred, self.dilation))

    @property
    def taps(self) -> int:
        return TAPS[self.kind]

    @property
    def row_width(self) -> int:
        return self.cout // self.cin if self.kind == "dw" else self.cout

    @property
    def summands(self) -> int:
        return self.taps if self.kind == "dw" else self.cin

    @property
    def table_bytes(self) -> int:
        return int(self.table.nbytes)


@dataclass(frozen=True)
class Branch:
    name: str
    split: str                # "msb": x >> bits, "lsb": x & (2**bits - 1), "full": x
    bits: int
    stages: tuple[Stage, ...]

    @property
    def lo(self) -> int:
        return split_range(self.split, self.bits)[0]

    @property
    def hi(self) -> int:
        return split_range(self.split, self.bits)[1]


@dataclass(frozen=True)
class ModelSpec:
    name: str
    arch: str
    task: str                 # "sr" or "denoise"
    scale: int
    branches: tuple[Branch, ...]
    rotations: int = 4
    meta: dict[str, Any] = field(default_factory=dict)
    # later networks, run in order on this one's output (scale 1, no passes of their own)
    passes: tuple["ModelSpec", ...] = ()

    @property
    def networks(self) -> tuple["ModelSpec", ...]:
        """This network and its later passes, in the order they run."""
        return (self,) + tuple(self.passes)

    @property
    def table_bytes(self) -> int:
        return sum(s.table_bytes for n in self.networks for b in n.branches for s in b.stages)


def split_range(split: str, bits: int) -> tuple[int, int]:
    """Value range of a branch input taken from x in -128..127."""
    if split == "msb":
        return -128 >> bits, 127 >> bits
    if split == "lsb":
        return 0, (1 << bits) - 1
    return -128, 127


def split_values(x: np.ndarray, split: str, bits: int) -> np.ndarray:
    """Branch input from centred pixels x = pixel - 128 (int arrays)."""
    if split == "msb":
        return x >> bits
    if split == "lsb":
        return x & ((1 << bits) - 1)
    return x


def requant_map(scales: np.ndarray, in_lo: int, in_hi: int, lo: int, hi: int) -> np.ndarray:
    """DDM requantisation g = clamp(rne(float32(v) * float32(a_c)), lo, hi) for every v."""
    v = np.arange(in_lo, in_hi + 1, dtype=np.float32)
    g = np.round(v[None, :] * np.asarray(scales, np.float32).reshape(-1, 1))
    return np.clip(g, lo, hi).astype(np.int8)


def requant_segments(scales: np.ndarray, in_lo: int, in_hi: int) -> np.ndarray:
    """Segments (first row, lowest value) of rne(v * a_c) before the clamp, in channel order.

    The released tables keep rows for the unclamped range, so we do too: their layout is the
    authors' and importing them needs no reshuffle."""
    v = np.arange(in_lo, in_hi + 1, dtype=np.float32)
    g = np.round(v[None, :] * np.asarray(scales, np.float32).reshape(-1, 1)).astype(np.int64)
    lows, highs = g.min(axis=1), g.max(axis=1)
    starts = np.concatenate([[0], np.cumsum(highs - lows + 1)[:-1]])
    return np.stack([starts, lows], axis=1).astype(np.int32)


def identity_segments(cin: int, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """gmap and segments for a stage that reads its input unchanged (one full segment each)."""
    n = hi - lo + 1
    gmap = np.tile(np.arange(lo, hi + 1, dtype=np.int8), (cin, 1))
    seg = np.stack([np.arange(cin) * n, np.full(cin, lo)], axis=1).astype(np.int32)
    return gmap, seg


# ----------------------------------------------------------------------------- validation

def _fail(where: str, msg: str) -> None:
    raise ModelFormatError(f"{where}: {msg}")


def _check_int(where: str, value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        _fail(where, f"expected an integer, got {type(value).__name__}")
    if not lo <= int(value) <= hi:
        _fail(where, f"{value} is outside {lo}..{hi}")
    return int(value)


def _check_array(where: str, arr: Any, dtype: type, shape: tuple[int, ...]) -> None:
    if not isinstance(arr, np.ndarray):
        _fail(where, f"expected a numpy array, got {type(arr).__name__}")
    if arr.dtype != np.dtype(dtype):
        _fail(where, f"dtype {arr.dtype}, expected {np.dtype(dtype)}")
    if arr.shape != shape:
        _fail(where, f"shape {arr.shape}, expected {shape}")


def validate_stage(where: str, st: Stage, in_lo: int, in_hi: int, cin: int) -> None:
    if st.kind not in TAPS:
        _fail(where, f"unknown stage kind {st.kind!r}")
    _check_int(f"{where}.cin", st.cin, 1, MAX_CHANNELS)
    if st.cin != cin:
        _fail(where, f"cin {st.cin} does not match the {cin} channels coming in")
    _check_int(f"{where}.cout", st.cout, 1, MAX_CHANNELS)
    if st.kind == "dw" and st.cout % st.cin:
        _fail(where, f"depthwise stage needs cout ({st.cout}) a multiple of cin ({st.cin})")
    if not isinstance(st.residual, bool):
        _fail(f"{where}.residual", "expected true or false")
    if not isinstance(st.centred, bool):
        _fail(f"{where}.centred", "expected true or false")
    if st.centred and st.kind != "dw":
        _fail(f"{where}.window", "only a dw stage has a window to centre")
    if type(st.dilation) is not int or (st.centred, st.dilation) not in WINDOWS.values():
        _fail(f"{where}.dilation", "expected 1, or 2 with a centred window")
    if st.residual and st.cout % st.cin:
        _fail(where, f"a residual needs cout ({st.cout}) a multiple of cin ({st.cin})")
    _check_int(f"{where}.divisor", st.divisor, 1, MAX_DIVISOR)
    lo = _check_int(f"{where}.out_lo", st.out_lo, -128, 127)
    _check_int(f"{where}.out_hi", st.out_hi, lo, 127)

    n_in = in_hi - in_lo + 1
    _check_array(f"{where}.gmap", st.gmap, np.int8, (st.cin, n_in))
    _check_array(f"{where}.seg", st.seg, np.int32, (st.cin, 2))
    if not isinstance(st.table, np.ndarray) or st.table.ndim != 3:
        _fail(f"{where}.table", "expected a 3-d int8 array (taps, rows, row width)")
    rows = st.table.shape[1]
    _check_array(f"{where}.table", st.table, np.int8, (st.taps, rows, st.row_width))
    if not 1 <= rows <= MAX_TABLE_ROWS:
        _fail(f"{where}.table", f"{rows} rows is outside 1..{MAX_TABLE_ROWS}")
    # Every value the map can produce must land on a row inside the table.
    g = st.gmap.astype(np.int64)
    row_of_g = st.seg[:, :1].astype(np.int64) + g - st.seg[:, 1:].astype(np.int64)
    if row_of_g.min() < 0 or row_of_g.max() >= rows:
        _fail(f"{where}.seg", f"segments reach rows {row_of_g.min()}..{row_of_g.max()}, "
                              f"the table has {rows}")
    if st.scales is not None:
        _check_array(f"{where}.scales", st.scales, np.float32, (st.cin,))
        if not np.all(np.isfinite(st.scales)):
            _fail(f"{where}.scales", "not finite")


def validate(spec: ModelSpec) -> ModelSpec:
    """Check every shape, range and offset; raise ModelFormatError on the first problem."""
    if not isinstance(spec.passes, tuple) or not 1 <= len(spec.networks) <= MAX_PASSES:
        _fail("model.passes", f"expected a tuple of at most {MAX_PASSES - 1} later networks")
    for i, net in enumerate(spec.networks):
        where = "model" if i == 0 else f"pass {i}"
        if not isinstance(net, ModelSpec):
            _fail(where, f"expected a ModelSpec, got {type(net).__name__}")
        if i and net.passes:
            _fail(where, "a later pass cannot have passes of its own")
        if i and net.scale != 1:
            _fail(f"{where}.scale", f"a later pass runs on the first one's output: scale 1, "
                                    f"got {net.scale}")
        _validate_network(where, net)
    return spec


def _validate_network(where_model: str, spec: ModelSpec) -> None:
    if not isinstance(spec.name, str) or not isinstance(spec.arch, str):
        _fail(where_model, "name and arch must be strings")
    if spec.task not in ("sr", "denoise"):
        _fail(f"{where_model}.task", f"unknown task {spec.task!r}")
    scale = _check_int(f"{where_model}.scale", spec.scale, 1, MAX_SCALE)
    if spec.rotations not in ORIENTATIONS or isinstance(spec.rotations, bool):
        _fail(f"{where_model}.rotations", f"expected 1, 2, 4 or 8, got {spec.rotations!r}")
    if not 1 <= len(spec.branches) <= MAX_BRANCHES:
        _fail(f"{where_model}.branches",
              f"{len(spec.branches)} branches, expected 1..{MAX_BRANCHES}")
    prefix = "" if where_model == "model" else f"{where_model} "
    for b in spec.branches:
        where = f"{prefix}branch {b.name!r}"
        if b.split not in SPLITS:
            _fail(where, f"unknown split {b.split!r}")
        _check_int(f"{where}.bits", b.bits, 0, 7)
        if not 1 <= len(b.stages) <= MAX_STAGES:
            _fail(where, f"{len(b.stages)} stages, expected 1..{MAX_STAGES}")
        in_lo, in_hi, cin = b.lo, b.hi, 1
        for i, st in enumerate(b.stages):
            validate_stage(f"{where} stage {i}", st, in_lo, in_hi, cin)
            in_lo, in_hi, cin = st.out_lo, st.out_hi, st.cout
        if cin != scale * scale:
            _fail(where, f"last stage has {cin} outputs, scale {scale} needs {scale * scale}")


# ----------------------------------------------------------------------------- file I/O

def _stage_header(st: Stage, key: str, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    arrays[f"{key}.table"] = st.table
    arrays[f"{key}.gmap"] = st.gmap
    arrays[f"{key}.seg"] = st.seg
    if st.scales is not None:
        arrays[f"{key}.scales"] = st.scales
    head = {"kind": st.kind, "cin": st.cin, "cout": st.cout, "divisor": st.divisor,
            "residual": st.residual, "out_lo": st.out_lo, "out_hi": st.out_hi,
            "table_rows": int(st.table.shape[1]), "array": key,
            "has_scales": st.scales is not None}
    if st.window != "corner":
        head["window"] = st.window
    return head


def file_version(spec: ModelSpec) -> int:
    """The oldest format version that holds the model: 5 with eight orientations, 4 with a
    dilated window, 3 with passes, 2 with a centred window, else 1."""
    windows = max(WINDOW_SINCE[st.window] for net in spec.networks for b in net.branches
                  for st in b.stages)
    rotations = max(ROTATIONS_SINCE[net.rotations] for net in spec.networks)
    return max(windows, rotations, 3 if spec.passes else 1)


def _branches_header(spec: ModelSpec, prefix: str, arrays: dict[str, np.ndarray]) -> list:
    branches = []
    for bi, b in enumerate(spec.branches):
        stages = [_stage_header(st, f"{prefix}b{bi}.s{si}", arrays)
                  for si, st in enumerate(b.stages)]
        branches.append({"name": b.name, "split": b.split, "bits": b.bits,
                         "lo": b.lo, "hi": b.hi, "stages": stages})
    return branches


def to_bytes(spec: ModelSpec) -> bytes:
    validate(spec)
    arrays: dict[str, np.ndarray] = {}
    branches = _branches_header(spec, "", arrays)
    passes = [{"name": p.name, "arch": p.arch, "task": p.task, "scale": p.scale,
               "rotations": p.rotations, "meta": p.meta,
               "branches": _branches_header(p, f"p{i}.", arrays)}
              for i, p in enumerate(spec.passes, start=1)]
    index, chunks, offset = {}, [], 0
    for name, arr in arrays.items():
        data = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes()
        index[name] = {"dtype": arr.dtype.name, "shape": list(arr.shape),
                       "offset": offset, "nbytes": len(data)}
        pad = (-len(data)) % 8
        chunks.append(data + b"\0" * pad)
        offset += len(data) + pad
    blob = b"".join(chunks)
    version = file_version(spec)
    header = {"format": "tinylut-model", "version": version, "name": spec.name,
              "arch": spec.arch, "task": spec.task, "scale": spec.scale,
              "rotations": spec.rotations, "table_bytes": spec.table_bytes,
              "branches": branches, "arrays": index, "blob_bytes": len(blob),
              "sha256": hashlib.sha256(blob).hexdigest(), "meta": spec.meta}
    if passes:
        header["passes"] = passes
    head = json.dumps(header, indent=1, sort_keys=True).encode()
    return MAGIC + struct.pack("<II", version, len(head)) + head + blob


def write_model(spec: ModelSpec, path: str | os.PathLike) -> None:
    data = to_bytes(spec)
    tmp = f"{os.fspath(path)}.tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _get(where: str, obj: Any, key: str, kind: type | tuple[type, ...]) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        _fail(where, f"missing field {key!r}")
    value = obj[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        _fail(where, f"field {key!r} has the wrong type ({type(value).__name__})")
    return value


def _read_array(index: dict, name: str, blob: bytes) -> np.ndarray:
    where = f"array {name!r}"
    entry = _get("header.arrays", index, name, dict)
    dtype_name = _get(where, entry, "dtype", str)
    if dtype_name not in _DTYPES:
        _fail(where, f"dtype {dtype_name!r} is not one of {sorted(_DTYPES)}")
    dtype = np.dtype(_DTYPES[dtype_name]).newbyteorder("<")
    shape = _get(where, entry, "shape", list)
    if not 1 <= len(shape) <= 4 or not all(isinstance(s, int) and not isinstance(s, bool)
                                           and 0 <= s <= MAX_TABLE_ROWS for s in shape):
        _fail(where, f"bad shape {shape!r}")
    offset = _get(where, entry, "offset", int)
    nbytes = _get(where, entry, "nbytes", int)
    if nbytes != math.prod(shape) * dtype.itemsize:  # Python ints: no overflow
        _fail(where, f"nbytes {nbytes} does not match shape {shape} of {dtype_name}")
    if offset < 0 or offset % 8 or offset + nbytes > len(blob):
        _fail(where, f"bytes {offset}..{offset + nbytes} lie outside the {len(blob)}-byte blob")
    arr = np.frombuffer(blob, dtype=dtype, count=nbytes // dtype.itemsize, offset=offset)
    return arr.reshape(shape).astype(dtype.newbyteorder("="))


def from_bytes(data: bytes) -> ModelSpec:
    """Parse and validate a model file's bytes; raises ModelFormatError on anything wrong."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) > MAX_FILE_BYTES:
        _fail("file", f"{len(data)} bytes is larger than the {MAX_FILE_BYTES}-byte limit")
    if len(data) < 16 or data[:8] != MAGIC:
        _fail("file", "not a tinylut model (bad magic)")
    version, head_len = struct.unpack("<II", data[8:16])
    if version not in VERSIONS:
        _fail("file", f"format version {version}; this tinylut reads versions "
                      f"{', '.join(map(str, VERSIONS))}")
    if head_len > MAX_HEADER_BYTES or 16 + head_len > len(data):
        _fail("file", f"header length {head_len} runs past the end of the file")
    try:
        header = json.loads(data[16:16 + head_len].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        _fail("header", f"not valid JSON ({e})")
    blob = data[16 + head_len:]
    if _get("header", header, "format", str) != "tinylut-model":
        _fail("header", "format is not 'tinylut-model'")
    if _get("header", header, "blob_bytes", int) != len(blob):
        _fail("header", f"blob is {len(blob)} bytes, header says {header['blob_bytes']}")
    if hashlib.sha256(blob).hexdigest() != _get("header", header, "sha256", str):
        _fail("header", "checksum mismatch: the file is corrupt")
    index = _get("header", header, "arrays", dict)
    pass_list = _get("header", header, "passes", list) if "passes" in header else []
    if pass_list and version < 3:
        _fail("header.passes", f"a version-{version} file has no passes")
    if len(pass_list) > MAX_PASSES - 1:
        _fail("header.passes", f"{len(pass_list)} later passes, at most {MAX_PASSES - 1}")
    passes = tuple(_read_network(f"pass {i}", ph, index, blob, version)
                   for i, ph in enumerate(pass_list, start=1))
    spec = _read_network("header", header, index, blob, version)
    return validate(replace(spec, passes=passes))


def _read_network(where_net: str, header: Any, index: dict, blob: bytes, version: int
                  ) -> ModelSpec:
    """One network of a file: the header itself for the first, an entry of ``passes`` after."""
    branch_list = _get(where_net, header, "branches", list)
    if not 1 <= len(branch_list) <= MAX_BRANCHES:
        _fail(f"{where_net}.branches", f"{len(branch_list)} branches, expected 1..{MAX_BRANCHES}")
    prefix = "" if where_net == "header" else f"{where_net} "
    branches = []
    for bi, bh in enumerate(branch_list):
        where = f"{prefix}branch {bi}"
        stage_list = _get(where, bh, "stages", list)
        if not 1 <= len(stage_list) <= MAX_STAGES:
            _fail(where, f"{len(stage_list)} stages, expected 1..{MAX_STAGES}")
        stages = []
        for si, sh in enumerate(stage_list):
            sw = f"{where} stage {si}"
            key = _get(sw, sh, "array", str)
            scales = _read_array(index, f"{key}.scales", blob) \
                if _get(sw, sh, "has_scales", bool) else None
            window = _get(sw, sh, "window", str) if "window" in sh else "corner"
            if window not in WINDOWS or WINDOW_SINCE[window] > version:
                _fail(f"{sw}.window", f"{window!r} is not a window of a version-{version} file")
            stages.append(Stage(
                kind=_get(sw, sh, "kind", str), cin=_get(sw, sh, "cin", int),
                cout=_get(sw, sh, "cout", int), divisor=_get(sw, sh, "divisor", int),
                residual=_get(sw, sh, "residual", bool), out_lo=_get(sw, sh, "out_lo", int),
                out_hi=_get(sw, sh, "out_hi", int),
                table=_read_array(index, f"{key}.table", blob),
                gmap=_read_array(index, f"{key}.gmap", blob),
                seg=_read_array(index, f"{key}.seg", blob), scales=scales,
                centred=WINDOWS[window][0], dilation=WINDOWS[window][1]))
        branches.append(Branch(name=_get(where, bh, "name", str),
                               split=_get(where, bh, "split", str),
                               bits=_get(where, bh, "bits", int), stages=tuple(stages)))
    meta = header.get("meta", {})
    if not isinstance(meta, dict):
        _fail(f"{where_net}.meta", "expected an object")
    rotations = _get(where_net, header, "rotations", int)
    if ROTATIONS_SINCE.get(rotations, 1) > version:
        _fail(f"{where_net}.rotations", f"{rotations} is not in a version-{version} file")
    return ModelSpec(name=_get(where_net, header, "name", str),
                     arch=_get(where_net, header, "arch", str),
                     task=_get(where_net, header, "task", str),
                     scale=_get(where_net, header, "scale", int), branches=tuple(branches),
                     rotations=rotations, meta=meta)


def read_model(path: str | os.PathLike) -> ModelSpec:
    with open(path, "rb") as f:
        data = f.read(MAX_FILE_BYTES + 1)
    return from_bytes(data)


__all__ = ["Stage", "Branch", "ModelSpec", "ModelFormatError", "read_model", "write_model",
           "from_bytes", "to_bytes", "validate", "requant_map", "requant_segments",
           "identity_segments", "split_range", "split_values", "replace", "MAX_PASSES"]
