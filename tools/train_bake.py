#!/usr/bin/env python3
"""Bake a training checkpoint into a tinylut model file and score the file.

    python tools/train_bake.py train_state/tinylut-s-x4/last.pt tinylut/models/tinylut-s-x4.tlut
    python tools/train_bake.py train_state/tinylut-s-dn25/last.pt tinylut/models/tinylut-s-dn25.tlut --name tinylut-s-dn25

Scores are measured on the baked file through the C engine (``tinylut.Model``) when it is
built, else the numpy reference, and are written into the file's meta together with the
training state they come from: SR: Y-PSNR (shave = scale, HR mod-cropped, the benchmark LR
files) on Set5, Set14, B100; denoising: PSNR on Set12 and BSD68 with the fixed noise of
``tinylut eval --task denoise`` at the run's sigma."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from tinylut.model import from_bytes, read_model, to_bytes, write_model, replace  # noqa: E402
from tinylut.names import ARCHS, model_name  # noqa: E402
from tinylut.train.bake import bake  # noqa: E402
from tinylut.train.cascade import chain  # noqa: E402
from tinylut.train.data import load_denoise_set, load_sr_set  # noqa: E402
from tinylut.train.evaluate import eval_denoise, eval_sr  # noqa: E402
from tinylut.train.trainer import (default_shared, load_checkpoint, net_from_args,  # noqa: E402
                                   tables_meta)


def runner(spec):
    try:
        from tinylut import Model
        model = Model(spec)
        return (lambda img: model(img)), "C engine"
    except Exception as e:  # no built core: the numpy reference
        from tinylut import reference
        print(f"C engine unavailable ({e}); using the numpy reference", file=sys.stderr)
        return (lambda img: reference.restore(spec, img)), "numpy reference"


def weights_of(start: str) -> str:
    """The meta's 'init' for a run that started from ``start`` (a path, or a re-bake's earlier
    'init', which already says "weights of": not said twice)."""
    while start.startswith("weights of "):
        start = start[len("weights of "):]
    return f"weights of {start}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("checkpoint")
    ap.add_argument("out")
    ap.add_argument("--sets", nargs="*", default=None,
                    help="default: Set5 Set14 B100 (sr), Set12 BSD68 (denoise)")
    ap.add_argument("--name", default=None, help="model name (default: from the run)")
    ap.add_argument("--arch", default=None,
                    help="a cascade's architecture name (default: FIRST+LATER, e.g. "
                         "tinylut-s+tinylut-f; a --name that starts with a variant, e.g. "
                         "tinylut-f-dn50, takes that variant)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--note", default=None,
                    help="how the run got here, kept in the file's meta as 'history' (the "
                         "checkpoint only knows its last schedule, e.g. not earlier resumes)")
    ap.add_argument("--init", default=None,
                    help="where the run's weights started, for a checkpoint that does not say "
                         "(runs resumed before the trainer kept 'init' on resume)")
    ap.add_argument("--weights", choices=["ema", "last"], default="ema",
                    help="the weight average (when the checkpoint has one) or the last step's")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)

    state = load_checkpoint(a.checkpoint)
    args = state["args"]
    task = args.get("task", "sr")
    net = net_from_args(args)
    use_ema = a.weights == "ema" and state.get("ema") is not None
    start = a.init or args.get("init")
    net.load_state_dict(state["ema"] if use_ema else state["model"])
    meta = {"trained_steps": state["step"], "train_hours": round(state["wall"] / 3600, 3),
            "schedule": f"adam cosine {args['lr']}->{args['lr_min']} over {args['steps']} steps"
                        f" (interim: stopped at step {state['step']})"
                        if state["step"] < args["steps"] else
                        f"adam cosine {args['lr']}->{args['lr_min']} over {args['steps']} steps",
            "data": [Path(d).name for d in args["data"]],
            "batch": f"{args['batch']} x {args['patch']}x{args['patch']} "
                     f"{'LR' if task == 'sr' else 'noisy'} patches",
            "seed": args["seed"], "scale_l2": args.get("scale_l2"),
            "init": weights_of(start) if start else
                    "from scratch (kaiming MLPs, unit DW taps, scales 0.8; F blocks: identity)",
            "weights": f"moving average (decay {args.get('ema')})" if use_ema else "last step"}
    meta.update(tables_meta(args))
    if a.note:
        meta["history"] = a.note
    if task == "denoise":
        sigma = float(args["sigma"])
        meta["sigma"] = int(sigma) if sigma.is_integer() else sigma
    if args.get("table_budget"):
        meta["table_budget"] = args["table_budget"]
    name = a.name or model_name(args["arch"], task, scale=args["scale"], sigma=args.get("sigma"))
    spec = bake(net, name=name, meta=meta)
    if state.get("first") is not None:      # a later pass: the file holds the whole cascade
        # a shipped name (tinylut-f-dn50) says its variant; the shipped-model checks key on it
        arch = a.arch or next((v for v in ARCHS if a.name and a.name.startswith(v + "-")), None)
        spec = chain(from_bytes(state["first"]), spec, name=a.name, arch=arch)
        meta = spec.meta
    run, engine = runner(spec)
    scores = {}
    sets = a.sets if a.sets is not None else (["Set5", "Set14", "B100"] if task == "sr"
                                              else ["Set12", "BSD68"])
    for s in sets:
        folder = default_shared() / "data" / ("sr" if task == "sr" else "denoise") / s
        if not folder.exists():
            print(f"{folder} missing: {s} not scored", file=sys.stderr)
            continue
        t = time.time()
        if task == "sr":
            scores[s] = round(eval_sr(run, load_sr_set(folder, args["scale"]), args["scale"]), 3)
        else:
            scores[s] = round(eval_denoise(run, load_denoise_set(folder, sigma)), 3)
        print(f"{s}: {'Y-' if task == 'sr' else ''}PSNR {scores[s]:.3f} dB "
              f"({engine}, {time.time() - t:.1f} s)")
    key = "psnr_y" if task == "sr" else "psnr"
    spec = replace(spec, meta={**meta, key: scores, "scored_with": engine})
    write_model(spec, a.out)
    back = read_model(a.out)
    assert to_bytes(back) == to_bytes(spec)
    print(f"wrote {a.out}: {spec.table_bytes} B of tables, step {state['step']}, "
          f"{state['wall'] / 3600:.2f} h of training")


if __name__ == "__main__":
    main()
