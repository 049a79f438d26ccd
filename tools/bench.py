#!/usr/bin/env python
"""Speed of a x4 RGB restore, 320x180 -> 1280x720, against bicubic (DESIGN.md section 4).

In one process, round-robin over the methods (so that drift in machine load hits them all
alike), a warm-up run of each first, then the median of ``--runs`` timed runs
(``time.perf_counter``), with 1 thread and with all threads:

  tinylut            ``model(img, threads=n)`` (numpy in, numpy out)
  OpenCV INTER_CUBIC ``cv2.resize`` after ``cv2.setNumThreads(n)``
  Pillow BICUBIC     ``Image.resize`` on a ready PIL image (Pillow resizes on one thread
                     whatever n is, so both columns time the same call)

The input is a natural image: the centre 320x180 crop of the first landscape B100 HR image in
``../shared`` (``$TINYLUT_SHARED``), or ``--image``; random pixels only when none is found
(say so in any figure you quote). Speed targets are checked with this script, never with
timed unit tests.

With ``--torch-released`` it also times the authors' own test-time forward on their released
tables, re-created op for op in ``tools/torch_released.py`` (float tables, a Python loop over
channels, one rotation after another), after checking that its output equals tinylut's on the
same tables: the PyTorch baseline of the speed target. ``--torch`` times our trainer's forward
of the released network instead (``tinylut.train.TinyLUTS(...)(x)``: every MLP evaluated once on
its integer grid, rows gathered per pixel, one channel at a time), ``--torch-per-pixel`` with
the float MLPs at every pixel (minutes). Both need torch (``tinylut[train]``); ``--torch-runs``
runs each (default 3: one run takes seconds). Each torch ratio is against tinylut with the same
thread count, timed 9 times after every torch run (the median of those): a torch run lasts
seconds, tinylut's 25 runs a fraction of one, and on a shared VM a slow spell should hit both.

    python tools/bench.py [--model M] [--runs 25] [--threads N] [--image PATH]
                          [--torch-released] [--torch [--torch-per-pixel]] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# Run from a source checkout: time that checkout's tinylut, not some other installed one.
_ROOT = Path(__file__).resolve().parent.parent
if (_ROOT / "tinylut" / "__init__.py").is_file():
    sys.path.insert(0, str(_ROOT))

SIZE_IN = (320, 180)        # width, height
SCALE = 4


def all_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def shared_dir() -> Path:
    env = os.environ.get("TINYLUT_SHARED")
    return Path(env) if env else Path(__file__).resolve().parent.parent.parent / "shared"


def bench_image(path: str | None) -> tuple[np.ndarray, str]:
    """A 180x320x3 uint8 image and where it came from."""
    from tinylut.imageio import read_image
    w, h = SIZE_IN
    if path is None:
        folder = shared_dir() / "data" / "sr" / "B100" / "HR"
        for p in sorted(folder.glob("*.png")) if folder.is_dir() else []:
            img = read_image(p)
            if img.ndim == 3 and img.shape[0] >= h and img.shape[1] >= w:
                path = str(p)
                break
    if path is None:
        rng = np.random.default_rng(0)
        return rng.integers(0, 256, (h, w, 3), dtype=np.uint8), "random pixels (no B100 found)"
    img = read_image(path)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    img = img[..., :3]
    if img.shape[0] < h or img.shape[1] < w:   # too small: resize up (Pillow, bicubic)
        from PIL import Image
        img = np.asarray(Image.fromarray(img).resize((w, h), Image.BICUBIC))
        return np.ascontiguousarray(img), f"{path} resized to {w}x{h}"
    y0, x0 = (img.shape[0] - h) // 2, (img.shape[1] - w) // 2
    crop = np.ascontiguousarray(img[y0:y0 + h, x0:x0 + w])
    return crop, f"{path} centre crop {w}x{h}"


def load_bench_model(name: str | None):
    """The given model; else the shipped default; else the released tables from ../shared."""
    import tinylut
    if name is not None:
        return tinylut.load_model(name)
    try:
        return tinylut.load_model(tinylut.DEFAULT_MODELS["sr"])
    except (OSError, ValueError, KeyError, AttributeError):
        pass
    official = shared_dir() / "data" / "official" / "tinylut_s_x4"
    if not official.is_dir():
        raise SystemExit("bench: no shipped model and no released tables in ../shared; "
                         "use --model")
    from tinylut.model import write_model
    from tinylut.official import import_official
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "official.tlut")
        write_model(import_official(str(official)), path)
        return tinylut.load_model(path)


def run_bench(model, img: np.ndarray, runs: int, threads: int, ensemble: bool = False) -> dict:
    import cv2
    from PIL import Image

    w, h = SIZE_IN
    out_size = (w * SCALE, h * SCALE)
    pil_img = Image.fromarray(img)

    def tinylut_fn(n):
        return lambda: model(img, threads=n, ensemble=ensemble)

    def cv2_fn(n):
        def f():
            cv2.setNumThreads(n)
            return cv2.resize(img, out_size, interpolation=cv2.INTER_CUBIC)
        return f

    def pil_fn(n):
        return lambda: pil_img.resize(out_size, Image.BICUBIC)

    thread_counts = sorted({1, threads})
    methods = {}
    for n in thread_counts:
        methods[("tinylut", n)] = tinylut_fn(n)
        methods[("opencv", n)] = cv2_fn(n)
        methods[("pillow", n)] = pil_fn(n)

    # Warm-up, and a check that every method makes a 1280x720 RGB image.
    for key, fn in methods.items():
        out = fn()
        shape = out.size[::-1] if isinstance(out, Image.Image) else out.shape[:2]
        if tuple(shape) != (out_size[1], out_size[0]):
            raise RuntimeError(f"{key}: output {shape}, expected {out_size[::-1]}")

    times: dict = {k: [] for k in methods}
    for _ in range(runs):
        for key, fn in methods.items():
            t0 = time.perf_counter()
            fn()
            times[key].append((time.perf_counter() - t0) * 1e3)
    cv2.setNumThreads(threads)

    res = {"ms": {}, "ratio": {}}
    for (name, n), ts in times.items():
        res["ms"].setdefault(name, {})[str(n)] = statistics.median(ts)
    for n in thread_counts:
        t = res["ms"]["tinylut"][str(n)]
        res["ratio"].setdefault("tinylut/opencv", {})[str(n)] = t / res["ms"]["opencv"][str(n)]
        res["ratio"].setdefault("tinylut/pillow", {})[str(n)] = t / res["ms"]["pillow"][str(n)]
    res["threads"] = thread_counts
    return res


# tinylut runs after each torch run, for the ratio (see median_torch_ms)
ALONGSIDE_RUNS = 9


def median_torch_ms(forward, runs: int, threads: int,
                    alongside=None) -> tuple[dict, object, dict]:
    """Median ms of ``forward()`` with 1 and ``threads`` torch threads, its last output, and the
    median ms of ``alongside(n)`` (tinylut on n threads), run ALONGSIDE_RUNS times after each
    torch run: a torch run takes seconds, so its ratio to tinylut is taken over the same
    stretch of time, and a slow spell of the machine hits both."""
    import torch

    res, near = {}, {}
    for n in sorted({1, threads}):
        torch.set_num_threads(n)
        times, ours = [], []
        with torch.no_grad():
            for _ in range(runs):
                t0 = time.perf_counter()
                out = forward()
                times.append((time.perf_counter() - t0) * 1e3)
                for _ in range(ALONGSIDE_RUNS if alongside else 0):
                    t0 = time.perf_counter()
                    alongside(n)
                    ours.append((time.perf_counter() - t0) * 1e3)
        res[str(n)] = statistics.median(times)
        if ours:
            near[str(n)] = statistics.median(ours)
    return res, out, near


def run_torch_bench(img: np.ndarray, runs: int, threads: int, per_pixel: bool,
                    alongside=None) -> tuple[dict, dict]:
    """Median ms of our trainer's PyTorch forward of TinyLUT-S (released weights) on ``img``."""
    import torch

    from tinylut.train.nets import TinyLUTS, load_official_state
    state_file = shared_dir() / "data" / "official" / "tinylut_s_x4" / "network_state.npz"
    if not state_file.is_file():
        raise SystemExit(f"bench --torch: no released network at {state_file}")
    net = load_official_state(TinyLUTS(scale=SCALE), dict(np.load(state_file))).eval()
    planes = [torch.from_numpy(np.ascontiguousarray(img[..., c]).astype(np.int64) - 128)[None]
              for c in range(img.shape[2])]
    res, out, near = median_torch_ms(lambda: [net(x, per_pixel=per_pixel) for x in planes],
                                     runs, threads, alongside)
    if tuple(out[0].shape[1:]) != (SIZE_IN[1] * SCALE, SIZE_IN[0] * SCALE):
        raise RuntimeError(f"torch forward: output {tuple(out[0].shape)}")
    return res, near


