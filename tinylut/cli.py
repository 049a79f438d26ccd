"""The ``tinylut`` command line: ``tinylut restore | eval | info``.

Also ``python -m tinylut``. Errors that come from the user's input (missing file, unreadable
image, bad model file, wrong sizes) print one line ``tinylut: error: ...`` on stderr and exit
with status 2; set ``TINYLUT_DEBUG=1`` to get the traceback instead.

Tasks: every command that runs a model goes through the ``TASKS`` table below (how ``eval``
finds its image pairs and scores an output): ``sr`` (x4 super-resolution, the SR papers'
protocol) and ``denoise`` (gray Gaussian denoising: ``--sigma``; the noise of ``eval`` is
``tinylut.noise.eval_noisy``, fixed per image name).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

import tinylut

from . import metrics
from .imageio import ImageError, is_image_file, read_image, write_image
from .model import ModelFormatError
from .names import ARCHS
from .noise import SIGMAS, eval_noisy

PROG = "tinylut"


class CLIError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


# ----------------------------------------------------------------------------- model access

def load_model(name_or_path: str):
    """A tinylut Model from a shipped model name or a .tlut path."""
    return tinylut.load_model(name_or_path)


def pick_model(args: argparse.Namespace, check_sigma: bool = True):
    """The model of ``--model`` (a path, a shipped name, an architecture, or None: the shipped
    tinylut-s) for ``--task`` and ``--sigma`` (tinylut.resolve_model). ``check_sigma`` False:
    a model given by path or name is not checked against --sigma (eval may test a denoiser at
    another noise level than its own)."""
    by_arch = args.model is None or args.model in ARCHS
    sigma = args.sigma if check_sigma or by_arch else None
    return tinylut.resolve_model(args.model, args.task, sigma)


def run_model(model, image: np.ndarray, args: argparse.Namespace) -> np.ndarray:
    """Restore one image with the options of the command line (threads, ensemble)."""
    return tinylut.restore(image, model, threads=args.threads, ensemble=args.ensemble)


# ----------------------------------------------------------------------------- tasks

@dataclass
class EvalItem:
    name: str          # shown in the table and the JSON
    input: str         # path of the model's input image
    target: str        # path of the ground truth


@dataclass
class Task:
    name: str
    describe: str
    find_items: Callable[[str, Any, argparse.Namespace], list[EvalItem]]
    load_input: Callable[[EvalItem, argparse.Namespace], np.ndarray]
    score: Callable[[np.ndarray, np.ndarray, Any], dict[str, float]]
    columns: tuple[tuple[str, str], ...]   # (metric key, format) in table order


def _list_images(folder: str) -> list[str]:
    return sorted(f for f in os.listdir(folder)
                  if is_image_file(f) and os.path.isfile(os.path.join(folder, f)))


def _sr_items(data: str, model, args: argparse.Namespace) -> list[EvalItem]:
    """``DATA/HR/NAME.png`` with ``DATA/LR_bicubic/X<scale>/NAME.png`` (or ``NAMEx<scale>.png``,
    the original EDSR naming)."""
    scale = model.scale
    hr_dir = os.path.join(data, "HR")
    lr_dir = os.path.join(data, "LR_bicubic", f"X{scale}")
    for d in (hr_dir, lr_dir):
        if not os.path.isdir(d):
            raise CLIError(f"{data}: expected folders HR/ and LR_bicubic/X{scale}/, "
                           f"{d} is missing")
    items = []
    for f in _list_images(hr_dir):
        stem, ext = os.path.splitext(f)
        for cand in (f, f"{stem}x{scale}{ext}"):
            lr = os.path.join(lr_dir, cand)
            if os.path.isfile(lr):
                break
        else:
            raise CLIError(f"{os.path.join(hr_dir, f)}: no low-resolution image {f} "
                           f"in {lr_dir}")
        items.append(EvalItem(stem, lr, os.path.join(hr_dir, f)))
    if not items:
        raise CLIError(f"{hr_dir}: no images")
    return items


def _sr_score(out: np.ndarray, target: np.ndarray, model) -> dict[str, float]:
    # Only colour channels count: an alpha channel is dropped from both sides.
    out = out[..., :3] if out.ndim == 3 and out.shape[2] == 4 else out
    target = target[..., :3] if target.ndim == 3 and target.shape[2] == 4 else target
    p, s = metrics.sr_metrics(out, target, model.scale)
    return {"psnr": p, "ssim": s}


def _dn_items(data: str, model, args: argparse.Namespace) -> list[EvalItem]:
    """Every image of DATA is a clean image; the input is its noisy version."""
    names = _list_images(data)
    if not names:
        raise CLIError(f"{data}: no images")
    return [EvalItem(os.path.splitext(f)[0], os.path.join(data, f), os.path.join(data, f))
            for f in names]


def _dn_input(item: EvalItem, args: argparse.Namespace) -> np.ndarray:
    """The clean image with the fixed noise of its name at --sigma (tinylut.noise)."""
    clean = read_image(item.target)
    if clean.ndim == 3 and clean.shape[2] != 3:
        raise CLIError(f"{item.target}: denoising is scored on gray or RGB images, this one has "
                       f"{clean.shape[2]} channels")
    return eval_noisy(clean, args.sigma, item.name)


def _dn_score(out: np.ndarray, target: np.ndarray, model) -> dict[str, float]:
    """PSNR over the whole image (every channel); SSIM (11x11 Gaussian, 'valid') on each
    channel, averaged."""
    chans = [target] if target.ndim == 2 else [target[..., c] for c in range(target.shape[2])]
    outs = [out] if out.ndim == 2 else [out[..., c] for c in range(out.shape[2])]
    return {"psnr": metrics.psnr(out, target),
            "ssim": float(np.mean([metrics.ssim(o, t) for o, t in zip(outs, chans)]))}


TASKS: dict[str, Task] = {
    "sr": Task("sr", "x{scale} super-resolution", _sr_items,
               lambda item, args: read_image(item.input), _sr_score,
               (("psnr", "{:8.3f}"), ("ssim", "{:8.4f}"))),
    "denoise": Task("denoise", "denoising at sigma {sigma:g}", _dn_items, _dn_input, _dn_score,
                    (("psnr", "{:8.3f}"), ("ssim", "{:8.4f}"))),
}


def _sigma(s: str) -> float:
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a noise level, got {s!r}") from None
    if not 0 < v <= 255 or not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"sigma must be in (0, 255], got {s}")
    return v


def _add_task_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--task", choices=sorted(TASKS), default=None,
                   help="what to do (default: the model's task)")
    p.add_argument("--sigma", type=_sigma, default=None, metavar="S",
                   help="denoise: the noise level on 0..255; picks the shipped denoiser "
                        f"(levels {', '.join(map(str, SIGMAS))}) when --model is tinylut-s, "
                        "tinylut-f or left out")


def _add_ensemble_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ensemble", action="store_true",
                   help="also run the transposed image and average the two (all eight "
                        "orientations): a few hundredths of a dB more, twice the time")


def _resolve_task(args: argparse.Namespace, model) -> Task:
    task = args.task or model.task
    if model.task != task:
        raise CLIError(f"model {model.name!r} is a {model.task!r} model, not {task!r}")
    args.task = task
    if task == "denoise" and args.sigma is None:
        if model.sigma is None:
            raise CLIError(f"model {model.name!r} does not say which noise level it is for: "
                           "give --sigma")
        args.sigma = model.sigma
    return TASKS[task]


# ----------------------------------------------------------------------------- progress

def _progress(items, desc: str, total: int | None = None):
    """A tqdm bar on stderr (shown only on a terminal); a plain iterator without tqdm."""
    try:
        from tqdm import tqdm
    except ImportError:
        return items
    return tqdm(items, desc=desc, total=total, unit="img", file=sys.stderr, disable=None,
                leave=False, dynamic_ncols=True)


# ----------------------------------------------------------------------------- restore

def _restore_one(model, src: str, dst: str, args: argparse.Namespace) -> None:
    img = read_image(src, upright=True)   # the output has no orientation tag to carry
    try:
        out = run_model(model, img, args)
    except ValueError as e:
        raise CLIError(f"{src}: {e}") from None
    write_image(dst, out)


def cmd_restore(args: argparse.Namespace) -> int:
    src, dst = args.input, args.output
    if not os.path.exists(src):
        raise CLIError(f"{src}: no such file or folder")
    model = pick_model(args)
    _resolve_task(args, model)

    if os.path.isdir(src):
        if os.path.exists(dst) and not os.path.isdir(dst):
            raise CLIError(f"{dst}: input is a folder, so the output must be a folder too")
        names = _list_images(src)
        if not names:
            raise CLIError(f"{src}: no images in this folder")
        os.makedirs(dst, exist_ok=True)
        if os.path.samefile(src, dst):
            raise CLIError(f"{dst}: output folder is the input folder; refusing to overwrite")
        failed = 0
        for name in _progress(names, "restore"):
            try:
                _restore_one(model, os.path.join(src, name), os.path.join(dst, name), args)
            except (CLIError, ImageError, OSError, ValueError) as e:
                if not args.keep_going:
                    raise
                failed += 1   # one line now, the count at the end, exit status 1
                print(f"{PROG}: skipped: {_error_line(e)}", file=sys.stderr)
        if not args.quiet:
            print(f"restored {len(names) - failed} images into {dst}"
                  + (f"; {failed} failed" if failed else ""), file=sys.stderr)
        return 1 if failed else 0

    if os.path.isdir(dst) or dst.endswith(("/", os.sep)):
        os.makedirs(dst, exist_ok=True)
        dst = os.path.join(dst, os.path.basename(src))
    parent = os.path.dirname(os.path.abspath(dst))
    if not os.path.isdir(parent):
        raise CLIError(f"{dst}: folder {parent} does not exist")
    if os.path.exists(dst) and os.path.samefile(src, dst):
        raise CLIError(f"{dst}: output is the input file; refusing to overwrite")
    _restore_one(model, src, dst, args)
    return 0


# ----------------------------------------------------------------------------- eval

def _json_float(x: float) -> float | None:
    return x if math.isfinite(x) else None   # PSNR of identical images is inf: JSON null


def evaluate(model, data: str, args: argparse.Namespace) -> dict[str, Any]:
    """Score ``model`` on the data set folder ``data``; returns the JSON-ready result."""
    task = _resolve_task(args, model)
    items = task.find_items(data, model, args)
    rows = []
    for item in _progress(items, "eval"):
        inp = task.load_input(item, args)
        target = read_image(item.target)
        try:
            out = run_model(model, inp, args)
            scores = task.score(out, target, model)
        except ValueError as e:
            raise CLIError(f"{item.input}: {e}") from None
        rows.append({"name": item.name, **scores})
    keys = [k for k, _ in task.columns]
    result: dict[str, Any] = {k: float(np.mean([r[k] for r in rows])) for k in keys}
    result.update({"n": len(rows), "images": rows, "model": model.name, "task": task.name,
                   "scale": model.scale, "data": os.path.abspath(data)})
    if task.name == "denoise":
        result["sigma"] = args.sigma
    result["ensemble"] = args.ensemble
    return result


def cmd_eval(args: argparse.Namespace) -> int:
    if not os.path.isdir(args.data):
        raise CLIError(f"{args.data}: no such folder")
    model = pick_model(args, check_sigma=False)
    result = evaluate(model, args.data, args)
    task = TASKS[result["task"]]
    if args.json:
        def clean(v):
            if isinstance(v, float):
                return _json_float(v)
            if isinstance(v, dict):
                return {k: clean(x) for k, x in v.items()}
            if isinstance(v, list):
                return [clean(x) for x in v]
            return v
        print(json.dumps(clean(result), allow_nan=False))
        return 0
    width = max(8, *(len(r["name"]) for r in result["images"]))
    head = f"{'image':<{width}}" + "".join(f"{k.upper():>9}" for k, _ in task.columns)
    desc = task.describe.format(scale=model.scale, sigma=args.sigma or 0)
    how = ", self-ensemble" if args.ensemble else ""
    print(f"{model.name} ({model.arch}, {desc}{how}) on {args.data}: {result['n']} images")
    print(head)
    print("-" * len(head))
    for r in result["images"]:
        print(f"{r['name']:<{width}}" + "".join(" " + fmt.format(r[k]) for k, fmt in task.columns))
    print("-" * len(head))
    print(f"{'mean':<{width}}" + "".join(" " + fmt.format(result[k]) for k, fmt in task.columns))
    return 0


# ----------------------------------------------------------------------------- info

def cmd_info(args: argparse.Namespace) -> int:
    if args.model is None:
        info = dict(tinylut.info())
        if args.json:
            print(json.dumps(info, default=str))
            return 0
        width = max(len(k) for k in info) if info else 0
        for k, v in info.items():
            if isinstance(v, (list, tuple)):
                v = ", ".join(map(str, v)) or "none"
            print(f"{k:<{width}}  {v}")
        return 0
    model = load_model(args.model)
    info = model.info()
    if args.json:
        print(json.dumps(info, default=str))
        return 0
    for k in ("name", "arch", "task", "scale", "sigma", "rotations", "passes", "source"):
        if k in info:
            print(f"{k:<12}{info[k]}")
    # the pass column only for a cascade: a one-network model's table stays as it was
    cols = (("pass",) if info["passes"] > 1 else ()) + \
        ("branch", "stage", "kind", "window", "cin", "cout", "rows", "bytes")
    table = [[str(st[c]) for c in cols] for st in info["stages"]]
    widths = [max(len(c), *(len(r[i]) for r in table)) for i, c in enumerate(cols)]
    left = ("branch", "kind", "window")   # text columns left, numbers right

    def fmt(values):
        return "  ".join(f"{v:<{w}}" if c in left else f"{v:>{w}}"
                         for v, c, w in zip(values, cols, widths))
    line = fmt(cols)
    print(line)
    print("-" * len(line))
    for r in table:
        print(fmt(r))
    print("-" * len(line))
    total = info["table_bytes"]
    print(f"table bytes {total} ({total / 1024:.1f} KiB)")
    return 0


# ----------------------------------------------------------------------------- parser

class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2 (argparse prints usage too)
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _threads(s: str) -> int:
    try:
        n = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of threads, got {s!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"threads must be >= 1, got {n}")
    return n


def build_parser() -> argparse.ArgumentParser:
    version = getattr(tinylut, "__version__", "unknown")
    p = _Parser(prog=PROG, description="Image restoration with tiny look-up tables (TinyLUT).")
    p.add_argument("--version", action="version", version=f"{PROG} {version}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    r = sub.add_parser("restore", help="restore an image, or every image of a folder",
                       description="Restore IN into OUT. IN and OUT are image files, or "
                       "folders: every image of the IN folder is restored into the OUT folder "
                       "under the same name (stops at the first error unless --keep-going).")
    r.add_argument("input", metavar="IN", help="image file or folder of images")
    r.add_argument("output", metavar="OUT", help="output image file or folder")
    r.add_argument("--model", "-m", metavar="M",
                   help="model name, architecture (tinylut-s, tinylut-f) or .tlut file "
                        "(default: the shipped tinylut-s model of the task)")
    _add_task_options(r)
    r.add_argument("--threads", type=_threads, default=None, metavar="N",
                   help="worker threads (default: all cores)")
    _add_ensemble_option(r)
    r.add_argument("--quiet", "-q", action="store_true", help="no summary line")
    r.add_argument("--keep-going", "-k", action="store_true",
                   help="folder: skip an image that cannot be read, restored or written (one "
                        "line each on stderr) and exit with status 1 at the end")
    r.set_defaults(func=cmd_restore)

    e = sub.add_parser("eval", help="PSNR/SSIM of a model on a benchmark folder",
                       description="Evaluate a model in the papers' protocol. sr: DIR holds HR/ "
                       "and LR_bicubic/X<scale>/ with the same file names; Y channel, HR "
                       "mod-cropped, PSNR shaving `scale` pixels, SSIM 11x11 Gaussian. denoise: "
                       "DIR holds clean gray images; each gets noisy = clip(round(clean + "
                       "sigma * N(0,1)), 0, 255), N drawn by numpy.random.default_rng(seed) "
                       "with seed = the first 8 bytes (little-endian) of the SHA-256 of the "
                       "file name without extension, the same N for every sigma; PSNR and "
                       "SSIM over the whole image.")
    e.add_argument("--model", "-m", metavar="M", required=True,
                   help="model name, architecture (tinylut-s, tinylut-f: the shipped model "
                        "of --task and --sigma) or .tlut file")
    e.add_argument("--data", "-d", metavar="DIR", required=True, help="benchmark folder")
    _add_task_options(e)
    e.add_argument("--json", action="store_true",
                   help="print one JSON object (means, n, per-image values) and nothing else")
    e.add_argument("--threads", type=_threads, default=None, metavar="N",
                   help="worker threads (default: all cores)")
    _add_ensemble_option(e)
    e.set_defaults(func=cmd_eval)

    i = sub.add_parser("info", help="describe a model, or the installed tinylut",
                       description="With a model: architecture, task, scale and table bytes "
                       "per stage. Without: the version and the active instruction-set path.")
    i.add_argument("model", metavar="M", nargs="?", help="model name or .tlut file")
    i.add_argument("--json", action="store_true", help="print JSON")
    i.set_defaults(func=cmd_info)
    return p


def _error_line(e: BaseException) -> str:
    if isinstance(e, OSError) and e.strerror:
        return f"{e.filename}: {e.strerror}" if e.filename else e.strerror
    if isinstance(e, KeyError) and e.args:
        return str(e.args[0])
    msg = str(e) or type(e).__name__
    return " ".join(msg.split())   # one line


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (CLIError, ImageError, ModelFormatError, OSError, ValueError, TypeError,
            KeyError) as e:
        if os.environ.get("TINYLUT_DEBUG"):
            raise
        print(f"{PROG}: error: {_error_line(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
