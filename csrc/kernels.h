/* Internal: the per-row stage kernels every instruction-set file provides. */
#ifndef TINYLUT_KERNELS_H
#define TINYLUT_KERNELS_H

#include "tinylut.h"

/* Pixel x of a feature row is at row[x * channels]; rows carry a 2-pixel halo on each side
 * (x = -2 .. width + 1) that the engine fills by reflection before a DW stage reads them. */
typedef struct {
    /* DW: tap k of output pixel x reads input pixel x + tap_dx[k] of row tap_rows[k]. */
    void (*dw)(const tl_stage *st, const int8_t *const tap_rows[9], const int tap_dx[9],
               int width, int8_t *out);
    /* PW: input row -> output row, pixel by pixel. */
    void (*pw)(const tl_stage *st, const int8_t *in, int width, int8_t *out);
} tl_kernels;

/* The residual (tap 8) is the pixel itself: window offset (0, 0). */
#define TL_CENTER_TAP 8

extern const tl_kernels tl_kernels_scalar;
#if defined(__aarch64__)
extern const tl_kernels tl_kernels_neon;
#endif
#if defined(__x86_64__) || defined(_M_X64)
extern const tl_kernels tl_kernels_sse41;
extern const tl_kernels tl_kernels_avx2;
#endif

const tl_kernels *tl_kernels_for(int isa);

#endif
