"""Build of the C core (csrc/) and its Cython layer (tinylut/_core.pyx)."""
import os

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

# Every source on every platform: stages_x86.c and stages_neon.c compile to nothing elsewhere.
CSRC = ["csrc/engine.c", "csrc/dispatch.c", "csrc/stages.c", "csrc/tables16.c",
        "csrc/stages_x86.c", "csrc/stages_neon.c"]
# Portable flags only: the x86 wheel targets baseline x86-64, SIMD functions carry their own
# target attributes and are picked at run time; NEON is baseline on aarch64 (no flag needed).
CFLAGS = ["-O3", "-std=c99", "-fno-strict-aliasing", "-Wno-psabi"] if os.name != "nt" else ["/O2"]

extension = Extension(
    "tinylut._core",
    sources=["tinylut/_core.pyx", *CSRC],
    depends=["csrc/tinylut.h", "csrc/kernels.h", "csrc/simd_body.h"],  # rebuild on header edits
    include_dirs=["csrc", np.get_include()],
    extra_compile_args=CFLAGS,
    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
)

setup(ext_modules=cythonize([extension], language_level=3))
