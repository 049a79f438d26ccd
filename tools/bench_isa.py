#!/usr/bin/env python
"""Speed of every instruction-set path on the x4 RGB restore, 320x180 -> 1280x720.

The model is the shipped default (``--model NAME`` for another, e.g. tinylut-f-x4; a scale-1
denoiser restores the same RGB image at its size).

Native paths (those ``tinylut.info()['isas']`` lists here): warm-up, then ``--runs`` timed
runs of each (path, threads) pair round-robin, so that drift in machine load hits them all
alike; reported: median and min wall time (``time.perf_counter``), 1 thread and ``--threads``,
and for 1 thread the median and min CPU time of the calling thread (``time.thread_time``), which
other processes on a busy machine inflate less than the wall time. The load average is printed
beside them: on a shared machine read medians as upper bounds and mins as the better estimate.

NEON cannot run natively here. With ``--aarch64-wheel WHEEL`` (tools/build_wheels.sh) this script
reports what can be measured honestly on x86:
  * emulated time: the same restore under ``qemu-aarch64-static`` (QEMU_CPU=cortex-a72), scalar
    and neon paths, labelled "emulated": qemu's speed, not a Cortex-A72's;
  * dynamic instruction counts: the instructions executed inside the extension module per
    input pixel and channel, scalar and neon, counted by qemu itself (``-d in_asm,exec`` limited
    to the module's code); ``--callgrind`` gives the same count for the native x86 paths.
Uses the cross cache of tools/build_wheels.sh and tools/test_aarch64.sh (sysroot, test
dependencies): run tools/test_aarch64.sh once first.

    python tools/bench_isa.py [--runs 25] [--threads N] [--aarch64-wheel WHEEL] [--callgrind] [--json]
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import re
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


def time_isas(runs: int, threads: int, isas=None, model_name: str | None = None) -> dict:
    """{isa: {"1": {...}, "N": {...}}} of wall (and 1-thread CPU) milliseconds."""
    import tinylut
    from bench import bench_image, load_bench_model
    model = load_bench_model(model_name)
    img, source = bench_image(None)
    isas = isas or tinylut.info()["isas"]
    counts = sorted({1, threads})
    want = model(img, isa="scalar", threads=1)
    keys = [(isa, n) for isa in isas for n in counts]
    for isa, n in keys:  # warm-up, and the paths agree
        if (model(img, isa=isa, threads=n) != want).any():
            raise SystemExit(f"bench_isa: {isa} with {n} threads differs from scalar")
    wall = {k: [] for k in keys}
    cpu = {k: [] for k in keys}
    for _ in range(runs):
        for isa, n in keys:
            t0, c0 = time.perf_counter(), time.thread_time()
            model(img, isa=isa, threads=n)
            cpu[isa, n].append((time.thread_time() - c0) * 1e3)
            wall[isa, n].append((time.perf_counter() - t0) * 1e3)
    out = {"input": source, "model": model.name, "scale": model.scale, "runs": runs,
           "threads": counts, "ms": {}}
    for isa, n in keys:
        row = {"median": statistics.median(wall[isa, n]), "min": min(wall[isa, n])}
        if n == 1:
            row.update(cpu_median=statistics.median(cpu[isa, n]), cpu_min=min(cpu[isa, n]))
        out["ms"].setdefault(isa, {})[str(n)] = row
    return out


# ----------------------------------------------------------------------------- instruction counts
# Instructions executed inside tinylut's extension module per input pixel (one channel), from the
# difference between two restores of the bench image's first channel, full width, ROWS[0] and
# ROWS[1] rows: fixed costs (tables, set-up) cancel. scale**2 output pixels per input pixel.
ROWS = (4, 12)
COUNT_SCRIPT = """
import sys, numpy as np, tinylut
from bench import load_bench_model, bench_image
m = load_bench_model(sys.argv[3] or None)
img, _ = bench_image(None)
m(np.ascontiguousarray(img[:int(sys.argv[2]), :, 0]), isa=sys.argv[1], threads=1)
"""


def qemu_count(log: str) -> int:
    """Guest instructions executed, from qemu's -d in_asm,exec,nochain log."""
    size, total, start = {}, 0, None
    with open(log) as f:
        for line in f:
            if line.startswith("Trace "):
                pc = int(line.split("[", 1)[1].split("/")[1], 16)
                total += size.get(pc, 0)
            elif line.startswith("IN:"):
                start = None
            elif line.startswith("0x") and ":" in line:
                addr = int(line.split(":", 1)[0], 16)
                if start is None:
                    start = addr
                    size[start] = 0
                size[start] += 1
    return total


