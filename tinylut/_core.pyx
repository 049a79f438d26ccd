# cython: language_level=3, boundscheck=False, wraparound=False
"""Thin layer over csrc/: holds a model's C structs and runs row ranges without the GIL."""
from libc.stddef cimport size_t
from libc.stdint cimport int8_t, int32_t, uint8_t
from libc.stdlib cimport calloc, free

import numpy as np

cdef extern from "tinylut.h":
    ctypedef struct tl_stage:
        int kind, cin, cout, row_width, divisor, residual, centred, dilation, out_lo, out_hi
        int in_lo, in_n
        const int32_t *row_off
        const int8_t *gval
        const int8_t *table
        int32_t tap_stride
    ctypedef struct tl_branch:
        int split, bits, n_stages
        const tl_stage *stages
    ctypedef struct tl_model:
        int scale, rotations, n_branches
        const tl_branch *branches
    ctypedef struct tl_image_in:
        const uint8_t *data
        int height, width, channels
        Py_ssize_t row_stride, col_stride, chan_stride
    ctypedef struct tl_image_out:
        uint8_t *data
        Py_ssize_t row_stride, col_stride, chan_stride
    int tl_restore_rows(const tl_model *model, const tl_image_in *inp, const tl_image_out *out,
                        int row_begin, int row_end, int isa) nogil
    ctypedef struct tl_prepared:
        pass
    int tl_prepare(const tl_model *model, int isa, tl_prepared **out)
    void tl_prepared_free(tl_prepared *prep)
    int tl_restore_rows_prepared(const tl_model *model, const tl_prepared *prep,
                                 const tl_image_in *inp, const tl_image_out *out,
                                 int row_begin, int row_end) nogil
    void tl_mean_rne(const uint8_t *a, const uint8_t *b, uint8_t *out, size_t n) nogil
    int tl_check_model(const tl_model *model)
    int tl_isa_available(int isa)
    int tl_isa_best()
    const char *tl_isa_name(int isa)
    int TL_ISA_COUNT, TL_ERR_NOMEM, TL_ERR_ARG, TL_ERR_ISA, TL_MAX_IMAGE_CHANNELS

ISA_NAMES = tuple(tl_isa_name(i).decode() for i in range(TL_ISA_COUNT))


def mean_rne(const uint8_t[::1] a, const uint8_t[::1] b, uint8_t[::1] out):
    """out = (a + b) / 2 rounded half to even, elementwise (1-d contiguous uint8, same length)."""
    if a.shape[0] != b.shape[0] or a.shape[0] != out.shape[0]:
        raise ValueError("mean_rne: arrays of different lengths")
    if a.shape[0] == 0:
        return
    with nogil:
        tl_mean_rne(&a[0], &b[0], &out[0], <size_t> a.shape[0])


def isa_available(int isa):
    return bool(tl_isa_available(isa))


def isa_best():
    return tl_isa_best()


cdef class CoreModel:
    """The C view of a validated model. Arrays come from engine.py, already checked."""
    cdef tl_model model
    cdef tl_branch *branches
    cdef tl_stage *stages
    cdef list keep  # the numpy arrays the C structs point into
    cdef tl_prepared *prepared[8]  # per ISA, made on first use (under the GIL), then shared

    def __cinit__(self, int scale, int rotations, list branches):
        """branches: [(split, bits, [stage dict, ...]), ...] with int32/int8 C-contiguous arrays."""
        cdef int n_stages = sum(len(b[2]) for b in branches)
        self.keep = []
        self.branches = <tl_branch *> calloc(max(len(branches), 1), sizeof(tl_branch))
        self.stages = <tl_stage *> calloc(max(n_stages, 1), sizeof(tl_stage))
        if self.branches == NULL or self.stages == NULL:
            raise MemoryError()
        cdef int bi, si, at = 0
        cdef const int32_t[::1] row_off
        cdef const int8_t[::1] gval, table
        cdef tl_stage *st
        for bi, (split, bits, stages) in enumerate(branches):
            self.branches[bi].split = split
            self.branches[bi].bits = bits
            self.branches[bi].n_stages = len(stages)
            self.branches[bi].stages = &self.stages[at]
            for si, d in enumerate(stages):
                st = &self.stages[at + si]
                row_off = d["row_off"].reshape(-1)
                gval = d["gval"].reshape(-1)
                table = d["table"].reshape(-1)
                self.keep += [d["row_off"], d["gval"], d["table"]]
                st.kind, st.cin, st.cout = d["kind"], d["cin"], d["cout"]
                st.row_width, st.divisor, st.residual = d["row_width"], d["divisor"], d["residual"]
                st.centred, st.dilation = d["centred"], d["dilation"]
                st.out_lo, st.out_hi, st.in_lo, st.in_n = d["out_lo"], d["out_hi"], d["in_lo"], d["in_n"]
                st.tap_stride = d["tap_stride"]
                st.row_off = &row_off[0]
                st.gval = &gval[0]
                st.table = &table[0]
            at += len(stages)
        self.model.scale = scale
        self.model.rotations = rotations
        self.model.n_branches = len(branches)
        self.model.branches = self.branches
        if tl_check_model(&self.model) != 0:
            raise ValueError("model rejected by the C core's checks")

    def __dealloc__(self):
        for i in range(8):
            tl_prepared_free(self.prepared[i])
        free(self.stages)
        free(self.branches)

    def restore_rows(self, const uint8_t[:, :, :] image, uint8_t[:, :, :] out, int row_begin,
                     int row_end, int isa):
        """(H, W, C) input rows [row_begin, row_end) -> their scale x scale output rows."""
        cdef int s = self.model.scale
        if (out.shape[0] != image.shape[0] * s or out.shape[1] != image.shape[1] * s
                or out.shape[2] != image.shape[2]):
            raise ValueError("output shape does not match the input and scale")
        if not 1 <= image.shape[2] <= TL_MAX_IMAGE_CHANNELS:
            raise ValueError(f"expected 1 to {TL_MAX_IMAGE_CHANNELS} channels, got {image.shape[2]}")
        cdef tl_image_in src
        cdef tl_image_out dst
        src.data = &image[0, 0, 0]
        src.height = <int> image.shape[0]
        src.width = <int> image.shape[1]
        src.channels = <int> image.shape[2]
        src.row_stride = image.strides[0]
        src.col_stride = image.strides[1]
        src.chan_stride = image.strides[2]
        dst.data = &out[0, 0, 0]
        dst.row_stride = out.strides[0]
        dst.col_stride = out.strides[1]
        dst.chan_stride = out.strides[2]
        cdef int status = 0
        if isa < 0 or isa >= TL_ISA_COUNT:
            raise ValueError(f"unknown instruction set {isa}")
        if self.prepared[isa] == NULL:
            status = tl_prepare(&self.model, isa, &self.prepared[isa])
        cdef const tl_prepared *prep = self.prepared[isa]
        if status == 0:
            with nogil:
                status = tl_restore_rows_prepared(&self.model, prep, &src, &dst, row_begin, row_end)
        if status == TL_ERR_NOMEM:
            raise MemoryError("tinylut: out of memory")
        if status == TL_ERR_ISA:
            raise ValueError(f"instruction set {ISA_NAMES[isa]!r} is not available here")
        if status != 0:
            raise ValueError(f"tinylut core rejected the call (status {status})")
