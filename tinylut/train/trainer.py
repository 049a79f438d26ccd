"""The training loop: ``python -m tinylut.train --arch tinylut-s --task sr --scale 4 --data DIR...``
(or ``--task denoise --sigma 25``; ``--arch tinylut-f``).

* data (tinylut/train/tasks.py): sr: every image of the ``--data`` folders, each RGB channel a
  gray image, mod-cropped and degraded once (MATLAB bicubic) into an in-memory HR/LR set;
  denoise: the images as gray, Gaussian noise of ``--sigma`` added on the fly; batches of random
  patches with random rot90 and flips, drawn from a seeded numpy generator;
* loss: MSE (0..1 units; or L1, ``--loss l1``) of the integer output (sum of the four
  rotations), optionally plus an L2 penalty on the DDM scales (``--scale-l2``); Adam, cosine
  decay of the learning rate from ``--lr`` to ``--lr-min`` over ``--steps``; after every step
  the DDM scales are capped so that the baked tables fit ``--table-budget``
  (tinylut/train/budget.py; default: the architecture's);
* validation: sr: mean Y-PSNR (shave = scale) on ``--val`` (Set5); denoise: mean PSNR on
  ``--val`` (Set12) with the fixed noise of ``tinylut eval``; always of the baked model file run
  by the C engine (what ``tinylut eval`` reports), or by the torch integer forward, which is the
  same function bit for bit (tests/test_train_parity.py), when the engine is not built;
* checkpoints: ``RUN/last.pt`` holds model, optimizer, step, both random generators and the
  history, so ``--resume`` continues exactly where the run stopped; ``--bake OUT`` writes the
  model file.
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from .bake import bake
from .budget import fit_budget
from .cascade import AfterFirst, chain
from .layers import Requant
from .nets import ARCHS, build_net
from .tasks import TASKS
from ..model import from_bytes, read_model, to_bytes, write_model
from ..names import model_name


DEFAULT_STEPS = 40000
# The paper's L2 pull on the DDM scales is off by default: under Adam its steady gradient
# outweighed the LSB branch's weak one and collapsed every LSB scale to 0 (the branch then
# adds a constant), in both the x4 and the sigma-25 runs; the table budget is kept by
# fit_budget instead.
DEFAULT_SCALE_L2 = 0.0
DEFAULT_EMA = 0.999
# Free tables hold int8-sized values (an MLP's weights are ~1): Adam moves every parameter by
# about lr per step, so the tables get a larger step to move their entries at all. Pilot
# (TinyLUT-S x4 from step 59,200, lr ~1e-4, 1,000 steps, Set5 of the weight average): no
# tuning 29.957, factor 30: 29.966, 100: 29.969, 300: 29.973.
DEFAULT_TABLE_LR_FACTOR = 300.0
# A warm restart of a fine-tuned run starts its cosine here: it keeps adding 0.01-0.02 dB per
# 2,000-3,000 steps to the TinyLUT-F models (docs/tinylut-f.md).
DEFAULT_RESTART_LR = 1.1e-4
# options that keep the run's value on --resume unless given again
RESUME_DEFAULTS = {"steps": DEFAULT_STEPS, "lr": 5e-3, "lr_min": 5e-4,
                   "scale_l2": DEFAULT_SCALE_L2, "loss": "mse", "ema": DEFAULT_EMA,
                   "hr_scales": [1.0],
                   "tune_tables": False, "tune_block_dw": False,
                   "table_lr_factor": DEFAULT_TABLE_LR_FACTOR, "rotations": 4}


def default_shared() -> Path:
    env = os.environ.get("TINYLUT_SHARED")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tinylut.train", description=__doc__.split("\n")[0])
    p.add_argument("--arch", default="tinylut-s", choices=sorted({a for a, _ in ARCHS}))
    p.add_argument("--task", default="sr", choices=sorted(TASKS))
    p.add_argument("--scale", type=int, default=None, help="sr: 4 (default); denoise: 1")
    p.add_argument("--sigma", type=float, default=None,
                   help="denoise: the noise level (0..255 units) to train for")
    p.add_argument("--centred-blocks", action="store_true",
                   help="tinylut-f: the DW windows of the blocks are centred on the pixel (rows "
                        "and columns -1..1) instead of the paper's corner window (-2..0)")
    p.add_argument("--block-dilation", type=int, nargs="+", default=None, metavar="D",
                   help="with --centred-blocks: the DW dilation of each MSB block, the DW-only "
                        "ones last (1, or 2: taps at -2, 0, 2, a 5x5 reach for the same bytes; "
                        "default all 1)")
    p.add_argument("--rotations", type=int, choices=(4, 8), default=None,
                   help="orientations summed: the four rotations (default), or 8, with the "
                        "transposed image's four (the sum halved; twice the run time). On "
                        "--resume or --init of a four-rotation run, 8 converts it: the same "
                        "tables, now over all eight")
    p.add_argument("--msb-blocks", type=int, default=None,
                   help="DW+PW blocks in the MSB branch (default: the architecture's, 4 for "
                        "tinylut-f x4, 5 for its denoisers, 0 for tinylut-s)")
    p.add_argument("--msb-tail-dw", type=int, default=None,
                   help="DW-only blocks (requantisation and a per-channel DW, no PW) after the "
                        "MSB blocks (default 0): a wider window for 9 KB each")
    p.add_argument("--msb-channels", type=int, default=None,
                   help="features of the MSB branch (default 16, as the paper; the LSB branch "
                        "keeps 16)")
    p.add_argument("--table-budget", type=int, default=None,
                   help="bytes of baked tables at most, kept by capping the DDM scales "
                        "(default: the architecture's, e.g. 22000 for tinylut-s denoise; 0: none)")
    p.add_argument("--data", nargs="+", help="training image folders")
    p.add_argument("--hr-scales", type=float, nargs="+", default=None, metavar="S",
                   help="sr: use every image once per factor in (0, 1], shrunk by it with "
                        "MATLAB bicubic (default: 1, the images as they are; e.g. 1 0.8 0.6); "
                        "may change on --resume")
    p.add_argument("--tune-tables", action="store_true", default=None,
                   help="LUT fine-tuning: from now on train the tables of the first DW, PW and "
                        "UP stages directly instead of the MLPs that made them (typically on "
                        "--resume of a trained run; the optimizer's moments restart); kept on "
                        "later resumes")
    p.add_argument("--tune-block-dw", action="store_true", default=None,
                   help="with --tune-tables (implied): the per-channel DW tables of the "
                        "TinyLUT-F blocks become free too (any function of their value "
                        "instead of a product); may be added on a later resume")
    p.add_argument("--table-lr-factor", type=float, default=None,
                   help=f"learning rate of free tables, times the schedule's "
                        f"(default {DEFAULT_TABLE_LR_FACTOR:g}; may change on --resume)")
    p.add_argument("--out", required=True, help="run folder (checkpoints, log)")
    p.add_argument("--steps", type=int, default=None,
                   help="length of the cosine schedule (default 40000; on --resume: the run's "
                        "unless given, which reschedules the remaining steps)")
    p.add_argument("--stop-at", type=int, default=None,
                   help="stop at this step (default: --steps); the schedule still spans --steps")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--patch", type=int, default=32, help="LR patch size")
    p.add_argument("--lr", type=float, default=None,
                   help="peak learning rate (default 5e-3; on --resume: the run's unless given, "
                        "e.g. a lower peak for a warm restart with a longer --steps)")
    p.add_argument("--lr-min", type=float, default=None,
                   help="final learning rate (default 5e-4; on --resume: the run's unless given)")
    p.add_argument("--warm-restart", type=int, default=None, metavar="N",
                   help="on --resume: N more steps on a new cosine that starts this step at "
                        "--restart-lr and ends at --lr-min (sets --steps and --lr for you)")
    p.add_argument("--restart-lr", type=float, default=DEFAULT_RESTART_LR,
                   help=f"learning rate a --warm-restart starts at (default "
                        f"{DEFAULT_RESTART_LR:g})")
    p.add_argument("--loss", default=None, choices=("mse", "l1"),
                   help="mse (default; what PSNR scores) or l1, the mean absolute error, "
                        "whose gradient does not fade as the error shrinks (on --resume: the "
                        "run's unless given)")
    p.add_argument("--scale-l2", type=float, default=None,
                   help="weight of the L2 penalty on the DDM scales, times mean(a^2) "
                        "(default 0; on --resume: the run's value unless given)")
    p.add_argument("--revive-scales", type=float, default=None, metavar="A",
                   help="after loading (--resume or --init): set every DDM scale that maps its "
                        "whole input range to a single value (a collapsed channel, whose table "
                        "is one row and passes nothing on) to A")
    p.add_argument("--dither-tables", type=int, default=None, metavar="SEED",
                   help="after loading, with free tables: move every entry to a random "
                        "fraction within its rounding cell (the function is unchanged), so "
                        "entries at one rounding boundary no longer flip in lockstep")
    p.add_argument("--ema", type=float, default=None,
                   help="decay of an exponential moving average of the weights, validated and "
                        "saved beside them (default 0.999; 0: none; on --resume: the run's)")
    p.add_argument("--bake-weights", choices=["ema", "last"], default="ema",
                   help="which weights --bake writes (ema when the run keeps one)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--val", default=None,
                   help="validation folder: sr: a benchmark (HR, LR_bicubic/X4; default Set5); "
                        "denoise: clean gray images (default Set12)")
    p.add_argument("--val-every", type=int, default=500)
    p.add_argument("--ckpt-every", type=int, default=200)
    p.add_argument("--export", default=None,
                   help="also copy each checkpoint here (e.g. train_state/tinylut-s-x4/last.pt)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    p.add_argument("--init", default=None,
                   help="start from this checkpoint's weights only (its weight average when it "
                        "kept one); a TinyLUT-S run of the same task may start a TinyLUT-F net, "
                        "whose blocks then start as the identity")
    p.add_argument("--after", default=None, metavar="MODEL.tlut",
                   help="train a later pass of a cascade: this network refines the output of "
                        "that (frozen) model file, and the baked file holds both (denoising: "
                        "at scale 1; sr: at the HR size); --table-budget is then the whole "
                        "cascade's (required)")
    p.add_argument("--bake", default=None, help="write the model file here at the end")
    p.add_argument("--name", default=None, help="model name in the baked file")
    p.add_argument("--no-progress", action="store_true")
    return p.parse_args(argv)


def keep_freed_memory() -> None:
    """Ask glibc to keep freed blocks instead of returning them to the OS (mmap threshold
    32 MB, no trimming). Every step allocates and frees many 4-8 MB tensors; with the default
    dynamic threshold each of them is a fresh mmap and page faults cost ~40% of a step."""
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 32 << 20)       # M_MMAP_THRESHOLD
        libc.mallopt(-1, 1 << 31)        # M_TRIM_THRESHOLD
    except (OSError, AttributeError):    # not glibc: nothing to tune
        pass


def is_free_table(name: str) -> bool:
    """Whether a parameter name is a table trained as itself (``free_tables``, LUT fine-tuning)."""
    return name.endswith(".free")


@torch.no_grad()
def dither_free_tables(net, seed: int) -> int:
    """Give every free table entry a random fraction within its rounding cell (the integer it
    rounds to, plus a uniform offset in (-0.45, 0.45)) and return how many entries there are.
    The baked function is unchanged. Why: Adam moves entries whose gradients share a sign by
    the same step, so entries that sit together at a rounding boundary (e.g. the bias-like row
    of a table that every pixel reads) flip together, and the output jumps by whole grey
    levels from one step to the next; at staggered fractions they flip one at a time. (Only the
    straight-through slopes, differences of neighbouring entries, change, by less than 2.)"""
    gen = torch.Generator().manual_seed(seed)
    count = 0
    for name, p in net.named_parameters():
        if is_free_table(name):
            offset = (torch.rand(p.shape, generator=gen) - 0.5) * 0.9
            p.copy_(torch.round(p) + offset.to(p.dtype))
            count += p.numel()
    return count


@torch.no_grad()
def revive_collapsed_scales(net, value: float) -> int:
    """Set to ``value`` every DDM scale under which all of lo..hi round to one value, and
    return how many. Such a channel passes a constant on: its gradient only reaches the
    scale through the straight-through estimate, and an L2 pull on the scales can keep a
    whole branch collapsed."""
    count = 0
    for m in net.modules():
        if isinstance(m, Requant):
            reach = max(abs(m.lo), abs(m.hi))
            dead = torch.round(m.scale.abs() * reach) == 0
            m.scale[dead] = value
            count += int(dead.sum())
    return count


def warm_restart(args, step: int) -> None:
    """Set args.steps and args.lr so that the cosine runs args.warm_restart more steps from
    `step`, starting at args.restart_lr there and ending at args.lr_min."""
    if args.warm_restart < 1:
        raise SystemExit(f"--warm-restart: expected a number of steps >= 1, got {args.warm_restart}")
    if not (math.isfinite(args.restart_lr) and args.restart_lr > args.lr_min):
        raise SystemExit(f"--restart-lr {args.restart_lr:g} must be above --lr-min "
                         f"{args.lr_min:g}")
    args.steps = step + args.warm_restart
    c = 0.5 * (1 + math.cos(math.pi * step / args.steps))   # > 0: step < steps
    args.lr = args.lr_min + (args.restart_lr - args.lr_min) / c


def lr_at(step: int, args) -> float:
    t = min(step, args.steps) / max(1, args.steps)
    return args.lr_min + 0.5 * (args.lr - args.lr_min) * (1 + math.cos(math.pi * t))


class Log:
    def __init__(self, path: Path):
        self.f = open(path, "a", buffering=1)

    def __call__(self, msg: str, echo: bool = True) -> None:
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())}Z {msg}"
        self.f.write(line + "\n")
        if echo:
            print(line, file=sys.stderr, flush=True)


def save_checkpoint(path: Path, net, opt, step, rng, history, wall, args, ema=None,
                    first: bytes | None = None) -> None:
    state = {"model": net.state_dict(), "opt": opt.state_dict(), "step": step,
             # the frozen model of a cascade pass, as file bytes: the file it came from may change
             "first": first,
             "ema": None if ema is None else ema.state_dict(),
             "np_rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
             "history": history, "wall": wall,
             "args": {k: v for k, v in vars(args).items()
                      if k not in ("resume", "bake", "export", "no_progress", "threads",
                                    "warm_restart", "restart_lr")}}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=False)


def net_from_args(saved: dict):
    """The network a run's args describe, its tables freed when the run tunes them. A later
    pass of a cascade (``after``) is a scale-1 network, a denoiser's shape, whatever the task."""
    task, scale = saved.get("task", "sr"), saved.get("scale")
    if saved.get("after"):
        task, scale = "denoise", 1
    net = build_net(saved["arch"], task, scale,
                    centred_blocks=bool(saved.get("centred_blocks")),
                    msb_channels=saved.get("msb_channels"),
                    msb_blocks=saved.get("msb_blocks"),
                    msb_tail_dw=saved.get("msb_tail_dw") or 0,
                    block_dilation=saved.get("block_dilation"),
                    rotations=saved.get("rotations") or 4)
    if saved.get("tune_tables"):
        net.free_tables(block_dw=bool(saved.get("tune_block_dw")))
    return net


