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

/* a / d rounded half to even (d > 0) for |a| <= 64 * 128 (at most 64 int8 rows summed).
 * Called with a constant d in the hot loops, where the branches fold away and the 9 and 16
 * cases become a few vectorisable integer operations. */
TL_INLINE int32_t rne_div(int32_t a, int32_t d) {
    if (d == 16) /* floor((a + 8) / 16), minus one on a tie whose floor(a / 16) is even */
        return (a + 7 + ((a >> 4) & 1)) >> 4;
    if (d == 9) /* no ties: floor((a + 4) / 9), via 7282 / 65536 ~ 1 / 9, exact below 2^15 */
        return (int32_t)(((uint32_t)(a + 4 + 9 * 1024) * 7282u) >> 16) - 1024;
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

/* ---------------------------------------------------------------- 16-wide shapes
 * GNU C vector types: portable C that GCC and Clang lower to whatever the target has (SSE2
 * on baseline x86-64, NEON on aarch64, plain registers elsewhere). Other compilers take the
 * generic loops above, which compute the same values. */
#if defined(__GNUC__)
#define TL_HAVE_VEC16 1
typedef int16_t v16i16 __attribute__((vector_size(32)));
typedef int32_t v16i32 __attribute__((vector_size(64)));
typedef int8_t v16i8 __attribute__((vector_size(16)));

TL_INLINE v16i16 load_row16(const int8_t *p) {
    v16i8 r;
    memcpy(&r, p, 16);
    return __builtin_convertvector(r, v16i16);
}

TL_INLINE v16i16 rne_div16(v16i16 a, int32_t d) {
    if (d == 16) return (a + 7 + ((a >> 4) & 1)) >> 4;
    if (d == 9) {
        v16i32 x = __builtin_convertvector(a, v16i32) + (4 + 9 * 1024);
        return __builtin_convertvector((x * 7282) >> 16, v16i16) - 1024;
    }
    v16i16 q;
    for (int o = 0; o < 16; o++) q[o] = (int16_t)rne_div(a[o], d);
    return q;
}

/* out = clamp(rne(acc / d) + res, lo, hi) as 16 int8 */
TL_INLINE void store_out16(int8_t *out, v16i16 acc, v16i16 res, int32_t d, int lo, int hi) {
    v16i16 v = rne_div16(acc, d) + res;
    const v16i16 vlo = (v16i16){0} + (int16_t)lo, vhi = (v16i16){0} + (int16_t)hi;
    v16i16 below = v < vlo, above = v > vhi;
    v = (below & vlo) | (~below & v);
    v = (above & vhi) | (~above & v);
    v16i8 r = __builtin_convertvector(v, v16i8);
    memcpy(out, &r, 16);
}

/* PW with cin inputs and 16 outputs; same_channels: cin == 16 and output o's residual is
 * input channel o, so the residuals load as one vector. */
TL_INLINE void pw16_body(const tl_stage *st, const int8_t *in, int width, int8_t *out,
                         int same_channels, int32_t d) {
    const int cin = st->cin, in_n = st->in_n, in_lo = st->in_lo;
    const int lo = st->out_lo, hi = st->out_hi, residual = st->residual;
    int8_t res[TL_MAX_CHANNELS];
    int res_src[16];
    residual_channels(st, res_src);
    for (int x = 0; x < width; x++, in += cin, out += 16) {
        v16i16 acc = {0};
        for (int c = 0; c < cin; c++) {
            const int idx = c * in_n + (in[c] - in_lo);
            acc += load_row16(st->table + st->row_off[idx]);
            res[c] = st->gval[idx];
        }
        v16i16 r = {0};
        if (residual && same_channels) r = load_row16(res);
        else if (residual)
            for (int o = 0; o < 16; o++) r[o] = res[res_src[o]];
        store_out16(out, acc, r, d, lo, hi);
    }
}

TL_INLINE void pw16x16_body(const tl_stage *st, const int8_t *in, int width, int8_t *out,
                            int32_t d) {
    pw16_body(st, in, width, out, 1, d);
}

TL_INLINE void pw16xn_body(const tl_stage *st, const int8_t *in, int width, int8_t *out,
                           int32_t d) {
    pw16_body(st, in, width, out, 0, d);
}

/* DW with one input channel and 16 outputs (the first stage of TinyLUT-S). */
TL_INLINE void dw1x16_body(const tl_stage *st, const int8_t *const tap_rows[9],
                           const int tap_dx[9], int width, int8_t *out, int32_t d) {
    const int in_lo = st->in_lo, lo = st->out_lo, hi = st->out_hi, residual = st->residual;
    const int32_t stride = st->tap_stride;
    const int ct = tl_center_tap(st);
    for (int x = 0; x < width; x++, out += 16) {
        v16i16 acc = {0};
        for (int k = 0; k < 9; k++) {
            const int v = tap_rows[k][x + tap_dx[k]] - in_lo;
            acc += load_row16(st->table + (size_t)k * stride + st->row_off[v]);
        }
        const int16_t r = residual ? st->gval[tap_rows[ct][x + tap_dx[ct]] - in_lo] : 0;
        store_out16(out, acc, (v16i16){0} + r, d, lo, hi);
    }
}

/* DW with 16 channels in and out, one column per channel (the blocks of TinyLUT-F): output
 * channel c sums its own channel's 9 taps. */
TL_INLINE void dw16x16_body(const tl_stage *st, const int8_t *const tap_rows[9],
                            const int tap_dx[9], int width, int8_t *out, int32_t d) {
    const int in_n = st->in_n, in_lo = st->in_lo, lo = st->out_lo, hi = st->out_hi;
    int32_t off[16];
    for (int c = 0; c < 16; c++) off[c] = c * in_n - in_lo;
    for (int x = 0; x < width; x++, out += 16) {
        v16i16 acc = {0}, r = {0};
        for (int k = 0; k < 9; k++) {
            const int8_t *px = tap_rows[k] + (x + tap_dx[k]) * 16;
            const int8_t *tab = st->table + (size_t)k * st->tap_stride;
            for (int c = 0; c < 16; c++) acc[c] = (int16_t)(acc[c] + tab[st->row_off[off[c] + px[c]]]);
        }
        if (st->residual) {
            const int ct = tl_center_tap(st);
            const int8_t *px = tap_rows[ct] + (x + tap_dx[ct]) * 16;
            for (int c = 0; c < 16; c++) r[c] = st->gval[off[c] + px[c]];
        }
        store_out16(out, acc, r, d, lo, hi);
    }
}
#endif

/* ---------------------------------------------------------------- DW, any shape */

TL_INLINE void dw_generic_body(const tl_stage *st, const int8_t *const tap_rows[9],
                               const int tap_dx[9], int width, int8_t *out, int32_t d) {
    const int cin = st->cin, cout = st->cout, m = st->row_width;
    const int in_n = st->in_n, in_lo = st->in_lo, ct = tl_center_tap(st);
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
                if (k == ct) res[c] = st->gval[idx];
                for (int j = 0; j < m; j++) acc[c * m + j] += row[j];
            }
        }
        finish(st, acc, res, res_src, d, out);
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

