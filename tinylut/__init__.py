"""tinylut: image restoration with tiny look-up tables (TinyLUT, Li et al., NeurIPS 2024).

    >>> import tinylut
    >>> big = tinylut.restore(image)            # uint8 HxW or HxWxC -> x4, default model
    >>> clean = tinylut.restore(noisy, task="denoise", sigma=25)   # shipped tinylut-s-dn25
    >>> model = tinylut.load_model("path/to/model.tlut")
    >>> big = model(image, threads=2)

Channels are restored independently with the same tables (as the paper does), so gray,
gray+alpha, RGB and RGBA all work; an alpha channel goes through the model like any other channel.
The denoisers are trained on gray images with Gaussian noise; a colour image is denoised channel
by channel, which suits noise that is independent in each channel.

Shipped model names (``tinylut.names``): ``tinylut-s-x4`` (x4 SR), ``tinylut-s-dn15/25/50``
(gray denoisers for noise sigma 15, 25, 50 on 0..255), and the same with ``tinylut-f``.
"""
from __future__ import annotations

import os
from importlib import resources
from typing import Union

import numpy as np

from . import engine
from .ensemble import self_ensemble
from .model import ModelFormatError, ModelSpec, read_model
from .names import ARCHS, DEFAULT_ARCH, TASKS, model_name
from .noise import SIGMAS, check_sigma

__version__ = "0.1.0"
__all__ = ["restore", "load_model", "resolve_model", "info", "Model", "ModelFormatError",
           "shipped_models", "DEFAULT_MODELS", "SIGMAS"]

DEFAULT_MODELS = {"sr": "tinylut-s-x4"}   # denoising: tinylut-s-dn<sigma>, see resolve_model
MAX_SIDE = 1 << 20          # keeps every index of the C core inside int
ALLOWED_CHANNELS = (1, 2, 3, 4)


def _threads(threads: int | None) -> int:
    if threads is None:
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # not on Linux
            return max(1, os.cpu_count() or 1)
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise ValueError(f"threads must be a positive integer, got {threads!r}")
    return int(threads)


def check_image(image) -> np.ndarray:
    """The image as (H, W, C) uint8, or a TypeError/ValueError that says what was expected."""
    if not isinstance(image, np.ndarray):
        hint = ("; np.asarray(image) gives one" if hasattr(image, "__array_interface__")
                or hasattr(image, "__array__") else "")   # a PIL image, a tensor, a list...
        raise TypeError(f"expected a numpy array, got {type(image).__name__}{hint}")
    if image.dtype != np.uint8:
        raise TypeError(f"expected a uint8 image, got dtype {image.dtype}; convert it first, "
                        "e.g. np.clip(np.round(img * 255), 0, 255).astype(np.uint8) for 0..1 floats")
    if image.ndim not in (2, 3):
        raise ValueError(f"expected an image of shape (H, W) or (H, W, C), got shape {image.shape}")
    if image.ndim == 3 and image.shape[2] not in ALLOWED_CHANNELS:
        raise ValueError(f"expected 1 to 4 channels (gray, gray+alpha, RGB, RGBA), got {image.shape[2]} "
                         f"(shape {image.shape}); channels-first arrays need np.moveaxis(img, 0, -1)")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f"image is empty (shape {image.shape})")
    if image.shape[0] > MAX_SIDE or image.shape[1] > MAX_SIDE:
        raise ValueError(f"image sides must be at most {MAX_SIDE} pixels, got {image.shape[:2]}")
    return image if image.ndim == 3 else image[:, :, None]


def _check_ensemble(ensemble) -> None:
    if not isinstance(ensemble, (bool, np.bool_)):
        raise TypeError(f"ensemble must be True or False, got {ensemble!r}")