def callgrind_count(code_dir: Path, isa: str, rows: int, model_name: str | None) -> int:
    """x86: instructions the C core executes for the restore, by valgrind --tool=callgrind."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp, "cg.out")
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                        "--dump-instr=no", sys.executable, "-c", COUNT_SCRIPT, isa, str(rows),
                        model_name or ""],
                       cwd=code_dir, capture_output=True, check=True,
                       env={**os.environ, "PYTHONPATH": f"{code_dir}:{_ROOT}"})
        text = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", str(out)],
                              capture_output=True, text=True, check=True).stdout
    # everything the C core runs for the call: the inclusive cost of its entry point
    line = next(l for l in text.splitlines() if "tl_restore_rows_prepared [" in l)
    return int(line.split()[0].replace(",", ""))


def per_pixel(counts: dict, scale: int, width: int = 320) -> dict:
    n = (counts[ROWS[1]] - counts[ROWS[0]]) / ((ROWS[1] - ROWS[0]) * width)
    return {"per_input_pixel_channel": round(n), "per_output_pixel": round(n / scale ** 2, 1)}


def x86_counts(isas, model_name: str | None, scale: int) -> dict:
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "bench.py").write_bytes((_ROOT / "tools" / "bench.py").read_bytes())
        for isa in isas:
            out[isa] = per_pixel({r: callgrind_count(Path(tmp), isa, r, model_name) for r in ROWS},
                                 scale)
    return out


# ----------------------------------------------------------------------------- aarch64

def cross_dir() -> Path:
    return Path(os.environ.get("TINYLUT_CROSS", Path.home() / ".cache" / "tinylut-cross"))


def emulated(wheel: str, runs: int, model_name: str | None, scale: int) -> dict:
    """Under qemu (cortex-a72), against the wheel: timing, and instructions counted by qemu."""
    cross = cross_dir()
    sysroot = cross / "sysroot-arm64"
    deps = [d for d in sorted(glob.glob(str(cross / "testdeps-*"))) if Path(d, "numpy").is_dir()]
    if not (sysroot / "usr" / "bin" / "python3.11").exists() or not deps:
        raise SystemExit("bench_isa: no arm64 sysroot/test deps in the cross cache; run "
                         "tools/test_aarch64.sh WHEEL once first")
    res = {}
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp, "site")
        plat = ["--only-binary=:all:", "--implementation", "cp", "--python-version", "3.11",
                "--platform", "manylinux2014_aarch64"]
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", *plat,
                        "--target", str(site), wheel], check=True)
        # copies of the bench scripts, away from the source tree (they put a tinylut/ beside
        # them first on sys.path): the emulated python must import the wheel's tinylut
        tools = Path(tmp, "tools")
        tools.mkdir()
        for name in ("bench.py", "bench_isa.py"):
            (tools / name).write_bytes((_ROOT / "tools" / name).read_bytes())
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "OPENBLAS"))}
        env.update(PYTHONPATH=f"{tools}:{site}:{deps[0]}", PYTHONNOUSERSITE="1",
                   QEMU_CPU="cortex-a72",
                   TINYLUT_SHARED=os.environ.get("TINYLUT_SHARED", str(_ROOT.parent / "shared")))
        code = ("import json, bench_isa, tinylut; assert tinylut.__file__.startswith(%r); "
                "print(json.dumps(bench_isa.time_isas(%d, 1, ['scalar', 'neon'], %r)))"
                % (str(site), runs, model_name))
        qemu = ["qemu-aarch64-static", "-L", str(sysroot), str(sysroot / "usr" / "bin" / "python3.11"), "-s"]

        def run(args, extra=()):
            proc = subprocess.run(qemu[:1] + list(extra) + qemu[1:] + args, env=env,
                                  capture_output=True, text=True, cwd=tmp)
            if proc.returncode:
                raise SystemExit(f"bench_isa: emulated run failed:\n{proc.stderr[-2000:]}")
            return proc.stdout

        res["emulated"] = json.loads(run(["-c", code]).strip().splitlines()[-1])
        # dynamic instruction counts: qemu logs the blocks it runs inside the module's code
        # (-dfilter), whose address is the same from run to run (no guest ASLR in qemu-user)
        maps = run(["-c", "import numpy, tinylut._core as c; print(open('/proc/self/maps').read())"])
        lo, hi = next(l.split()[0].split("-") for l in maps.splitlines()
                      if "tinylut/_core" in l and "r-xp" in l)
        counts = {}
        for isa in ("scalar", "neon"):
            c = {}
            for rows in ROWS:
                log = Path(tmp, "qemu.log")
                run(["-c", "import numpy, tinylut._core\n" + COUNT_SCRIPT, isa, str(rows),
                     model_name or ""],
                    ["-d", "in_asm,exec,nochain", "-dfilter", f"0x{lo}..0x{hi}", "-D", str(log)])
                c[rows] = qemu_count(str(log))
                log.unlink()
            counts[isa] = per_pixel(c, scale)
        res["instructions"] = counts
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=25, help="timed runs per path (default 25, >= 20)")
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--aarch64-wheel", help="also measure NEON: emulated time, instruction counts")
    ap.add_argument("--emulated-runs", type=int, default=3)
    ap.add_argument("--callgrind", action="store_true",
                    help="x86: also count instructions per pixel with valgrind (slow)")
    ap.add_argument("--model", help="a shipped model's name or a model file (default: the "
                    "shipped default)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.model and os.path.isfile(args.model):  # the counting runs start in other folders
        args.model = os.path.abspath(args.model)

    import tinylut
    res = {"native": time_isas(args.runs, args.threads, model_name=args.model), "load_average": os.getloadavg(),
           "info": tinylut.info()}
    if args.callgrind:
        res["instructions"] = x86_counts(res["native"]["ms"], args.model, res["native"]["scale"])
    if args.aarch64_wheel:
        res["aarch64"] = emulated(args.aarch64_wheel, args.emulated_runs, args.model,
                                  res["native"]["scale"])
    if args.json:
        print(json.dumps(res))
        return 0

    nat = res["native"]
    s = nat["scale"]
    print(f"x{s} RGB 320x180 -> {320 * s}x{180 * s}, {nat['model']}, input {nat['input']}")
    print(f"{nat['runs']} runs per path, round-robin; load average {res['load_average'][0]:.2f} "
          f"on {len(os.sched_getaffinity(0))} cores (other processes share them: medians are "
          "upper bounds, mins the better estimate)")
    print(f"{'path':<10}{'threads':>8}{'median ms':>11}{'min ms':>9}{'cpu median':>12}{'cpu min':>9}")
    for isa, rows in nat["ms"].items():
        for n, r in rows.items():
            cpu = (f"{r['cpu_median']:>12.1f}{r['cpu_min']:>9.1f}" if "cpu_median" in r else "")
            print(f"{isa:<10}{n:>8}{r['median']:>11.1f}{r['min']:>9.1f}{cpu}")
    note = (f"instructions executed in the extension per input pixel and channel (x{s}: {s * s} "
            f"output pixels), from restores of {ROWS[0]} and {ROWS[1]} full-width rows")
    for isa, c in res.get("instructions", {}).items():
        print(f"{isa:<10}{c['per_input_pixel_channel']:>6} {note} (callgrind); "
              f"{c['per_output_pixel']} per output pixel")
    if "aarch64" in res:
        a = res["aarch64"]
        for isa, c in a["instructions"].items():
            print(f"{isa:<10}{c['per_input_pixel_channel']:>6} {note} (aarch64, counted by qemu); "
                  f"{c['per_output_pixel']} per output pixel")
        for isa, rows in a["emulated"]["ms"].items():
            r = rows["1"]
            print(f"EMULATED (qemu-aarch64 cortex-a72 on this x86, not a Cortex-A72's speed): "
                  f"{isa:<7} 1 thread median {r['median']:.0f} ms, min {r['min']:.0f} ms "
                  f"({a['emulated']['runs']} runs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