static void pw_scalar(const tl_stage *st, const tl_stage16 *t, const int8_t *in, int width,
                      int8_t *out) {
    (void)t;
#ifdef TL_HAVE_VEC16
    if (st->cout == 16 && st->cin == 16) {
        BY_DIVISOR(pw16x16_body, st, in, width, out);
        return;
    }
    if (st->cout == 16) {
        BY_DIVISOR(pw16xn_body, st, in, width, out);
        return;
    }
#endif
    BY_DIVISOR(pw_generic_body, st, in, width, out);
}

static void dw_scalar(const tl_stage *st, const tl_stage16 *t, const int8_t *const tap_rows[9],
                      const int tap_dx[9], int width, int8_t *out) {
    (void)t;
#ifdef TL_HAVE_VEC16
    if (st->cin == 1 && st->cout == 16) {
        BY_DIVISOR(dw1x16_body, st, tap_rows, tap_dx, width, out);
        return;
    }
    if (st->cin == 16 && st->cout == 16) {
        BY_DIVISOR(dw16x16_body, st, tap_rows, tap_dx, width, out);
        return;
    }
#endif
    BY_DIVISOR(dw_generic_body, st, tap_rows, tap_dx, width, out);
}

/* ---------------------------------------------------------------- merge and emit */

static void merge_scalar(const int8_t *const rows[], int n_rows, int width, int s2,
                         const int *perm, int16_t *acc, int first) {
    for (int x = 0; x < width; x++, acc += s2)
        for (int t = 0; t < s2; t++) {
            int32_t v = 0;
            for (int b = 0; b < n_rows; b++) v += rows[b][x * s2 + t];
            acc[perm[t]] = (int16_t)((first ? 0 : acc[perm[t]]) + clamp(v, -128, 127));
        }
}

static void emit_scalar(const int16_t *acc, int width, int s, uint8_t *out, ptrdiff_t row_stride,
                        ptrdiff_t col_stride) {
    for (int x = 0; x < width; x++, acc += s * s)
        for (int a = 0; a < s; a++)
            for (int b = 0; b < s; b++)
                out[a * row_stride + (ptrdiff_t)(x * s + b) * col_stride] =
                    (uint8_t)(clamp(acc[a * s + b], -128, 127) + 128);
}

static void interleave_scalar(const uint8_t *const planes[], int channels, int n, uint8_t *out,
                              ptrdiff_t col_stride, ptrdiff_t chan_stride) {
    for (int c = 0; c < channels; c++)
        for (int x = 0; x < n; x++) out[(ptrdiff_t)x * col_stride + c * chan_stride] = planes[c][x];
}

const tl_kernels tl_kernels_scalar = {0, dw_scalar, pw_scalar, merge_scalar, emit_scalar,
                                      interleave_scalar, NULL, 0}; /* the reference: no window tables */
