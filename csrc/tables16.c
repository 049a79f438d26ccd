/* int16 stage tables for the SIMD paths (layout in kernels.h), built once per call.
 *
 * A stage the SIMD kernels cannot take exactly (DW with several input channels, more than 16
 * outputs, sums that could leave int16, tables past 64 KiB) keeps simd = 0 and runs the
 * scalar kernel; the result is the same either way. */
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

void tl_stage16_free(tl_stage16 *t) {
    free(t->mem);
    memset(t, 0, sizeof *t);
}

/* The 16 lanes that input item `item` (a DW tap, or a PW channel) with value index u adds:
 * its table row, times k, and the folded residual on the lanes it feeds. */
static void item_row(const tl_stage *st, int item, int u, int k, int32_t *row) {
    const int dw = st->kind == TL_DW, c = dw ? 0 : item, tap = dw ? item : 0;
    const int idx = c * st->in_n + u;
    const int8_t *src = st->table + (size_t)tap * (size_t)st->tap_stride + st->row_off[idx];
    for (int o = 0; o < TL_LANES; o++) row[o] = o < st->cout ? k * src[o] : 0; /* DW: cin == 1 */
    if (st->residual && (!dw || tap == tl_center_tap(st))) {
        const int g = st->gval[idx];
        for (int o = 0; o < st->cout; o++)
            if (o * st->cin / st->cout == c) row[o] += k * st->divisor * g + (k == 2 ? (g & 1) : 0);
    }
}

/* The rounding constants of the /16 and /9 modes ride in the rows of fetch 0 (see
 * kernels.h), so a kernel's finish does not add them. */
static void fold_bias(tl_stage16 *t, size_t fetch0_elems) {
    const int bias = t->mode == TL_DIV_16 ? (t->k2 ? 14 : 7) : t->mode == TL_DIV_9 ? 4 + 9 * 1024 : 0;
    for (size_t i = 0; i < fetch0_elems; i++) t->tab[i] = (int16_t)(t->tab[i] + bias);
}

/* The byte tables of a per-channel DW with 16 channels and <= 64 values (layout in kernels.h;
 * zero past in_n, where no input value points). */
static void build_lut(const tl_stage *st, int8_t *lut) {
    const int n = st->in_n;
    for (int f = 0; f < TL_LUT_FETCHES; f++)
        for (int c = 0; c < 16; c++) {
            int8_t *raw = lut + (f * 16 + c) * 64, *x = raw + TL_LUT_PLANE;
            for (int u = 0; u < n; u++) {
                const int idx = c * n + u;
                raw[u] = f < 9 ? st->table[(size_t)f * (size_t)st->tap_stride + st->row_off[idx]]
                               : (st->residual ? st->gval[idx] : 0);
            }
            for (int i = 0; i < 64; i++) x[i] = (int8_t)(i < 16 ? raw[i] : raw[i] ^ raw[i - 16]);
        }
}

/* Per-channel DW (cin == cout, row width 1): one int16 per (tap, channel, value). */
static int build_dwc(const tl_stage *st, tl_stage16 *t) {
    const int n = st->in_n, c_n = st->cin, d = st->divisor;
    const size_t elems = (size_t)9 * (size_t)c_n * (size_t)n;
    if (elems > 65535 - 2) return TL_OK; /* indices are uint16 (a gather may read 2 past) */
    t->k2 = st->residual && d % 2 == 0;
    const int k = t->k2 ? 2 : 1;
    const int bytes_ok = c_n == 16 && n <= 64 && d == 9;
    const size_t tab_bytes = ((elems + 16 + 32) * sizeof(int16_t) + 63) & ~(size_t)63;
    t->mem = calloc(tab_bytes + (bytes_ok ? TL_LUT_BYTES : 0) + 64, 1);
    if (!t->mem) return TL_ERR_NOMEM;
    t->tab = (int16_t *)(((uintptr_t)t->mem + 63) & ~(uintptr_t)63);
    if (bytes_ok) build_lut(st, t->lut = (int8_t *)t->tab + tab_bytes);
    int32_t b = 0;
    for (int c = 0; c < c_n; c++) {
        int32_t bound = 0;
        for (int tap = 0; tap < 9; tap++) {
            int32_t m = 0;
            for (int u = 0; u < n; u++) {
                const int idx = c * n + u;
                int32_t v = k * st->table[(size_t)tap * (size_t)st->tap_stride + st->row_off[idx]];
                if (st->residual && tap == tl_center_tap(st)) {
                    const int g = st->gval[idx];
                    v += k * d * g + (k == 2 ? (g & 1) : 0);
                }
                t->tab[((size_t)tap * c_n + c) * n + u] = (int16_t)v;
                if ((v < 0 ? -v : v) > m) m = v < 0 ? -v : v;
            }
            bound += m;
        }
        if (bound > b) b = bound;
    }
    if (b > 32000) {
        tl_stage16_free(t);
        return TL_OK;
    }
    const int32_t xb = t->k2 ? b / 2 + 1 : b;
    t->mode = d == 16 ? TL_DIV_16 : (d == 9 && xb <= 9220) ? TL_DIV_9 : TL_DIV_ANY;
    fold_bias(t, (size_t)c_n * (size_t)n); /* tap 0 of every channel */
    t->group = 0;
    t->n_fetch = 9;
    t->rows = n;
    t->simd = 1;
    return TL_OK;
}

