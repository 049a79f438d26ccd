"""Runs a validated model through the C core: C structs, row ranges, threads, ISA choice."""
from __future__ import annotations

import os
import queue
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import _core
from .model import ModelSpec

_SPLIT_CODES = {"msb": 0, "lsb": 1, "full": 2}
_KIND_CODES = {"dw": 0, "pw": 1}
ISA_NAMES = _core.ISA_NAMES
MIN_ROWS_PER_THREAD = 8  # below this a thread costs more than it saves
JOBS_PER_THREAD = 2      # smaller jobs even out threads that the machine slows unequally
# The pool's threads live as long as the process: more than this many would only sit idle
# (the work is CPU-bound), so a larger ``threads`` runs on this many.
MAX_POOL_THREADS = max(8, 4 * (os.cpu_count() or 1))


def _stage_arrays(st, in_lo: int, in_n: int) -> dict:
    """Per input channel and value: the table row offset and the requantised value."""
    g = st.gmap.astype(np.int64)
    rows = st.seg[:, :1].astype(np.int64) + g - st.seg[:, 1:].astype(np.int64)
    return {
        "kind": _KIND_CODES[st.kind], "cin": st.cin, "cout": st.cout,
        "row_width": st.row_width, "divisor": st.divisor, "residual": int(st.residual),
        "centred": int(st.centred), "dilation": st.dilation,
        "out_lo": st.out_lo, "out_hi": st.out_hi, "in_lo": in_lo, "in_n": in_n,
        "row_off": np.ascontiguousarray(rows * st.row_width, dtype=np.int32),
        "gval": np.ascontiguousarray(st.gmap, dtype=np.int8),
        "table": np.ascontiguousarray(st.table, dtype=np.int8),
        "tap_stride": int(st.table.shape[1] * st.table.shape[2]),
    }


def build_core(spec: ModelSpec) -> "_core.CoreModel":
    branches = []
    for b in spec.branches:
        stages, lo, hi = [], b.lo, b.hi
        for st in b.stages:
            stages.append(_stage_arrays(st, lo, hi - lo + 1))
            lo, hi = st.out_lo, st.out_hi
        branches.append((_SPLIT_CODES[b.split], b.bits, stages))
    return _core.CoreModel(spec.scale, spec.rotations, branches)


def isa_code(isa: str | None) -> int:
    """The ISA to run: the argument, else $TINYLUT_ISA, else the fastest available."""
    name = isa if isa is not None else os.environ.get("TINYLUT_ISA") or None
    if name is None:
        return _core.isa_best()
    if name not in ISA_NAMES:
        raise ValueError(f"unknown instruction set {name!r}; expected one of {ISA_NAMES}")
    code = ISA_NAMES.index(name)
    if not _core.isa_available(code):
        available = [n for i, n in enumerate(ISA_NAMES) if _core.isa_available(i)]
        raise ValueError(f"instruction set {name!r} is not available on this machine/build "
                         f"(available: {', '.join(available)})")
    return code


def available_isas() -> list[str]:
    return [n for i, n in enumerate(ISA_NAMES) if _core.isa_available(i)]


def _row_ranges(height: int, parts: int) -> list[tuple[int, int]]:
    bounds = np.linspace(0, height, parts + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


class _SharedPool:
    """One process-wide thread pool, grown to the largest thread count asked for.

    Starting and joining threads on every call cost ~1.5 ms of a 14 ms two-thread restore.
    A forked child inherits the pool object but not its threads: it starts a new one."""

    def __init__(self):
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._size = 0
        if hasattr(os, "register_at_fork"):   # not on Windows, which cannot fork
            os.register_at_fork(after_in_child=self._forget)

    def _forget(self):
        self._lock = threading.Lock()
        self._pool, self._size = None, 0

    def submit_all(self, fn, count: int) -> list:
        """``count`` calls of ``fn`` on a pool of at least ``count`` threads."""
        with self._lock:   # submitting under the lock: a pool being replaced still takes them
            if self._pool is None or self._size < count:
                if self._pool is not None:
                    self._pool.shutdown(wait=False)   # finishes what it holds, then exits
                self._pool = ThreadPoolExecutor(max_workers=count, thread_name_prefix="tinylut")
                self._size = count
            return [self._pool.submit(fn) for _ in range(count)]


_POOL = _SharedPool()


def run(core, scale: int, image: np.ndarray, threads: int, isa: int,
        out: np.ndarray | None = None) -> np.ndarray:
    """uint8 (H, W, C) -> uint8 (H*scale, W*scale, C); row ranges (all channels of each: the
    core writes the channels of a pixel together) run in parallel on ``threads`` threads at most.
    ``image`` and ``out`` may be strided views (the core takes any strides): ``out``, when given,
    is written in place, so a transposed view of an array receives a transposed result."""
    h, w, channels = image.shape
    if out is None:
        out = np.empty((h * scale, w * scale, channels), np.uint8)
    parts = max(1, min(threads * JOBS_PER_THREAD if threads > 1 else 1, h // MIN_ROWS_PER_THREAD))
    jobs = list(_row_ranges(h, parts))

    def work(job):
        core.restore_rows(image, out, job[0], job[1], isa)

    if threads <= 1 or len(jobs) == 1:
        for job in jobs:
            work(job)
        return out
    todo: queue.SimpleQueue = queue.SimpleQueue()
    for job in jobs:
        todo.put(job)

    def worker():
        while True:
            try:
                job = todo.get_nowait()
            except queue.Empty:
                return
            work(job)

    for done in _POOL.submit_all(worker, min(threads, len(jobs), MAX_POOL_THREADS)):
        done.result()   # re-raises a worker's error
    return out