def load_init(net, init: dict, path) -> int:
    """Start ``net`` from another run's weights, its weight average when it kept one.

    The run may be of a smaller architecture of the same task (TinyLUT-S into TinyLUT-F): the
    F blocks it lacks keep their identity start (``nets.Block``), so the grown net computes
    the smaller one's function exactly and training only has to add what the blocks bring.
    Returns the number of tensors left at their start."""
    weights = init.get("ema") or init["model"]
    own = bool(init.get("args", {}).get("centred_blocks"))
    if any(".blocks." in k for k in weights) and own != net.centred_blocks:
        raise SystemExit(f"--init {path}: its blocks have {'centred' if own else 'corner'} "
                         f"windows, this network {'centred' if net.centred_blocks else 'corner'} "
                         f"ones (--centred-blocks)")
    try:
        missing, unexpected = net.load_state_dict(weights, strict=False)
    except RuntimeError as e:      # shapes differ: another task, scale or width
        raise SystemExit(f"--init {path}: its weights do not fit this network: {e}") from None
    foreign = list(unexpected) + [k for k in missing if ".blocks." not in k]
    if foreign:
        raise SystemExit(f"--init {path}: its weights do not fit this network "
                         f"(e.g. {', '.join(foreign[:3])})")
    return len(missing)


