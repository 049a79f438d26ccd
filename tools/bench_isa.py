#!/usr/bin/env python
"""Speed of every instruction-set path on the x4 RGB restore, 320x180 -> 1280x720.

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
  * static instruction counts: the instructions in the per-pixel loop of the fused row kernel
    (one output pixel of one rotation, both branches and the merge), from the disassembly of
    the wheel's extension module (``aarch64-linux-gnu-objdump``), beside the same count for the
    native x86 kernels. Per input pixel and channel the loop runs once per rotation (4); each
    input pixel makes 16 output pixels.
Uses the cross cache of tools/build_wheels.sh and tools/test_aarch64.sh (sysroot, test
dependencies): run tools/test_aarch64.sh once first.

    python tools/bench_isa.py [--runs 25] [--threads N] [--aarch64-wheel WHEEL] [--json]
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
import zipfile
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
if (_ROOT / "tinylut" / "__init__.py").is_file():
    sys.path.insert(0, str(_ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def time_isas(runs: int, threads: int, isas=None) -> dict:
    """{isa: {"1": {...}, "N": {...}}} of wall (and 1-thread CPU) milliseconds."""
    import tinylut
    from bench import bench_image, load_bench_model
    model = load_bench_model(None)
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
    out = {"input": source, "model": model.name, "runs": runs, "threads": counts, "ms": {}}
    for isa, n in keys:
        row = {"median": statistics.median(wall[isa, n]), "min": min(wall[isa, n])}
        if n == 1:
            row.update(cpu_median=statistics.median(cpu[isa, n]), cpu_min=min(cpu[isa, n]))
        out["ms"].setdefault(isa, {})[str(n)] = row
    return out


# ----------------------------------------------------------------------------- static counts

def loop_sizes(objdump: str, func: str, permute: str, add: str) -> list[tuple[int, int]]:
    """(instructions, table adds) of the loops of `func` that contain `permute`, the
    per-pixel loop with the most table adds first."""
    lines, inside = [], False
    for line in objdump.splitlines():
        if re.match(rf"^[0-9a-f]+ <{re.escape(func)}>:", line):
            inside = True
            continue
        if inside and re.match(r"^[0-9a-f]+ <", line):
            break
        m = re.match(r"^\s*([0-9a-f]+):\s+(\S+)\s*(.*)$", line) if inside else None
        if m:
            lines.append((int(m.group(1), 16), m.group(2), m.group(3)))
    addrs = [a for a, _, _ in lines]
    back = []  # (first, last) line index of every backward branch's loop
    for i, (a, op, args) in enumerate(lines):
        t = re.search(r"\b([0-9a-f]+) <", args)
        if (op.startswith("j") or op.startswith("b")) and t and int(t.group(1), 16) in addrs \
                and int(t.group(1), 16) < a:
            back.append((addrs.index(int(t.group(1), 16)), i))
    loops = []
    for lo, hi in back:
        if any(lo <= l2 and h2 <= hi and (l2, h2) != (lo, hi) for l2, h2 in back):
            continue  # not innermost
        body = lines[lo:hi + 1]
        if any(o == permute for _, o, _ in body):
            loops.append((len(body), sum(1 for _, o, x in body if o == add and add_is_table(x))))
    # the constant-shape TinyLUT-S loop has the most row adds of the loops with a permute
    loops.sort(key=lambda t: (-t[1], t[0]))
    return loops


def add_is_table(args: str) -> bool:
    # x86: vpaddw (mem),...; aarch64 counts every 8-lane add (two per 16-lane row)
    return "(" in args or ".8h" in args


def static_counts(so: str, objdump: str, func: str, permute: str, add: str) -> dict:
    text = subprocess.run([objdump, "-d", "--no-show-raw-insn", so], capture_output=True,
                          text=True, check=True).stdout
    loops = loop_sizes(text, func, permute, add)
    if not loops:
        return {"function": func, "error": "no per-pixel loop found"}
    n, adds = loops[0]
    return {"function": func, "loop_instructions": n, "table_adds_in_loop": adds,
            "per_input_pixel_channel": 4 * n, "per_output_pixel": 4 * n / 16}


# ----------------------------------------------------------------------------- aarch64

def cross_dir() -> Path:
    return Path(os.environ.get("TINYLUT_CROSS", Path.home() / ".cache" / "tinylut-cross"))


def emulated(wheel: str, runs: int) -> dict:
    """Run this script's timing under qemu (cortex-a72) against the wheel; + static counts."""
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
        with zipfile.ZipFile(wheel) as z:
            so = next(n for n in z.namelist() if n.endswith(".so") and "_core" in n)
        res["static"] = static_counts(str(site / so), "aarch64-linux-gnu-objdump",
                                      "fused_row_neon", "tbl", "add")
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
                "print(json.dumps(bench_isa.time_isas(%d, 1, ['scalar', 'neon'])))"
                % (str(site), runs))
        proc = subprocess.run(["qemu-aarch64-static", "-L", str(sysroot),
                               str(sysroot / "usr" / "bin" / "python3.11"), "-s", "-c", code],
                              env=env, capture_output=True, text=True, cwd=tmp)
        if proc.returncode:
            raise SystemExit(f"bench_isa: emulated run failed:\n{proc.stderr[-2000:]}")
        res["emulated"] = json.loads(proc.stdout.strip().splitlines()[-1])
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=25, help="timed runs per path (default 25, >= 20)")
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--aarch64-wheel", help="also measure NEON: emulated time, static counts")
    ap.add_argument("--emulated-runs", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    import tinylut
    res = {"native": time_isas(args.runs, args.threads), "load_average": os.getloadavg(),
           "info": tinylut.info()}
    core = tinylut._core.__file__
    if "avx2" in res["native"]["ms"]:
        res["static_x86"] = static_counts(core, "objdump", "fused_row_avx2", "vpshufb", "vpaddw")
    if args.aarch64_wheel:
        res["aarch64"] = emulated(args.aarch64_wheel, args.emulated_runs)
    if args.json:
        print(json.dumps(res))
        return 0

    nat = res["native"]
    print(f"x4 RGB 320x180 -> 1280x720, {nat['model']}, input {nat['input']}")
    print(f"{nat['runs']} runs per path, round-robin; load average {res['load_average'][0]:.2f} "
          f"on {len(os.sched_getaffinity(0))} cores (other processes share them: medians are "
          "upper bounds, mins the better estimate)")
    print(f"{'path':<10}{'threads':>8}{'median ms':>11}{'min ms':>9}{'cpu median':>12}{'cpu min':>9}")
    for isa, rows in nat["ms"].items():
        for n, r in rows.items():
            cpu = (f"{r['cpu_median']:>12.1f}{r['cpu_min']:>9.1f}" if "cpu_median" in r else "")
            print(f"{isa:<10}{n:>8}{r['median']:>11.1f}{r['min']:>9.1f}{cpu}")
    for key, label in (("static_x86", "avx2"),):
        if key in res:
            s = res[key]
            print(f"{label}: per-pixel loop of {s['function']}: {s.get('loop_instructions')} "
                  f"instructions ({s.get('table_adds_in_loop')} table-row adds) per output pixel "
                  f"and rotation, {s.get('per_input_pixel_channel')} per input pixel-channel")
    if "aarch64" in res:
        a = res["aarch64"]
        s = a["static"]
        print(f"neon (static count, {s['function']}): {s.get('loop_instructions')} instructions "
              f"per loop iteration ({s.get('table_adds_in_loop')} 8-lane adds), "
              f"{s.get('per_input_pixel_channel')} per input pixel-channel, "
              f"{s.get('per_output_pixel')} per output pixel")
        for isa, rows in a["emulated"]["ms"].items():
            r = rows["1"]
            print(f"EMULATED (qemu-aarch64 cortex-a72 on this x86, not a Cortex-A72's speed): "
                  f"{isa:<7} 1 thread median {r['median']:.0f} ms, min {r['min']:.0f} ms "
                  f"({a['emulated']['runs']} runs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
