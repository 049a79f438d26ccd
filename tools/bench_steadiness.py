#!/usr/bin/env python
"""Is the machine steady enough to benchmark? A series of x4 RGB restores beside a clock probe.

On a shared VM the same restore can take 1.5x longer for minutes at a time. This script tells
a slow clock (frequency) from contention for the core (another tenant on the same physical
core, memory traffic): it alternates, for ``--seconds``,

  probe    a dependent chain of integer multiply-adds in C (compiled here with ``cc``): its
           time follows the clock and barely moves under contention for load ports or caches;
  restore  one ``model(img, threads=1)`` (tools/bench.py's image and default model).

and prints both series (ms) and their spread. If the probe is flat while the restore swings,
the swings are contention, not frequency, and a median over a short window measures the
window. Read tools/bench.py's medians with that in mind.

    python tools/bench_steadiness.py [--seconds 20] [--model M]
"""
from __future__ import annotations

import argparse
import ctypes
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
if (_ROOT / "tinylut" / "__init__.py").is_file():
    sys.path.insert(0, str(_ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

PROBE_C = """
long probe(long n) {
    long x = 1;
    for (long i = 0; i < n; i++) {
        x = x * 3 + 1;
        __asm__ volatile("" : "+r"(x)); /* keep the chain: one multiply-add after another */
    }
    return x;
}
"""
PROBE_STEPS = 5_000_000


def build_probe(folder: str):
    src, lib = Path(folder, "probe.c"), Path(folder, "probe.so")
    src.write_text(PROBE_C)
    subprocess.run(["cc", "-O1", "-shared", "-fPIC", "-o", str(lib), str(src)], check=True)
    probe = ctypes.CDLL(str(lib)).probe
    probe.argtypes, probe.restype = [ctypes.c_long], ctypes.c_long
    return probe


def spread(xs: list[float]) -> str:
    xs = sorted(xs)
    return (f"min {xs[0]:.2f}  p10 {xs[len(xs) // 10]:.2f}  median {statistics.median(xs):.2f}"
            f"  p90 {xs[9 * len(xs) // 10]:.2f}  max {xs[-1]:.2f} ms")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--model", default=None, help="default: tools/bench.py's")
    args = ap.parse_args(argv)
    if args.seconds <= 0:
        ap.error("--seconds must be positive")
    from bench import bench_image, load_bench_model
    model = load_bench_model(args.model)
    img, source = bench_image(None)
    with tempfile.TemporaryDirectory() as tmp:
        probe = build_probe(tmp)
        for _ in range(3):
            model(img, threads=1)
        pairs = []
        end = time.perf_counter() + args.seconds
        while time.perf_counter() < end:
            t0 = time.perf_counter()
            probe(PROBE_STEPS)
            t1 = time.perf_counter()
            model(img, threads=1)
            t2 = time.perf_counter()
            pairs.append(((t1 - t0) * 1e3, (t2 - t1) * 1e3))
    print(f"input: {source}; {len(pairs)} pairs over {args.seconds:g} s, in order (probe / restore ms):")
    print("  " + "  ".join(f"{p:.2f}/{r:.1f}" for p, r in pairs))
    print(f"probe    {spread([p for p, _ in pairs])}")
    print(f"restore  {spread([r for _, r in pairs])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
