"""tinylut: image restoration with tiny look-up tables (TinyLUT, Li et al., NeurIPS 2024).

    >>> import tinylut
    >>> big = tinylut.restore(image)            # uint8 HxW or HxWxC -> x4, default model
    >>> model = tinylut.load_model("path/to/model.tlut")
    >>> big = model(image, threads=2)

Channels are restored independently with the same tables (as the paper does), so gray,
RGB and RGBA all work; an alpha channel goes through the model like any other channel.
"""
from __future__ import annotations

import os
from importlib import resources
from typing import Union

import numpy as np

from . import engine
from .model import ModelFormatError, ModelSpec, read_model

__version__ = "0.1.0"
__all__ = ["restore", "load_model", "info", "Model", "ModelFormatError", "shipped_models",
           "DEFAULT_MODELS"]

DEFAULT_MODELS = {"sr": "tinylut-s-x4"}
MAX_SIDE = 1 << 20          # keeps every index of the C core inside int
ALLOWED_CHANNELS = (1, 3, 4)


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
        raise TypeError(f"expected a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise TypeError(f"expected a uint8 image, got dtype {image.dtype}; convert it first, "
                        "e.g. np.clip(np.round(img * 255), 0, 255).astype(np.uint8) for 0..1 floats")
    if image.ndim not in (2, 3):
        raise ValueError(f"expected an image of shape (H, W) or (H, W, C), got shape {image.shape}")
    if image.ndim == 3 and image.shape[2] not in ALLOWED_CHANNELS:
        raise ValueError(f"expected 1, 3 or 4 channels (gray, RGB, RGBA), got {image.shape[2]} "
                         f"(shape {image.shape}); channels-first arrays need np.moveaxis(img, 0, -1)")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f"image is empty (shape {image.shape})")
    if image.shape[0] > MAX_SIDE or image.shape[1] > MAX_SIDE:
        raise ValueError(f"image sides must be at most {MAX_SIDE} pixels, got {image.shape[:2]}")
    return image if image.ndim == 3 else image[:, :, None]


class Model:
    """A loaded, validated model; call it on uint8 images."""

    def __init__(self, spec: ModelSpec, source: str = "<memory>"):
        self.spec = spec
        self.source = source
        self._core = engine.build_core(spec)

    name = property(lambda self: self.spec.name)
    arch = property(lambda self: self.spec.arch)
    task = property(lambda self: self.spec.task)
    scale = property(lambda self: self.spec.scale)

    def __repr__(self) -> str:
        return (f"Model({self.name!r}, arch={self.arch!r}, task={self.task!r}, "
                f"scale={self.scale}, table_bytes={self.spec.table_bytes})")

    def __call__(self, image: np.ndarray, *, threads: int | None = None,
                 isa: str | None = None) -> np.ndarray:
        img3 = check_image(image)
        out = engine.run(self._core, self.scale, img3, _threads(threads), engine.isa_code(isa))
        return out[:, :, 0] if image.ndim == 2 else out

    def info(self) -> dict:
        stages = [{"branch": b.name, "stage": i, "kind": st.kind, "cin": st.cin,
                   "cout": st.cout, "rows": int(st.table.shape[1]), "bytes": st.table_bytes}
                  for b in self.spec.branches for i, st in enumerate(b.stages)]
        return {"name": self.name, "arch": self.arch, "task": self.task, "scale": self.scale,
                "rotations": self.spec.rotations, "stages": stages,
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


def _model_for(model, task: str, sigma) -> Model:
    if isinstance(model, Model):
        return model
    if model is None:
        if task not in DEFAULT_MODELS:
            raise ValueError(f"no shipped model for task {task!r}")
        model = DEFAULT_MODELS[task]
    key = os.fspath(model) if isinstance(model, (str, os.PathLike)) else None
    if key is None:
        raise TypeError(f"model must be a Model, a name or a path, got {type(model).__name__}")
    if key not in _loaded:
        _loaded[key] = load_model(model)
    return _loaded[key]


def restore(image: np.ndarray, model=None, *, task: str = "sr", sigma=None,
            threads: int | None = None, isa: str | None = None) -> np.ndarray:
    """Restore a uint8 image (H, W) or (H, W, C) with C in 1, 3, 4; returns uint8.

    model: a Model, a shipped model name or a .tlut path (default: the shipped model of task).
    threads: worker threads (default: all cores); the output is the same for every count.
    isa: force an instruction-set path ("scalar", "neon", "sse41", "avx2"); default: the
    fastest available, or $TINYLUT_ISA."""
    if task not in ("sr", "denoise"):
        raise ValueError(f"task must be 'sr' or 'denoise', got {task!r}")
    check_image(image)
    m = _model_for(model, task, sigma)
    if m.task != task and model is None:
        raise ValueError(f"model {m.name!r} is for task {m.task!r}, not {task!r}")
    return m(image, threads=threads, isa=isa)


def info() -> dict:
    """Version and instruction-set paths of this build on this machine."""
    return {"version": __version__, "isa": engine.ISA_NAMES[engine.isa_code(None)],
            "isas": engine.available_isas(), "models": shipped_models()}