def tables_meta(saved: dict) -> dict:
    """The baked file's note on how its tables were trained (empty unless fine-tuned)."""
    if not saved.get("tune_tables"):
        return {}
    blocks = ", the blocks' DW too" if saved.get("tune_block_dw") else ""
    return {"tables": f"fine-tuned as free tables{blocks} (lr x {saved['table_lr_factor']:g})"}


def make_optimizer(net, lr: float) -> torch.optim.Adam:
    """Adam with two groups when the tables are free: the rest, then the tables (their own
    learning-rate factor)."""
    named = list(net.named_parameters())
    groups = [{"params": [p for n, p in named if not is_free_table(n)]}]
    tables = [p for n, p in named if is_free_table(n)]
    return torch.optim.Adam(groups + ([{"params": tables}] if tables else []), lr=lr)


def validate(net, items, task, threads: int = 1, first=None) -> tuple[float, int, str]:
    """The task's score of the baked model: (psnr, table bytes, engine used).

    The network is baked and the file's tables run through the C engine (``tinylut.Model``),
    exactly what ``tinylut eval`` runs; without a built engine, the torch integer forward, which
    is the same function bit for bit (tests/test_train_parity.py). ``first``: the frozen
    model this network refines (``--after``): the cascade of both is scored."""
    net.eval()
    spec = bake(net) if first is None else chain(first, bake(net))
    try:
        from .. import Model
        model = Model(spec)
        run, engine = (lambda img: model(img, threads=threads)), "C engine"
    except Exception:  # noqa: BLE001 - no built core: fall back to the torch forward
        if first is not None:   # (a cascade's frozen part exists only as tables)
            raise
        run, engine = net.restore, "torch integer forward"
    with torch.no_grad():
        return task.score(run, items), spec.table_bytes, engine


