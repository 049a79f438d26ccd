/* Scalar stage kernels: the reference every SIMD path must equal bit for bit.
 *
 * Plain C that compilers vectorise well: the 16-wide shapes of TinyLUT-S (DW 1->16, PW 16->16)
 * get fixed-size loops, and the divisors 9 and 16 become compile-time constants, so no
 * division instruction runs per pixel. Everything else takes the generic loops. */
#include <string.h>

#include "kernels.h"

#if defined(__GNUC__)
#define TL_INLINE static inline __attribute__((always_inline))
#else
#define TL_INLINE static inline
#endif

/* a / d rounded half to even (d > 0), exact for every int32 a that can occur here. */
TL_INLINE int32_t rne_div(int32_t a, int32_t d) {
    int32_t q = (a >= 0 ? a : a - d + 1) / d; /* floor */
    int32_t r2 = 2 * (a - q * d);
    return q + ((r2 > d) | ((r2 == d) & (q & 1)));
}

TL_INLINE int32_t clamp(int32_t v, int32_t lo, int32_t hi) {
    return v < lo ? lo : (v > hi ? hi : v);
}

/* Which input channel feeds the residual of each output (o * cin / cout), once per call. */
static void residual_channels(const tl_stage *st, int *src) {
    for (int o = 0; o < st->cout; o++) src[o] = o * st->cin / st->cout;
}

/* Output of one pixel from its row sums; res[c] is the requantised input of channel c. */
TL_INLINE void finish(const tl_stage *st, const int32_t *acc, const int8_t *res,
                      const int *res_src, int32_t d, int8_t *out) {
    for (int o = 0; o < st->cout; o++) {
        int32_t v = rne_div(acc[o], d);
        if (st->residual) v += res[res_src[o]];
        out[o] = (int8_t)clamp(v, st->out_lo, st->out_hi);
    }
}

/* ---------------------------------------------------------------- PW, any shape */

TL_INLINE void pw_generic_body(const tl_stage *st, const int8_t *in, int width, int8_t *out,
                               int32_t d) {
    const int cin = st->cin, cout = st->cout, in_n = st->in_n, in_lo = st->in_lo;
    int32_t acc[TL_MAX_CHANNELS];
    int8_t res[TL_MAX_CHANNELS];
    int res_src[TL_MAX_CHANNELS];
    residual_channels(st, res_src);
    for (int x = 0; x < width; x++, in += cin, out += cout) {
        memset(acc, 0, sizeof(int32_t) * (size_t)cout);
        for (int c = 0; c < cin; c++) {
            const int idx = c * in_n + (in[c] - in_lo);
            const int8_t *row = st->table + st->row_off[idx];
            res[c] = st->gval[idx];
            for (int o = 0; o < cout; o++) acc[o] += row[o];
        }
        finish(st, acc, res, res_src, d, out);
    }
}

/* ---------------------------------------------------------------- PW, 16 outputs */

TL_INLINE void pw16_body(const tl_stage *st, const int8_t *in, int width, int8_t *out,
                         int32_t d) {
    const int cin = st->cin, in_n = st->in_n, in_lo = st->in_lo;
    const int lo = st->out_lo, hi = st->out_hi, residual = st->residual;
    int8_t res[TL_MAX_CHANNELS];
    int res_src[16];
    residual_channels(st, res_src);
    for (int x = 0; x < width; x++, in += cin, out += 16) {
        int16_t acc[16] = {0};
        for (int c = 0; c < cin; c++) {
            const int idx = c * in_n + (in[c] - in_lo);
            const int8_t *row = st->table + st->row_off[idx];
            res[c] = st->gval[idx];
            for (int o = 0; o < 16; o++) acc[o] = (int16_t)(acc[o] + row[o]);
        }
        for (int o = 0; o < 16; o++) {
            int32_t v = rne_div(acc[o], d);
            if (residual) v += res[res_src[o]];
            out[o] = (int8_t)clamp(v, lo, hi);
        }
    }
}

/* ---------------------------------------------------------------- DW, any shape */

TL_INLINE void dw_generic_body(const tl_stage *st, const int8_t *const tap_rows[9],
                               const int tap_dx[9], int width, int8_t *out, int32_t d) {
    const int cin = st->cin, cout = st->cout, m = st->row_width;
    const int in_n = st->in_n, in_lo = st->in_lo;
    int32_t acc[TL_MAX_CHANNELS];
    int8_t res[TL_MAX_CHANNELS];
    int res_src[TL_MAX_CHANNELS];
    residual_channels(st, res_src);
    for (int x = 0; x < width; x++, out += cout) {
        memset(acc, 0, sizeof(int32_t) * (size_t)cout);
        for (int k = 0; k < 9; k++) {
            const int8_t *px = tap_rows[k] + (x + tap_dx[k]) * cin;
            const int8_t *tab = st->table + (size_t)k * st->tap_stride;
            for (int c = 0; c < cin; c++) {
                const int idx = c * in_n + (px[c] - in_lo);
                const int8_t *row = tab + st->row_off[idx];
                if (k == TL_CENTER_TAP) res[c] = st->gval[idx];
                for (int j = 0; j < m; j++) acc[c * m + j] += row[j];
            }
        }
        finish(st, acc, res, res_src, d, out);
    }
}

/* ---------------------------------------------------------------- DW, 1 input -> 16 outputs */

TL_INLINE void dw1x16_body(const tl_stage *st, const int8_t *const tap_rows[9],
                           const int tap_dx[9], int width, int8_t *out, int32_t d) {
    const int in_lo = st->in_lo, lo = st->out_lo, hi = st->out_hi, residual = st->residual;
    const int32_t stride = st->tap_stride;
    for (int x = 0; x < width; x++, out += 16) {
        int16_t acc[16] = {0};
        for (int k = 0; k < 9; k++) {
            const int v = tap_rows[k][x + tap_dx[k]] - in_lo;
            const int8_t *row = st->table + (size_t)k * stride + st->row_off[v];
            for (int o = 0; o < 16; o++) acc[o] = (int16_t)(acc[o] + row[o]);
        }
        const int32_t r = residual ? st->gval[tap_rows[TL_CENTER_TAP][x + tap_dx[TL_CENTER_TAP]] - in_lo] : 0;
        for (int o = 0; o < 16; o++) out[o] = (int8_t)clamp(rne_div(acc[o], d) + r, lo, hi);
    }
}

/* ---------------------------------------------------------------- entry points */

/* Instantiate a body for the common divisors so they are constants inside the loops. */
#define BY_DIVISOR(body, st, ...)                          \
    do {                                                   \
        switch ((st)->divisor) {                           \
        case 9: body(st, __VA_ARGS__, 9); break;           \
        case 16: body(st, __VA_ARGS__, 16); break;         \
        default: body(st, __VA_ARGS__, (st)->divisor); break; \
        }                                                  \
    } while (0)

static void pw_scalar(const tl_stage *st, const int8_t *in, int width, int8_t *out) {
    if (st->cout == 16)
        BY_DIVISOR(pw16_body, st, in, width, out);
    else
        BY_DIVISOR(pw_generic_body, st, in, width, out);
}

static void dw_scalar(const tl_stage *st, const int8_t *const tap_rows[9], const int tap_dx[9],
                      int width, int8_t *out) {
    if (st->cin == 1 && st->cout == 16)
        BY_DIVISOR(dw1x16_body, st, tap_rows, tap_dx, width, out);
    else
        BY_DIVISOR(dw_generic_body, st, tap_rows, tap_dx, width, out);
}

const tl_kernels tl_kernels_scalar = {dw_scalar, pw_scalar};
