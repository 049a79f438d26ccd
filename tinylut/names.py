"""Names of the shipped models: ``<arch>-x<scale>`` for super-resolution (``tinylut-s-x4``),
``<arch>-dn<sigma>`` for denoising (``tinylut-s-dn25``), with arch ``tinylut-s`` or
``tinylut-f``. numpy-free and torch-free: the API, the CLI and the trainer share it."""
from __future__ import annotations

ARCHS = ("tinylut-s", "tinylut-f")
TASKS = ("sr", "denoise")
DEFAULT_ARCH = "tinylut-s"
DEFAULT_SCALE = 4


def sigma_label(sigma) -> str:
    """25 -> '25', 12.5 -> '12.5'."""
    s = float(sigma)
    return str(int(s)) if s.is_integer() else repr(s)


def model_name(arch: str, task: str, *, scale: int = DEFAULT_SCALE, sigma=None) -> str:
    """The shipped model name of an architecture and task (``sigma`` for denoising)."""
    if task == "sr":
        return f"{arch}-x{scale}"
    if task == "denoise":
        if sigma is None:
            raise ValueError("a denoising model name needs sigma")
        return f"{arch}-dn{sigma_label(sigma)}"
    raise ValueError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