class Model:
    """A loaded, validated model; call it on uint8 images."""

    def __init__(self, spec: ModelSpec, source: str = "<memory>"):
        if not isinstance(spec, ModelSpec):
            hint = " (read a file with tinylut.load_model(path))" \
                if isinstance(spec, (str, os.PathLike)) else ""
            raise TypeError(f"Model takes a ModelSpec, got {type(spec).__name__}{hint}")
        self.spec = spec
        self.source = source
        # one C model per network: the first, then the later passes on its output
        self._cores = [(engine.build_core(n), n.scale) for n in spec.networks]

    name = property(lambda self: self.spec.name)
    arch = property(lambda self: self.spec.arch)
    task = property(lambda self: self.spec.task)
    scale = property(lambda self: self.spec.scale)

    @property
    def sigma(self) -> float | None:
        """The noise level a denoiser was trained for (``meta.sigma`` of its file), or None."""
        s = self.spec.meta.get("sigma")
        return float(s) if isinstance(s, (int, float)) and not isinstance(s, bool) else None

    def __repr__(self) -> str:
        return (f"Model({self.name!r}, arch={self.arch!r}, task={self.task!r}, "
                f"scale={self.scale}, table_bytes={self.spec.table_bytes})")

    def __call__(self, image: np.ndarray, *, threads: int | None = None,
                 isa: str | None = None, ensemble: bool = False) -> np.ndarray:
        img = check_image(image)
        n_threads, isa_code = _threads(threads), engine.isa_code(isa)
        _check_ensemble(ensemble)

        def run(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
            last = len(self._cores) - 1
            for i, (core, scale) in enumerate(self._cores):
                x = engine.run(core, scale, x, n_threads, isa_code, out if i == last else None)
            return x

        # a model of all eight orientations gives the transposed image's result already:
        # the ensemble would be the same image at twice the time
        symmetric = all(net.rotations == 8 for net in self.spec.networks)
        out = self_ensemble(run, img) if ensemble and not symmetric else run(img)
        return out[:, :, 0] if image.ndim == 2 else out

    def info(self) -> dict:
        stages = [{"pass": p, "branch": b.name, "stage": i, "kind": st.kind,
                   "window": st.window if st.kind == "dw" else "",
                   "cin": st.cin, "cout": st.cout, "rows": int(st.table.shape[1]),
                   "bytes": st.table_bytes}
                  for p, net in enumerate(self.spec.networks)
                  for b in net.branches for i, st in enumerate(b.stages)]
        extra = {"sigma": self.spec.meta["sigma"]} if self.sigma is not None else {}
        return {"name": self.name, "arch": self.arch, "task": self.task, "scale": self.scale,
                **extra, "rotations": self.spec.rotations, "passes": len(self.spec.networks),
                "stages": stages,
                "table_bytes": self.spec.table_bytes, "source": self.source}


def shipped_models() -> list[str]:
    """Names of the model files inside the package."""
    folder = resources.files("tinylut") / "models"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".tlut"))


def _shipped_path(name: str):
    path = resources.files("tinylut") / "models" / f"{name}.tlut"
    return path if path.is_file() else None


def load_model(model: Union[str, os.PathLike]) -> Model:
    """A model from a .tlut file path or the name of a shipped model."""
    if not isinstance(model, (str, os.PathLike)):
        raise TypeError(f"expected a model name or path, got {type(model).__name__}")
    path = os.fspath(model)
    if not os.path.exists(path):
        shipped = _shipped_path(path) if isinstance(model, str) else None
        if shipped is None:
            raise FileNotFoundError(f"no model file {path!r} and no shipped model of that name "
                                    f"(shipped: {', '.join(shipped_models()) or 'none'})")
        with resources.as_file(shipped) as p:
            return Model(read_model(p), source=f"shipped:{path}")
    return Model(read_model(path), source=path)


_loaded: dict[str, Model] = {}


def _shipped_name(arch: str, task: str, sigma) -> str:
    if task == "sr":
        return DEFAULT_MODELS["sr"] if arch == DEFAULT_ARCH else model_name(arch, "sr")
    if sigma is None:
        raise ValueError("task='denoise' needs sigma, the noise level of the image on 0..255 "
                         f"(shipped denoisers: sigma {', '.join(map(str, SIGMAS))}), "
                         "or model= a denoising model")
    if sigma not in SIGMAS:
        raise ValueError(f"no shipped denoiser for sigma {sigma:g}: the shipped noise levels "
                         f"are {', '.join(map(str, SIGMAS))}; pick the nearest or pass model= "
                         "a .tlut denoiser trained for your level")
    return model_name(arch, "denoise", sigma=sigma)


