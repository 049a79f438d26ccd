"""Shared pytest fixtures.

``shared``: the ``../shared`` folder (DESIGN.md, data/): ``$TINYLUT_SHARED`` if set, else
``<repo root>/../shared``. Tests that need it skip, with the reason, when it is absent.

``make_random_spec(seed, ...)``: a valid random TinyLUT-S-shaped ModelSpec (random int8
tables, random DDM scales), built with numpy only; ``random_spec`` / ``random_model_path``:
one such model (seed 0) as a spec and as a .tlut file.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from tinylut.model import (Branch, ModelSpec, Stage, identity_segments, requant_map,
                           requant_segments, split_range, validate, write_model)

REPO_ROOT = Path(__file__).resolve().parent.parent


def shared_path() -> Path:
    env = os.environ.get("TINYLUT_SHARED")
    return Path(env) if env else REPO_ROOT.parent / "shared"


@pytest.fixture(scope="session")
def shared() -> Path:
    path = shared_path()
    if not (path / "data").is_dir():
        how = "$TINYLUT_SHARED" if os.environ.get("TINYLUT_SHARED") else \
            "<repo root>/../shared (or set $TINYLUT_SHARED)"
        pytest.skip(f"shared data not found: no {path / 'data'} ({how})")
    return path


@pytest.fixture(scope="session")
def official_dir(shared: Path) -> Path:
    path = shared / "data" / "official" / "tinylut_s_x4"
    if not path.is_dir():
        pytest.skip(f"released TinyLUT-S tables not found at {path}")
    return path


def _random_requant_stage(rng, lo: int, hi: int, out_lo: int, out_hi: int, cout: int) -> Stage:
    scales = rng.uniform(0.05, 1.2, size=16).astype(np.float32)
    seg = requant_segments(scales, lo, hi)
    rows = int(seg[-1, 0] + (np.round(hi * scales[-1]) - np.round(lo * scales[-1])) + 1)
    table = rng.integers(-60, 61, size=(1, rows, cout), dtype=np.int8)
    return Stage(kind="pw", cin=16, cout=cout, divisor=16, residual=True, out_lo=out_lo,
                 out_hi=out_hi, table=table, gmap=requant_map(scales, lo, hi, lo, hi),
                 seg=seg, scales=scales)


def build_random_spec(seed: int = 0, name: str = "random-test") -> ModelSpec:
    """TinyLUT-S x4 layout (MSB/LSB branches, DW -> PW -> UP) with random tables."""
    scale = 4
    rng = np.random.default_rng(seed)
    branches = []
    for split in ("msb", "lsb"):
        lo, hi = split_range(split, 2)
        gmap, seg = identity_segments(1, lo, hi)
        dw = Stage(kind="dw", cin=1, cout=16, divisor=9, residual=True, out_lo=lo, out_hi=hi,
                   table=rng.integers(-60, 61, size=(9, hi - lo + 1, 16), dtype=np.int8),
                   gmap=gmap, seg=seg)
        pw = _random_requant_stage(rng, lo, hi, lo, hi, 16)
        up = _random_requant_stage(rng, lo, hi, -128, 127, scale * scale)
        branches.append(Branch(name=split, split=split, bits=2, stages=(dw, pw, up)))
    return validate(ModelSpec(name=name, arch="tinylut-s", task="sr", scale=scale,
                              branches=tuple(branches), rotations=4, meta={"seed": seed}))


@pytest.fixture(scope="session")
def make_random_spec():
    return build_random_spec


@pytest.fixture(scope="session")
def random_spec() -> ModelSpec:
    return build_random_spec(0)


@pytest.fixture(scope="session")
def random_model_path(tmp_path_factory, random_spec) -> Path:
    path = tmp_path_factory.mktemp("models") / "random.tlut"
    write_model(random_spec, path)
    return path
