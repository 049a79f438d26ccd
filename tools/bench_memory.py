#!/usr/bin/env python3
"""Peak memory of one restore, beyond the input and the model: the output plus scratch.

    python tools/bench_memory.py --model M [--size 2000] [--channels 1] [--threads N]

Measured as the growth of the process's peak resident set (ru_maxrss) across the restore,
in a fresh process, after the input, the model and a small warm-up restore are resident."""
import argparse
import json
import resource
import sys

import numpy as np

import tinylut


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None, help="model file or shipped name (default: SR default)")
    p.add_argument("--size", type=int, default=2000, help="input side in pixels")
    p.add_argument("--channels", type=int, default=1, choices=(1, 3))
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)

    model = tinylut.load_model(args.model or tinylut.DEFAULT_MODELS["sr"])
    shape = (args.size, args.size) + ((3,) if args.channels == 3 else ())
    image = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    model(image[:16, :16], threads=args.threads)       # warm up: code, thread pool, model
    before = peak_rss_bytes()
    out = model(image, threads=args.threads)
    growth = peak_rss_bytes() - before
    extra = growth - out.nbytes
    result = {"input": list(image.shape), "output": list(out.shape), "output_bytes": out.nbytes,
              "peak_growth_bytes": growth, "extra_bytes": extra,
              "extra_over_output": extra / out.nbytes, "isa": tinylut.info()["isa"],
              "threads": args.threads}
    if args.json:
        print(json.dumps(result))
    else:
        mb = 1 << 20
        print(f"{image.shape} -> {out.shape}: output {out.nbytes / mb:.1f} MiB, peak grew "
              f"{growth / mb:.1f} MiB, extra beyond the output {extra / mb:.1f} MiB "
              f"({extra / out.nbytes:.3f}x the output)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