int tl_stage16_build(const tl_stage *st, tl_stage16 *t) {
    memset(t, 0, sizeof *t);
    const int n = st->in_n, d = st->divisor;
    if (st->kind == TL_DW && st->cin == st->cout && st->cin > 1 && st->cin <= TL_LANES)
        return build_dwc(st, t);
    if (st->cout > TL_LANES || (st->kind == TL_DW && st->cin != 1)) return TL_OK;
    if (st->kind == TL_DW) {
        t->group = n <= 4 ? 3 : 1;
        t->n_fetch = 9 / t->group;
    } else {
        t->group = (n <= 4 && st->cin % 4 == 0) ? 4 : 1;
        t->n_fetch = st->cin / t->group;
    }
    t->rows = 1;
    for (int i = 0; i < t->group; i++) t->rows *= n;
    const size_t bytes = (size_t)t->n_fetch * (size_t)t->rows * TL_ROW_BYTES;
    if (bytes > TL_TABLE16_MAX_BYTES) return TL_OK;
    t->k2 = st->residual && d % 2 == 0;
    const int k = t->k2 ? 2 : 1;

    t->mem = malloc(bytes + 63);
    if (!t->mem) return TL_ERR_NOMEM;
    t->tab = (int16_t *)(((uintptr_t)t->mem + 63) & ~(uintptr_t)63);

    /* grouped fetches sum the rows of their items: compute those once */
    const int items = t->n_fetch * t->group;
    int32_t *item_rows = NULL;
    if (t->group > 1) {
        item_rows = malloc(sizeof(int32_t) * (size_t)items * (size_t)n * TL_LANES);
        if (!item_rows) {
            tl_stage16_free(t);
            return TL_ERR_NOMEM;
        }
        for (int it = 0; it < items; it++)
            for (int u = 0; u < n; u++) item_row(st, it, u, k, item_rows + ((size_t)it * n + u) * TL_LANES);
    }
    int32_t bound[TL_LANES] = {0}; /* sum over fetches of the largest |entry| per lane */
    for (int f = 0; f < t->n_fetch; f++) {
        int32_t fmax[TL_LANES] = {0};
        for (int r = 0; r < t->rows; r++) {
            int32_t row[TL_LANES] = {0};
            if (t->group == 1) {
                item_row(st, f, r, k, row);
            } else { /* r = ((u0 * n + u1) * n + u2) ...: u0 is the first item of the group */
                for (int i = t->group - 1, rem = r; i >= 0; i--, rem /= n) {
                    const int32_t *ir = item_rows + ((size_t)(f * t->group + i) * n + rem % n) * TL_LANES;
                    for (int o = 0; o < TL_LANES; o++) row[o] += ir[o];
                }
            }
            int16_t *dst = t->tab + ((size_t)f * (size_t)t->rows + (size_t)r) * TL_LANES;
            for (int o = 0; o < TL_LANES; o++) {
                const int32_t a = row[o] < 0 ? -row[o] : row[o];
                if (a > fmax[o]) fmax[o] = a;
                dst[o] = (int16_t)row[o];
            }
        }
        for (int o = 0; o < TL_LANES; o++) bound[o] += fmax[o];
    }
    free(item_rows);
    int32_t b = 0;
    for (int o = 0; o < TL_LANES; o++) b = bound[o] > b ? bound[o] : b;
    if (b > 32000) { /* a sum (plus the rounding constants) could overflow int16 */
        tl_stage16_free(t);
        return TL_OK;
    }
    const int32_t xb = t->k2 ? b / 2 + 1 : b; /* bound of the folded sum x */
    /* /9 as a 16-bit multiply-high is exact while x + 9220 stays in 0 .. 32767 */
    t->mode = d == 16 ? TL_DIV_16 : (d == 9 && xb <= 9220) ? TL_DIV_9 : TL_DIV_ANY;
    fold_bias(t, (size_t)t->rows * TL_LANES);
    t->simd = 1;
    return TL_OK;
}

int tl_stage16_permuted(const tl_stage16 *src, const int *perm, tl_stage16 *dst) {
    memset(dst, 0, sizeof *dst);
    if (!src->simd || src->group == 0) return TL_OK; /* per-channel DW rows are not lanes */
    const size_t rows = (size_t)src->n_fetch * (size_t)src->rows;
    *dst = *src;
    dst->mem = malloc(rows * TL_ROW_BYTES + 63);
    if (!dst->mem) {
        memset(dst, 0, sizeof *dst);
        return TL_ERR_NOMEM;
    }
    dst->tab = (int16_t *)(((uintptr_t)dst->mem + 63) & ~(uintptr_t)63);
    for (size_t r = 0; r < rows; r++)
        for (int t = 0; t < TL_LANES; t++) dst->tab[r * TL_LANES + perm[t]] = src->tab[r * TL_LANES + t];
    return TL_OK;
}