def run_torch_released_bench(img: np.ndarray, runs: int, threads: int,
                             alongside=None) -> tuple[dict, dict]:
    """Median ms of the released test-time forward (tools/torch_released.py) on ``img``, after
    checking that it makes tinylut's output on the same (released) tables, bit for bit."""
    import tinylut
    from tinylut.official import import_official
    from torch_released import ReleasedTinyLUTS, released_restore
    folder = shared_dir() / "data" / "official" / "tinylut_s_x4"
    if not folder.is_dir():
        raise SystemExit(f"bench --torch-released: no released tables at {folder}")
    net = ReleasedTinyLUTS(folder)
    expected = tinylut.Model(import_official(str(folder)), source="released tables")(img)
    res, out, near = median_torch_ms(lambda: released_restore(net, img), runs, threads,
                                     alongside)
    if not np.array_equal(out, expected):
        raise RuntimeError("the released-style torch forward differs from tinylut")
    return res, near


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", "-m", help="model name or .tlut file (default: the shipped "
                    "x4 model, else the released TinyLUT-S tables from ../shared)")
    ap.add_argument("--runs", type=int, default=25, help="timed runs per method (default 25)")
    ap.add_argument("--threads", type=int, default=all_threads(),
                    help=f"the 'all threads' count (default: {all_threads()})")
    ap.add_argument("--image", help="input image (cropped to 320x180 at its centre)")
    ap.add_argument("--torch", action="store_true",
                    help="also time our trainer's PyTorch forward (needs tinylut[train])")
    ap.add_argument("--torch-per-pixel", action="store_true",
                    help="with --torch: the MLPs at every pixel rather than table look-ups")
    ap.add_argument("--torch-released", action="store_true",
                    help="also time the authors' test-time forward re-created op for op "
                         "(tools/torch_released.py; needs torch)")
    ap.add_argument("--torch-runs", type=int, default=3, help="timed torch runs (default 3)")
    ap.add_argument("--ensemble", action="store_true",
                    help="time tinylut with the transposed self-ensemble (twice the work)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    if args.runs < 1 or args.threads < 1 or args.torch_runs < 1:
        ap.error("--runs, --torch-runs and --threads must be >= 1")

    import cv2
    import PIL

    import tinylut
    model = load_bench_model(args.model)
    img, source = bench_image(args.image)
    res = run_bench(model, img, args.runs, args.threads, args.ensemble)

    def alongside(n):   # the same call as the timed tinylut runs, so ratios compare like with like
        return model(img, threads=n, ensemble=args.ensemble)

    if args.torch:
        res["ms"]["torch"], res["ms"]["tinylut_near_torch"] = run_torch_bench(
            img, args.torch_runs, args.threads, args.torch_per_pixel, alongside)
    if args.torch_released:
        res["ms"]["torch_released"], res["ms"]["tinylut_near_torch_released"] = \
            run_torch_released_bench(img, args.torch_runs, args.threads, alongside)
    for key in ("torch", "torch_released"):
        if key in res["ms"]:   # against tinylut timed between those torch runs
            ours = res["ms"][f"tinylut_near_{key}"]
            res["ratio"][f"{key}/tinylut"] = {c: res["ms"][key][c] / ours[c]
                                              for c in res["ms"][key]}
    info = tinylut.info()
    res.update({"model": model.name, "table_bytes": model.spec.table_bytes,
                "ensemble": args.ensemble,
                "isa": info.get("isa"), "tinylut": info.get("version"),
                "opencv": cv2.__version__, "pillow": PIL.__version__,
                "input": source, "size_in": list(SIZE_IN),
                "size_out": [SIZE_IN[0] * SCALE, SIZE_IN[1] * SCALE], "runs": args.runs,
                "cpu": platform.processor() or platform.machine(), "cores": all_threads()})
    if args.json:
        print(json.dumps(res))
        return 0

    cols = [str(n) for n in res["threads"]]
    heads = [f"{n} thread{'s' if n != '1' else ''}" for n in cols]
    print(f"x4 RGB {SIZE_IN[0]}x{SIZE_IN[1]} -> {SIZE_IN[0] * SCALE}x{SIZE_IN[1] * SCALE}, "
          f"median of {args.runs} runs, milliseconds"
          + ("  (fewer than 20 runs: a quick look, not a figure to quote)" if args.runs < 20
             else ""))
    print(f"input: {source}")
    print(f"model: {model.name} ({res['table_bytes']} table bytes"
          f"{', self-ensemble' if args.ensemble else ''}), isa {res['isa']}; "
          f"OpenCV {cv2.__version__}, Pillow {PIL.__version__}; {res['cores']} cores")
    width = 34
    print(f"{'':<{width}}" + "".join(f"{h:>12}" for h in heads))
    labels = {"tinylut": f"tinylut ({res['isa']})", "opencv": "OpenCV INTER_CUBIC",
              "pillow": "Pillow BICUBIC"}
    if "torch" in res["ms"]:
        how = "per-pixel MLPs" if args.torch_per_pixel else "table forward"
        labels["torch"] = f"PyTorch {how} ({args.torch_runs} runs)"
        labels["tinylut_near_torch"] = "tinylut, between those runs"
    if "torch_released" in res["ms"]:
        labels["torch_released"] = f"PyTorch, released code ({args.torch_runs} runs)"
        labels["tinylut_near_torch_released"] = "tinylut, between those runs"
    for key, label in labels.items():
        print(f"{label:<{width}}" + "".join(f"{res['ms'][key][c]:>12.2f}" for c in cols))
    for key, label in (("tinylut/opencv", "tinylut / OpenCV"),
                       ("tinylut/pillow", "tinylut / Pillow"),
                       ("torch/tinylut", "PyTorch / tinylut"),
                       ("torch_released/tinylut", "PyTorch released / tinylut")):
        if key not in res["ratio"]:
            continue
        print(f"{label:<{width}}" + "".join(f"{res['ratio'][key][c]:>11.2f}x" for c in cols))
    return 0


if __name__ == "__main__":
    sys.exit(main())