def resolve_model(model=None, task: str | None = None, sigma=None) -> Model:
    """The Model that ``restore`` runs, checked against ``task`` and ``sigma``.

    model: a Model, a .tlut path, a shipped model name, an architecture name ("tinylut-s",
    "tinylut-f": its shipped model for the task and sigma) or None ("tinylut-s").
    task: "sr" or "denoise"; None: the model's task (without a model: "denoise" if sigma is
    given, else "sr").
    sigma: the noise level (0..255) for denoising: picks the shipped denoiser
    (``tinylut-s-dn25`` for 25; only 15, 25 and 50 ship) and is checked against the model's
    ``meta.sigma`` when it has one. ValueError for an unknown task or sigma, sigma with a
    super-resolution model, or a model of another task; FileNotFoundError naming the model
    when it is not shipped (yet)."""
    if task is not None and task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(map(repr, TASKS))}, got {task!r}")
    if sigma is not None:
        sigma = check_sigma(sigma, allow_zero=False)
    if model is None or (isinstance(model, str) and model in ARCHS):
        want = task or ("denoise" if sigma is not None else "sr")
        name = _shipped_name(model or DEFAULT_ARCH, want, sigma)
        if name not in _loaded and _shipped_path(name) is None:
            what = "x4 super-resolution" if want == "sr" else f"denoising at sigma {sigma:g}"
            raise FileNotFoundError(
                f"the shipped model {name!r} ({what}) is not in this build of tinylut yet "
                f"(shipped: {', '.join(shipped_models()) or 'none'}); "
                "give a .tlut file as the model")
        model = name
    if isinstance(model, Model):
        m = model
    elif isinstance(model, (str, os.PathLike)):
        key = os.fspath(model)
        if key not in _loaded:
            _loaded[key] = load_model(model)
        m = _loaded[key]
    else:
        raise TypeError(f"model must be a Model, a name or a path, got {type(model).__name__}")
    if task is not None and m.task != task:
        raise ValueError(f"model {m.name!r} is a {m.task!r} model, not {task!r}")
    if sigma is not None:
        if m.task != "denoise":
            raise ValueError(f"sigma is for denoising; model {m.name!r} is a {m.task!r} model")
        if m.sigma is not None and m.sigma != sigma:
            raise ValueError(f"model {m.name!r} was trained for sigma {m.sigma:g}, not "
                             f"{sigma:g}; pass the matching model or leave sigma out")
    return m


def restore(image: np.ndarray, model=None, *, task: str | None = None, sigma=None,
            threads: int | None = None, isa: str | None = None,
            ensemble: bool = False) -> np.ndarray:
    """Restore a uint8 image (H, W) or (H, W, C) with C in 1..4; returns uint8.

    model: a Model, a shipped model name, an architecture ("tinylut-s", "tinylut-f") or a
    .tlut path (default: the shipped tinylut-s model of the task; see ``resolve_model``).
    task: "sr" (x4 super-resolution) or "denoise" (same size); default: the model's task, or
    "sr" without a model.
    sigma: denoising only: the noise level on 0..255, which picks the shipped denoiser
    (``restore(img, task="denoise", sigma=25)`` runs tinylut-s-dn25; 15, 25 and 50 ship).
    Channels are processed independently (RGB noise: each channel denoised on its own).
    threads: worker threads (default: all cores); the output is the same for every count.
    isa: force an instruction-set path ("scalar", "neon", "sse41", "avx2", "avx512"); default: the
    fastest available, or $TINYLUT_ISA.
    ensemble: also restore the transposed image and average the two (rounded half to even):
    all eight orientations instead of the four rotations a model sums, for 0.01-0.08 dB
    more at about twice the time (the README gives the figures per model); a model that sums
    all eight itself (``rotations`` 8) is run once, as the ensemble would not change it."""
    check_image(image)
    _check_ensemble(ensemble)
    m = resolve_model(model, task, sigma)
    return m(image, threads=threads, isa=isa, ensemble=ensemble)


def info() -> dict:
    """Version and instruction-set paths of this build on this machine."""
    return {"version": __version__, "isa": engine.ISA_NAMES[engine.isa_code(None)],
            "isas": engine.available_isas(), "models": shipped_models()}
