/* tinylut: the integer TinyLUT runtime (public C API).
 *
 * A model is a list of branches; a branch is a list of stages. Every stage looks up one int8
 * table row per (input channel, tap), sums the rows and computes
 *     out[o] = clamp(rne(sum / divisor) + residual[o], out_lo, out_hi)
 * (see ../shared/DESIGN.md section 1 and tinylut/model.py). The caller (the Cython layer)
 * validates the model and precomputes, per stage and input channel, the row offset and the
 * requantised value of every possible input value, so the core never indexes outside a table.
 *
 * No global state: every call allocates its own scratch, so calls are re-entrant and may run
 * on several threads at once over different row ranges of the same image.
 */
#ifndef TINYLUT_H
#define TINYLUT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum tl_stage_kind { TL_DW = 0, TL_PW = 1 };
enum tl_split { TL_SPLIT_MSB = 0, TL_SPLIT_LSB = 1, TL_SPLIT_FULL = 2 };
enum tl_isa {
    TL_ISA_SCALAR = 0, TL_ISA_NEON = 1, TL_ISA_SSE41 = 2, TL_ISA_AVX2 = 3,
    TL_ISA_AVX512 = 4, /* AVX-512 VL, BW and VBMI (Ice Lake, Zen 4 and later) */
    TL_ISA_COUNT = 5
};
enum tl_status { TL_OK = 0, TL_ERR_NOMEM = -1, TL_ERR_ARG = -2, TL_ERR_ISA = -3 };

#define TL_MAX_CHANNELS 64
#define TL_MAX_STAGES 16
#define TL_MAX_BRANCHES 4
#define TL_MAX_SCALE 8
#define TL_MAX_ORIENTATIONS 8 /* rotations 8: the four rotations and the transposed four */

typedef struct {
    int kind;            /* TL_DW (3x3 window, 9 taps) or TL_PW (1 tap) */
    int cin, cout;
    int row_width;       /* int8 values per table row: cout / cin (DW) or cout (PW) */
    int divisor;
    int residual;        /* add the requantised input of channel o * cin / cout */
    int centred;         /* DW: window rows/cols -1..1 around the pixel (tap 4 is the pixel)
                            instead of -2..0 (the paper's corner window, tap 8 the pixel) */
    int dilation;        /* DW: 1, or 2 for a centred window's taps at -2, 0, 2 (a 5x5 reach
                            for the same 9 taps); 0 is read as 1 */
    int out_lo, out_hi;  /* clamp of the output (and the value range of the next stage) */
    int in_lo, in_n;     /* input values are in_lo .. in_lo + in_n - 1 */
    const int32_t *row_off; /* [cin][in_n]: offset (in int8 elements) of the row in one tap's table */
    const int8_t *gval;     /* [cin][in_n]: requantised value, used for the residual */
    const int8_t *table;    /* [taps][tap_stride] */
    int32_t tap_stride;     /* elements per tap: rows * row_width */
} tl_stage;

typedef struct {
    int split;           /* enum tl_split: how the centred pixel becomes this branch's input */
    int bits;
    int n_stages;
    const tl_stage *stages;
} tl_branch;

typedef struct {
    int scale;           /* output is scale x scale pixels per input pixel */
    int rotations;       /* 1, 2 or 4: rotation ensemble; 8: also the transposed image's four,
                            the sum halved (rounded half to even) */
    int n_branches;
    const tl_branch *branches;
} tl_model;

#define TL_MAX_IMAGE_CHANNELS 4 /* gray, gray + alpha, RGB, RGBA */

typedef struct {
    /* channel c of pixel (y, x) at data[y * row_stride + x * col_stride + c * chan_stride] */
    const uint8_t *data;
    int height, width, channels; /* channels 1 .. TL_MAX_IMAGE_CHANNELS, restored one by one */
    ptrdiff_t row_stride, col_stride, chan_stride;
} tl_image_in;

typedef struct {
    /* channel c of output pixel (Y, X) at data[Y * row_stride + X * col_stride + c * chan_stride] */
    uint8_t *data;
    ptrdiff_t row_stride, col_stride, chan_stride;
} tl_image_out;

/* Restores input rows [row_begin, row_end) of every channel into output rows
 * [row_begin * scale, row_end * scale). Returns a tl_status. */
int tl_restore_rows(const tl_model *model, const tl_image_in *in, const tl_image_out *out,
                    int row_begin, int row_end, int isa);

/* What a path precomputes from a model (the SIMD paths' int16 tables and window tables), made
 * once and shared: read-only after tl_prepare, so any number of threads may use it at once.
 * tl_restore_rows builds it per call (a few ms with window tables: prepare once for repeated
 * calls); tl_restore_rows_prepared takes one made for the same model and isa. */
typedef struct tl_prepared tl_prepared;
int tl_prepare(const tl_model *model, int isa, tl_prepared **out); /* a tl_status */
void tl_prepared_free(tl_prepared *prep);
int tl_restore_rows_prepared(const tl_model *model, const tl_prepared *prep, const tl_image_in *in,
                             const tl_image_out *out, int row_begin, int row_end);

/* out[i] = (a[i] + b[i]) / 2 rounded half to even, for i < n (the self-ensemble's mean of two
 * restored images; out may be a or b). */
void tl_mean_rne(const uint8_t *a, const uint8_t *b, uint8_t *out, size_t n);

/* Checks the parts of a model the core relies on (shapes, ranges); TL_OK or TL_ERR_ARG. */
int tl_check_model(const tl_model *model);

int tl_isa_available(int isa);  /* 1 if this build and this CPU can run the path */
int tl_isa_best(void);          /* the fastest available path */
const char *tl_isa_name(int isa);

#ifdef __cplusplus
}
#endif
#endif