def train(args) -> None:
    torch.set_num_threads(args.threads)
    keep_freed_memory()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log = Log(out / "train.log")
    ckpt_path = out / "last.pt"

    state = None
    if args.resume:
        if not ckpt_path.exists():
            raise SystemExit(f"--resume: no checkpoint at {ckpt_path}")
        state = load_checkpoint(ckpt_path)
        saved = state["args"]
        # the run's identity comes from the checkpoint; the schedule, the loss, the L2 pull, the
        # weight average and the image scales may change on resume (see RESUME_DEFAULTS)
        # (and where its weights started: "init" is only recorded then, never loaded again)
        for k in ("arch", "task", "scale", "sigma", "centred_blocks", "block_dilation",
                  "msb_channels", "msb_blocks", "msb_tail_dw", "table_budget", "data", "batch",
                  "patch", "seed", "init", "after"):
            if k in saved:
                setattr(args, k, saved[k])
    if args.warm_restart is not None:
        if state is None:
            raise SystemExit("--warm-restart continues a run: it needs --resume")
        if args.steps is not None or args.lr is not None:
            raise SystemExit("--warm-restart sets --steps and --lr itself: give neither")
    for k, default in RESUME_DEFAULTS.items():   # given > the run's > the default
        if getattr(args, k) is None and state is not None:
            setattr(args, k, state["args"].get(k))
        if getattr(args, k) is None:
            setattr(args, k, default)
    if args.warm_restart is not None:
        warm_restart(args, state["step"])
    if not args.data:
        raise SystemExit("--data is required")
    if not all(0 < s <= 1 for s in args.hr_scales):
        raise SystemExit(f"--hr-scales: every factor must be in (0, 1], got {args.hr_scales}")
    if args.scale is None:
        args.scale = 1 if args.task == "denoise" else 4
    if args.task == "denoise" and args.sigma is None:
        raise SystemExit("--task denoise needs --sigma")
    task = TASKS[args.task](args)
    first = None
    if state is not None and state.get("first") is not None:
        first = from_bytes(state["first"])
    elif state is None and args.after:
        first = read_model(args.after)
    first_bytes = None if first is None else to_bytes(first)   # once, for every checkpoint
    if first is not None:
        task = AfterFirst(task, first)
        if not args.table_budget:
            raise SystemExit("--after needs --table-budget, the whole cascade's bytes")
        if args.table_budget <= first.table_bytes:
            raise SystemExit(f"--table-budget {args.table_budget}: the frozen model alone has "
                             f"{first.table_bytes} B of tables")

    torch.manual_seed(args.seed)
    init = load_checkpoint(args.init) if state is None and args.init else None
    saved = (state or init or {}).get("args", {})
    # the network the weights were saved from (free tables or MLPs)
    try:
        net = net_from_args({**vars(args), "tune_tables": saved.get("tune_tables"),
                             "tune_block_dw": saved.get("tune_block_dw")})
    except ValueError as e:      # a shape the model file cannot hold (e.g. too many blocks)
        raise SystemExit(f"the network: {e}") from None
    if args.table_budget is None:
        args.table_budget = net.table_budget
    budget = args.table_budget or None
    if first is not None:    # the budget is the cascade's: this pass gets what is left
        budget -= first.table_bytes
    opt = make_optimizer(net, args.lr)
    rng = np.random.default_rng(args.seed)
    step, history, wall = 0, [], 0.0
    if state is not None:
        net.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        rng.bit_generator.state = state["np_rng"]
        torch.set_rng_state(state["torch_rng"])
        step, history, wall = state["step"], state["history"], state["wall"]
        log(f"resumed from {ckpt_path} at step {step} ({wall / 3600:.2f} h trained)")
        had = saved.get("rotations") or 4     # runs from before --rotations had four
        if args.rotations != had:
            log(f"now over {args.rotations} orientations (the run had {had})")
        if args.warm_restart is not None:
            log(f"warm restart: cosine {args.lr:.4g} -> {args.lr_min:g} over {args.steps} steps, "
                f"{lr_at(step, args):.3g} now")
    elif init is not None:
        fresh = load_init(net, init, args.init)
        log(f"weights initialised from {args.init}"
            + (f" ({fresh} block tensors start as the identity)" if fresh else ""))
    if state is None:
        fit_budget(net, budget)
    ema = None
    if args.ema:
        ema = copy.deepcopy(net)
        if state is not None and state.get("ema") is not None:
            ema.load_state_dict(state["ema"])
        elif state is not None:
            log(f"the checkpoint has no weight average: it starts from the step-{step} weights")
        ema.requires_grad_(False)
    if args.revive_scales is not None:   # the weight average too, or it bakes the collapse
        for m in (net, ema):
            if m is not None:
                revived = revive_collapsed_scales(m, args.revive_scales)
                fit_budget(m, budget)
                if m is net:
                    log(f"{revived} collapsed DDM scales set to {args.revive_scales}")
    args.tune_tables = args.tune_tables or args.tune_block_dw
    more_dw = args.tune_block_dw and not net.block_dw_free and \
        any(br.blocks for br in net.branches)
    if (args.tune_tables and not net.tables_free) or more_dw:
        for m in (net, ema):
            if m is not None:
                m.free_tables(block_dw=args.tune_block_dw)
        opt = make_optimizer(net, args.lr)
        which = ", the blocks' DW too" if more_dw else ""
        log(f"tables freed (LUT fine-tuning{which}): the optimizer's moments restart")
    args.tune_tables, args.tune_block_dw = net.tables_free, net.block_dw_free
    if args.dither_tables is not None:
        if not net.tables_free:
            raise SystemExit("--dither-tables needs free tables (--tune-tables)")
        log(f"{dither_free_tables(net, args.dither_tables)} free table entries dithered "
            f"within their rounding cells (seed {args.dither_tables})")
    params, ema_params = list(net.parameters()), \
        (list(ema.parameters()) if ema is not None else [])
    log("args " + json.dumps(vars(args)))

    val_dir = Path(args.val) if args.val else default_shared().joinpath("data", *task.default_val)
    val_items = task.load_val(val_dir) if val_dir.exists() else []
    if not val_items:
        log(f"no validation set at {val_dir}: validation disabled")

    stop = args.steps if args.stop_at is None else min(args.stop_at, args.steps)
    if step < stop:
        t0 = time.time()
        train_set = task.load_train()
        log(f"{len(train_set)} training images (channels) from {args.data}, "
            f"prepared in {time.time() - t0:.1f} s")

    from tqdm import tqdm
    bar = tqdm(total=stop, initial=step, disable=args.no_progress, dynamic_ncols=True,
               mininterval=5)
    psnr = history[-1][1] if history else float("nan")
    psnr_ema = history[-1][4] if history and len(history[-1]) > 4 else float("nan")
    loss_ema = None
    t_last = time.time()
    while step < stop:
        lr_np, hr_np = task.batch(train_set, rng)
        x = torch.from_numpy(lr_np.astype(np.int64) - 128)
        target = torch.from_numpy(hr_np.astype(np.float32) - 128)
        for g, factor in zip(opt.param_groups, (1.0, args.table_lr_factor)):
            g["lr"] = lr_at(step, args) * factor
        net.train()
        y = net(x)
        err = (y - target) / 255.0
        mse = torch.mean(err ** 2)
        fit = mse if args.loss == "mse" else torch.mean(torch.abs(err))
        scales = torch.cat(net.ddm_scales())
        loss = fit + args.scale_l2 * torch.mean(scales ** 2)
        opt.zero_grad(set_to_none=True)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss is {loss.item()} at step {step}: stopping "
                                     f"(the last checkpoint is intact)")
        loss.backward()
        opt.step()
        fit_budget(net, budget)
        if ema is not None:
            with torch.no_grad():
                torch._foreach_lerp_(ema_params, params, 1.0 - args.ema)
            fit_budget(ema, budget)
        step += 1
        now = time.time()
        wall += now - t_last
        t_last = now
        m = mse.item()
        loss_ema = m if loss_ema is None else 0.98 * loss_ema + 0.02 * m
        bar.update(1)
        bar.set_postfix_str(f"loss {loss_ema:.3e} ({-10 * math.log10(loss_ema):.2f} dB) "
                            f"val {psnr:.3f} ema {psnr_ema:.3f}", refresh=False)
        if step % 50 == 0:
            log(f"step {step} lr {lr_at(step, args):.2e} mse {loss_ema:.4e} "
                f"scales {scales.min().item():.3f}..{scales.max().item():.3f} "
                f"wall {wall:.0f}s", echo=False)
        if val_items and (step % args.val_every == 0 or step == stop):
            tv = time.time()
            psnr, kb, engine = validate(net, val_items, task, args.threads, first)
            entry = (step, psnr, kb, wall)
            msg = f"step {step} val {val_dir.name} {task.metric} {psnr:.3f} dB, tables {kb} B"
            if ema is not None:
                psnr_ema, kb_ema, _ = validate(ema, val_items, task, args.threads, first)
                entry += (psnr_ema, kb_ema)
                msg += f"; weight average {psnr_ema:.3f} dB, tables {kb_ema} B"
            history.append(entry)
            log(f"{msg} ({engine}, {time.time() - tv:.1f} s)")
            t_last = time.time()
        if step % args.ckpt_every == 0 or step == stop:
            save_checkpoint(ckpt_path, net, opt, step, rng, history, wall, args, ema,
                            first_bytes)
            if args.export:
                save_checkpoint(Path(args.export), net, opt, step, rng, history, wall, args, ema,
                                first_bytes)
            t_last = time.time()
    bar.close()

    if args.bake:
        name = args.name or model_name(args.arch, args.task, scale=args.scale, sigma=args.sigma)
        meta = {"trained_steps": step, "train_hours": round(wall / 3600, 3),
                "data": [Path(d).name for d in args.data],
                "schedule": f"adam cosine {args.lr}->{args.lr_min} over {args.steps} steps",
                "batch": f"{args.batch}x{args.patch}x{args.patch} "
                         f"{'LR' if args.task == 'sr' else 'noisy'}", "seed": args.seed}
        use_ema = ema is not None and args.bake_weights == "ema"
        meta["weights"] = f"moving average (decay {args.ema})" if use_ema else "last step"
        meta.update(tables_meta(vars(args)))
        if args.task == "denoise":
            meta["sigma"] = int(args.sigma) if float(args.sigma).is_integer() else args.sigma
        if budget:
            meta["table_budget"] = args.table_budget
        if history and history[-1][0] == step:
            key = "val_psnr_y" if args.task == "sr" else "val_psnr"
            meta[key] = round(history[-1][4 if use_ema else 1], 3)
        spec = bake(ema if use_ema else net, name=name, meta=meta)
        if first is not None:
            spec = chain(first, spec, name=args.name)
        write_model(spec, args.bake)
        log(f"baked {args.bake}: {spec.table_bytes} B of tables, step {step}")


def main(argv=None) -> None:
    train(parse_args(argv))
