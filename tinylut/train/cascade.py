"""Training a later pass of a cascade: a new network learns to refine the output of frozen,
already baked ones (``--after MODEL.tlut``; the model file's ``passes``, tinylut.model).

The frozen networks run through the C engine (their integer output is what the file will
compute), so no gradient flows into them. Each training patch is cut with a margin as wide as
the frozen networks' reach, run through them, and cropped back: the refining network then sees
exactly what the frozen ones give on a whole image, not what they give at a patch border.

Denoising: the frozen model and the new pass run at scale 1 on noisy patches. Super-resolution:
the frozen model upscales (x4) LR patches, the new pass refines its output at the HR size
(patches of ``--patch`` LR pixels become ``--patch`` x scale HR pixels for the new pass).
"""
from __future__ import annotations

import numpy as np

from ..model import MAX_PASSES, WINDOW_PADS, ModelSpec, replace
from . import data as D

# how far a DW stage's window reaches from the pixel, per side at most (corner: 2 up/left,
# centred: 1 each way, dilated: 2 each way)
_DW_REACH = {name: max(pads) for name, pads in WINDOW_PADS.items()}


def reach(spec: ModelSpec) -> int:
    """Pixels on any side of a pixel that can change its output, over every network in turn
    (a bound: the deepest branch of each network, its DW windows' reach added up)."""
    return sum(max(sum(_DW_REACH[st.window] for st in b.stages if st.kind == "dw")
                   for b in net.branches)
               for net in spec.networks)


def check_first(first: ModelSpec, task: str, scale: int) -> None:
    """The frozen model must be of the run's task and scale, with room for one more pass."""
    if first.task != task or first.scale != scale:
        raise SystemExit(f"--after: the model {first.name!r} is {first.task} at scale "
                         f"{first.scale}, the run --task {task} at scale {scale}")
    if len(first.networks) >= MAX_PASSES:
        raise SystemExit(f"--after: {first.name!r} already has {len(first.networks)} passes, "
                         f"the most a file holds")


def chain(first: ModelSpec, later: ModelSpec, name: str | None = None,
          arch: str | None = None, meta: dict | None = None) -> ModelSpec:
    """One model file: ``first`` (and its passes), then ``later``, named ``name`` (default
    "FIRST+ARCH", e.g. "tinylut-s-dn50+tinylut-f") and of architecture ``arch`` (default
    "FIRST_ARCH+LATER_ARCH"; a shipped cascade takes the variant its name says). The file's
    meta is ``meta`` (default: later's) with the first network's own arch and meta kept under
    ``first_pass``."""
    top = dict(later.meta if meta is None else meta)
    top["first_pass"] = {"name": first.name, "arch": first.arch, **first.meta}
    return replace(first, name=name or f"{first.name}+{later.arch}",
                   arch=arch or f"{first.arch}+{later.arch}", meta=top,
                   passes=first.passes + (later,))


class AfterFirst:
    """A task whose inputs are first run through the frozen ``first`` model (see module doc)."""

    def __init__(self, task, first: ModelSpec):
        from .. import Model            # the C engine
        check_first(first, task.name, task.args.scale)
        self.task, self.first = task, first
        self.model = Model(first)
        self.margin = reach(first)

    def __getattr__(self, attr):
        """Everything but the training batches is the wrapped task's (name, args, score...)."""
        return getattr(self.task, attr)

    def load_train(self):
        """The task's training set without the images too small for a patch and its margin."""
        return self.task.load_train(min_size=self.task.args.patch + 2 * self.margin)

    def batch(self, train, rng):
        a = self.task.args
        m, p, s = self.margin, a.patch, self.first.scale
        if self.task.name == "denoise":
            inp, target = D.sample_noisy_batch(train, rng, a.batch, p + 2 * m, a.sigma)
        else:
            inp, target = D.sample_batch(train, rng, a.batch, p + 2 * m)
        out = np.stack([self.model(x, threads=1) for x in inp])
        c = slice(m * s, (m + p) * s)       # the patch without its margin, at the output size
        return np.ascontiguousarray(out[:, c, c]), np.ascontiguousarray(target[:, c, c])
