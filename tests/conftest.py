"""Shared pytest fixtures.

``shared``: the ``../shared`` folder (DESIGN.md, data/): ``$TINYLUT_SHARED`` if set, else
``<repo root>/../shared`` (located by ``randmodels.shared_dir``). Tests that need it skip,
with the reason, when it is absent; ``official_dir``: the released TinyLUT-S tables in it.

``random_spec`` / ``random_model_path``: a random TinyLUT-S-shaped x4 model
(``randmodels.random_model(0)``: random int8 tables, random DDM scales) as a spec and as a
.tlut file.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from randmodels import random_model, shared_dir
from tinylut.model import ModelSpec, validate, write_model


@pytest.fixture(scope="session")
def shared() -> Path:
    path = shared_dir()
    if path is None:
        where = os.environ.get("TINYLUT_SHARED") or "<repo root>/../shared"
        pytest.skip(f"shared data not found: no data/ folder in {where} "
                    f"(set TINYLUT_SHARED to the shared folder)")
    return path


@pytest.fixture(scope="session")
def official_dir(shared: Path) -> Path:
    path = shared / "data" / "official" / "tinylut_s_x4"
    if not path.is_dir():
        pytest.skip(f"released TinyLUT-S tables not found at {path}")
    return path


@pytest.fixture(scope="session")
def random_spec() -> ModelSpec:
    return validate(random_model(0))


@pytest.fixture(scope="session")
def random_model_path(tmp_path_factory, random_spec) -> Path:
    path = tmp_path_factory.mktemp("models") / "random.tlut"
    write_model(random_spec, path)
    return path
