"""What the trainer needs to know of a task: its training batches and its validation score.

* ``sr``: every channel of the ``--data`` images a gray image, degraded once with MATLAB
  bicubic; batches of LR patches and their HR patches; validation: mean Y-PSNR (shave = scale)
  on an SR benchmark folder (default ``shared/data/sr/Set5``). ``--hr-scales`` adds shrunk
  copies of the images (data.build_pairs).
* ``denoise``: the ``--data`` images as gray; batches of clean patches and the same patches
  with Gaussian noise of ``--sigma`` drawn on the fly (rounded and clipped to uint8 exactly as
  at test time, tinylut.noise.add_noise); validation: mean PSNR on a folder of clean gray
  images (default ``shared/data/denoise/Set12``) with the fixed per-image noise of
  ``tinylut eval --task denoise`` (tinylut.noise.eval_noisy).
"""
from __future__ import annotations

from pathlib import Path

from . import data as D
from .evaluate import eval_denoise, eval_sr


class SRTask:
    name = "sr"
    metric = "Y-PSNR"
    default_val = ("sr", "Set5")

    def __init__(self, args):
        self.args = args

    def load_train(self, min_size: int | None = None):
        """The training set; images under ``min_size`` (default: the patch) LR pixels left out."""
        return D.build_pairs(self.args.data, self.args.scale, min_lr=min_size or self.args.patch,
                             hr_scales=tuple(self.args.hr_scales))

    def batch(self, train, rng):
        return D.sample_batch(train, rng, self.args.batch, self.args.patch)

    def load_val(self, folder: Path):
        return D.load_sr_set(folder, self.args.scale)

    def score(self, run, items) -> float:
        return eval_sr(run, items, self.args.scale)


class DenoiseTask(SRTask):
    name = "denoise"
    metric = "PSNR"
    default_val = ("denoise", "Set12")

    def load_train(self, min_size: int | None = None):
        if tuple(self.args.hr_scales) != (1.0,):
            raise SystemExit("--hr-scales is for --task sr")
        return D.gray_set(D.load_gray_images(self.args.data,
                                             min_size=min_size or self.args.patch))

    def batch(self, train, rng):
        return D.sample_noisy_batch(train, rng, self.args.batch, self.args.patch,
                                    self.args.sigma)

    def load_val(self, folder: Path):
        return D.load_denoise_set(folder, self.args.sigma)

    def score(self, run, items) -> float:
        return eval_denoise(run, items)


TASKS = {"sr": SRTask, "denoise": DenoiseTask}
