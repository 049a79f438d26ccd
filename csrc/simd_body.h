/* The SIMD stage kernels, written once over a small vector interface and included by each
 * instruction-set file (stages_x86.c twice, stages_neon.c once) after it has defined:
 *
 *   TL_FN      the attributes of the inlined helpers here (static, inline, target(...))
 *   TL_ENTRY   the attributes of the kernels (static, target(...))
 *   NAME(x)    x with the path's suffix
 *   V(op)      the path's op on vs16, 16 int16 lanes (a register or a pair of them):
 *              zero set1 load(aligned int16) loadu store(int16) load8(16 int8, sign-extended)
 *              add sub and xor min max srai1 srai4 slli5 mullo div9 (x*7282>>16, 0<=x<2^15)
 *              perm_prep/permute (any 16-lane permutation),
 *              grp4 (offsets of 4 groups of 4 channels, see pw_offsets), grp4x2 (the same for
 *              two pixels of 16 channels: 32 bytes in, 8 offsets out),
 *              gather16 (lane i: tab[idx[i]] for uint16 indices; may read tab[idx[i] + 1]),
 *              pack8 (vs16 -> vb, saturated to -128..127), grp4v (grp4 of 16 int8 in a vb)
 *   vb         16 int8 lanes, with b_loadu b_storeu b_zlo b_zhi (interleave the low / high
 *              halves of two vectors, a first), packu8 (vs16 -> vb, saturated to 0..255),
 *              b_tr4x4 (transpose four vectors as 4 x 4 matrices of 32-bit elements),
 *              b_store3 / b_store4 (store 16 pixels of 3 / 4 channel vectors interleaved)
 *   vb2        32 int8 lanes, with b2_loadu b2_sub b2_set1 and lut64x2 (lane i of the 32 is
 *              tab[u[i]] for a 64-byte table of build_lut and 0 <= u[i] < 64, as int16: lanes
 *              0-15 in *a, 16-31 in *b)
 *
 * Per output pixel a stage adds n_fetch int16 rows whose byte offsets into the stage's
 * tables16 table are computed with vector arithmetic, 16 pixels (DW) or one pixel's channels
 * (PW) at a time, into a small offset block; the fetch loop then adds one row per offset
 * (read four per 64-bit load where TL_OFF4, kernels.h). Residual, requantisation and
 * segments are folded into the rows. */

#define BLOCK 16 /* pixels per offset block */

/* gather16 for paths without a gather instruction: through memory, lane by lane. */
TL_FN vs16 NAME(gather16_lanes)(const int16_t *tab, vs16 idx) {
    uint16_t i[16];
    int16_t g[16];
    V(store)((int16_t *)i, idx);
    for (int l = 0; l < 16; l++) g[l] = tab[i[l]];
    return V(loadu)(g);
}

TL_FN vs16 NAME(clamp)(vs16 v, vs16 lo, vs16 hi) { return V(min)(V(max)(v, lo), hi); }

/* 16 lanes stored as int8 / uint8, saturated. */
TL_FN void NAME(store8)(int8_t *p, vs16 a) { V(b_storeu)(p, V(pack8)(a)); }
TL_FN void NAME(storeu8)(uint8_t *p, vs16 a) { V(b_storeu)((int8_t *)p, V(packu8)(a)); }

/* Byte offsets of 16 table rows: value v of a fetch whose table part starts at base (v * 32). */
TL_FN vs16 NAME(off16)(vs16 v, vs16 base) { return V(add)(V(slli5)(v), base); }

/* Per-row constants of the DW offsets: where each tap's pixels start, and the offset terms. */
typedef struct {
    const int8_t *src[9]; /* tap k of pixel x: src[k][x] */
    vs16 base[9];         /* ungrouped: tap k's table base; grouped: group j's */
    int32_t ibase[9];
    vs16 w0, w1;          /* grouped: weights n * n * 32 and n * 32 of a group's first two taps */
} NAME(dw_consts);

TL_FN void NAME(dw_prep)(const tl_stage *st, const tl_stage16 *t, const int8_t *const tap_rows[9],
                         const int tap_dx[9], NAME(dw_consts) *k) {
    const int n = st->in_n, lo = st->in_lo;
    for (int i = 0; i < 9; i++) {
        k->src[i] = tap_rows[i] + tap_dx[i];
        /* value v of tap i: base + 32 v; group j: ((u0 * n + u1) * n + u2) rows of table j */
        k->ibase[i] = t->group == 1 ? (i * n - lo) * TL_ROW_BYTES
                                    : i < 3 ? (i * n * n * n - lo * (n * n + n + 1)) * TL_ROW_BYTES : 0;
        k->base[i] = V(set1)(k->ibase[i]);
    }
    k->w0 = V(set1)(n * n * TL_ROW_BYTES);
    k->w1 = V(set1)(n * TL_ROW_BYTES);
}

/* DW, one input channel: off[j * BLOCK + i] for pixel x0 + i and fetch j. */
TL_FN void NAME(dw_offsets)(const tl_stage *st, const tl_stage16 *t, const NAME(dw_consts) *k,
                            int x0, int nb, uint16_t *off, const int group) {
    const int n = st->in_n;
    if (group == 1) {
        for (int j = 0; j < 9; j++) {
            const int8_t *src = k->src[j] + x0;
            if (nb == BLOCK)
                V(store)((int16_t *)(off + j * BLOCK), NAME(off16)(V(load8)(src), k->base[j]));
            else
                for (int i = 0; i < nb; i++) off[j * BLOCK + i] = (uint16_t)(k->ibase[j] + src[i] * TL_ROW_BYTES);
        }
        return;
    }
    for (int j = 0; j < 3; j++) { /* groups of 3 taps */
        const int8_t *a = k->src[3 * j] + x0, *b = k->src[3 * j + 1] + x0, *c = k->src[3 * j + 2] + x0;
        if (nb == BLOCK) {
            vs16 v = V(add)(V(mullo)(V(load8)(a), k->w0), V(mullo)(V(load8)(b), k->w1));
            v = V(add)(V(add)(v, V(slli5)(V(load8)(c))), k->base[j]);
            V(store)((int16_t *)(off + j * BLOCK), v);
        } else {
            for (int i = 0; i < nb; i++)
                off[j * BLOCK + i] = (uint16_t)(k->ibase[j] + ((a[i] * n + b[i]) * n + c[i]) * TL_ROW_BYTES);
        }
    }
    (void)t;
}

/* Per-row constants of the PW offsets. */
typedef struct {
    vs16 base[TL_MAX_CHANNELS / 16]; /* ungrouped: (c * n - lo) * 32 for the 16 channels of chunk q */
    int32_t gbase[TL_MAX_CHANNELS / 4]; /* grouped: byte offset of group j's table */
    int8_t w[16];                       /* grouped: weights n^3, n^2, n, 1 of a group's values */
} NAME(pw_consts);

TL_FN void NAME(pw_prep)(const tl_stage *st, const tl_stage16 *t, NAME(pw_consts) *k) {
    const int n = st->in_n, lo = st->in_lo;
    for (int q = 0; q < st->cin / 16; q++) {
        int16_t b[16];
        for (int l = 0; l < 16; l++) b[l] = (int16_t)(((16 * q + l) * n - lo) * TL_ROW_BYTES);
        k->base[q] = V(loadu)(b);
    }
    if (t->group > 1) /* n_fetch = cin / 4 */
        for (int j = 0; j < t->n_fetch; j++) k->gbase[j] = j * t->rows * TL_ROW_BYTES;
    for (int l = 0; l < 16; l++) k->w[l] = (int8_t)(l % 4 == 0 ? n * n * n : l % 4 == 1 ? n * n : l % 4 == 2 ? n : 1);
}

/* PW: off[i * n_fetch + j] for pixel x0 + i and fetch j (a channel, or a group of 4). */
TL_FN void NAME(pw_offsets)(const tl_stage *st, const tl_stage16 *t, const NAME(pw_consts) *k,
                            const int8_t *in, int nb, uint16_t *off, const int cin, const int group) {
    const int n = st->in_n, lo = st->in_lo, nf = t->n_fetch;
    if (group == 1) {
        if (cin % 16 == 0) {
            for (int i = 0; i < nb; i++)
                for (int q = 0; q < cin / 16; q++)
                    V(store)((int16_t *)(off + i * nf + 16 * q),
                             NAME(off16)(V(load8)(in + i * cin + 16 * q), k->base[q]));
        } else {
            for (int i = 0; i < nb; i++)
                for (int c = 0; c < cin; c++)
                    off[i * nf + c] = (uint16_t)(((c * n - lo) + in[i * cin + c]) * TL_ROW_BYTES);
        }
        return;
    }
    /* groups of 4 channels: row ((u0 * n + u1) * n + u2) * n + u3 of group j, u = v - lo */
    if (cin == 16) { /* two pixels at a time: 8 groups, offsets of pixel i + 1 after pixel i's */
        int i = 0;
        for (; i + 1 < nb; i += 2) V(grp4x2)(in + i * 16, lo, k->w, k->gbase, off + i * 4);
        if (i < nb) V(grp4)(in + i * 16, lo, k->w, k->gbase, off + i * 4);
        return;
    }
    if (cin % 16 == 0) {
        for (int i = 0; i < nb; i++)
            for (int q = 0; q < cin / 16; q++)
                V(grp4)(in + i * cin + 16 * q, lo, k->w, k->gbase + 4 * q, off + i * nf + 4 * q);
        return;
    }
    for (int i = 0; i < nb; i++)
        for (int g = 0; g < nf; g++) {
            const int8_t *v = in + i * cin + 4 * g;
            const int u = (((v[0] - lo) * n + v[1] - lo) * n + v[2] - lo) * n + v[3] - lo;
            off[i * nf + g] = (uint16_t)(k->gbase[g] + u * TL_ROW_BYTES);
        }
}

/* rne(sum / d) + residual, clamped (the residual rides in the sum, see kernels.h); with
 * sat, the clamp is left to the saturating int8 store (output range -128 .. 127). */
TL_FN vs16 NAME(finish_sat)(vs16 s, int mode, int k2, int d, vs16 lo, vs16 hi, const int sat) {
    vs16 r;
    if (mode == TL_DIV_16) {
        /* the rows hold x + 7 (2 (x + 7) + p with k2): floor((x + 7 + c) / 16), c = 1 on a
         * tie (x = 8 mod 16) whose floor(x / 16) differs in parity from p; floor(x / 16) is
         * floor((x + 7) / 16) whenever c can matter, and when c cannot, any c gives the same. */
        const vs16 x7 = k2 ? V(srai1)(s) : s, q = V(srai4)(x7);
        const vs16 c = V(and)(k2 ? V(xor)(q, s) : q, V(set1)(1));
        r = V(srai4)(V(add)(x7, c));
    } else if (mode == TL_DIV_9) { /* no ties: floor((x + 4) / 9); the rows hold x + 4 + 9 * 1024 */
        r = V(sub)(V(div9)(s), V(set1)(1024));
    } else {
        vs16 x = s, p = V(zero)();
        if (k2) {
            p = V(and)(s, V(set1)(1));
            x = V(srai1)(s);
        }
        int16_t xs[16], ps[16];
        V(store)(xs, x);
        V(store)(ps, p);
        for (int l = 0; l < 16; l++) xs[l] = (int16_t)tl_rne_folded(xs[l], d, ps[l]);
        r = V(loadu)(xs);
    }
    return sat ? r : NAME(clamp)(r, lo, hi);
}

TL_FN vs16 NAME(finish)(vs16 s, int mode, int k2, int d, vs16 lo, vs16 hi) {
    return NAME(finish_sat)(s, mode, k2, d, lo, hi, 0);
}

/* Four uint16 offsets in one 64-bit load (offset p in bits 16p .. 16p + 15; TL_OFF4, kernels.h). */
TL_FN uint64_t NAME(off4)(const uint16_t *o) {
    uint64_t w;
    memcpy(&w, o, 8);
    return w;
}

/* The int16 row at offset p of the four packed in w (see off4). */
TL_FN vs16 NAME(row4)(const char *tab, uint64_t w, const int p) {
    /* offsets 1 and 3 need no mask: a 32-bit shift of the low half, a shift of 48 */
    const uint64_t o = p == 0 ? (uint16_t)w : p == 1 ? (uint32_t)w >> 16
                     : p == 2 ? (uint16_t)(w >> 32) : w >> 48;
    return V(load)((const int16_t *)(tab + o));
}

/* A pixel's result: its cout int8 channels at dst. */
TL_FN void NAME(put)(vs16 r, int8_t *dst, const int cout) {
    if (cout == 16) {
        NAME(store8)(dst, r);
    } else {
        int8_t tmp[16];
        NAME(store8)(tmp, r);
        memcpy(dst, tmp, (size_t)cout);
    }
}

/* A pixel's result: its cout int8 channels (out_grp 0), or the offsets of the next stage's
 * fetches (kernels.h, next_st): one per channel (out_grp 1, 16 channels) or per group of 4
 * (out_grp 4), as pw_offsets of the next stage would compute them from the int8 channels. */
TL_FN void NAME(put_out)(vs16 r, int8_t *dst, const int cout, const int out_grp, int next_lo,
                         const NAME(pw_consts) *kn) {
    if (out_grp == 1) V(store)((int16_t *)dst, NAME(off16)(r, kn->base[0]));
    else if (out_grp == 4) V(grp4v)(V(pack8)(r), next_lo, kn->w, kn->gbase, (uint16_t *)dst);
    else NAME(put)(r, dst, cout);
}

/* One row of a stage; kind, mode, k2, nf and the fusion flags (kernels.h: in_off, and out_grp,
 * the next stage's group when writing its offsets) are constants where it is inlined. */
TL_FN void NAME(stage_row)(const tl_stage *st, const tl_stage16 *t, const int8_t *in,
                           const int8_t *const tap_rows[9], const int tap_dx[9], int width,
                           int8_t *out, const int kind, const int mode, const int k2, const int nf,
                           const int cin, const int cout, const int group, const int sat,
                           const int in_off, const int out_grp) {
    uint16_t off[BLOCK * TL_MAX_CHANNELS] __attribute__((aligned(32)));
    const char *tab = (const char *)t->tab;
    const vs16 lo = V(set1)(st->out_lo), hi = V(set1)(st->out_hi);
    const int si = kind == TL_DW ? 1 : nf, sj = kind == TL_DW ? BLOCK : 1;
    const int ob = out_grp == 0 ? cout : out_grp == 1 ? 32 : 8; /* output bytes per pixel */
    const int keep_sat = sat && !out_grp;                    /* offsets need the clamp */
    const int next_lo = out_grp ? t->next_st->in_lo : 0;
    NAME(pw_consts) k, kn;
    NAME(dw_consts) kd;
    if (out_grp) {
        memset(&kn, 0, sizeof kn);
        NAME(pw_prep)(t->next_st, t->next_t, &kn);
    }
    if (kind == TL_PW) {
        memset(&k, 0, sizeof k);
        if (!in_off) NAME(pw_prep)(st, t, &k);
    } else {
        NAME(dw_prep)(st, t, tap_rows, tap_dx, &kd);
    }
    for (int x0 = 0; x0 < width; x0 += BLOCK) {
        const int nb = width - x0 < BLOCK ? width - x0 : BLOCK;
        if (kind == TL_DW) NAME(dw_offsets)(st, t, &kd, x0, nb, off, group);
        else if (!in_off) NAME(pw_offsets)(st, t, &k, in + x0 * cin, nb, off, cin, group);
        const uint16_t *o = kind == TL_PW && in_off ? (const uint16_t *)in + (ptrdiff_t)x0 * nf : off;
        int8_t *dst = out + (ptrdiff_t)x0 * ob;
        int i = 0;
#if TL_OFF4
        if (kind == TL_DW) { /* four pixels at a time: one 64-bit load gives a fetch's 4 offsets */
            for (; i + 4 <= nb; i += 4, o += 4, dst += 4 * ob) {
                vs16 s[4];
                uint64_t w = NAME(off4)(o);
#pragma GCC unroll 4
                for (int p = 0; p < 4; p++) s[p] = NAME(row4)(tab, w, p);
#pragma GCC unroll 9
                for (int j = 1; j < nf; j++) {
                    w = NAME(off4)(o + j * BLOCK);
#pragma GCC unroll 4
                    for (int p = 0; p < 4; p++)
                        s[p] = V(add)(s[p], NAME(row4)(tab, w, p));
                }
#pragma GCC unroll 4
                for (int p = 0; p < 4; p++)
                    NAME(put_out)(NAME(finish_sat)(s[p], mode, k2, st->divisor, lo, hi, keep_sat),
                                  dst + p * ob, cout, out_grp, next_lo, &kn);
            }
        }
#endif
        for (; i < nb; i++, o += si, dst += ob) {
            vs16 s;
#if TL_OFF4
            if (kind == TL_PW && nf % 4 == 0) { /* a pixel's offsets four per 64-bit load */
                s = V(zero)();
#pragma GCC unroll 4
                for (int j = 0; j < nf; j += 4) {
                    const uint64_t w = NAME(off4)(o + j);
#pragma GCC unroll 4
                    for (int p = 0; p < 4; p++)
                        s = V(add)(s, NAME(row4)(tab, w, p));
                }
            } else
#endif
            {
                s = V(load)((const int16_t *)(tab + o[0]));
#pragma GCC unroll 16
                for (int j = 1; j < nf; j++) s = V(add)(s, V(load)((const int16_t *)(tab + o[j * sj])));
            }
            NAME(put_out)(NAME(finish_sat)(s, mode, k2, st->divisor, lo, hi, keep_sat), dst, cout,
                          out_grp, next_lo, &kn);
        }
    }
}

/* Per-channel DW (cin == cout <= 16, row width 1; tables16 group 0): per tap, the 16 channel
 * values of the tap's pixel become indices (k * cin + c) * n + v - lo into the int16 table,
 * one gather each; residual and requantisation ride in the table as for the other stages. */
TL_FN void NAME(dwc_row)(const tl_stage *st, const tl_stage16 *t, const int8_t *const tap_rows[9],
                         const int tap_dx[9], int width, int8_t *out, const int mode, const int cin) {
    const int16_t *tab = t->tab;
    const int n = st->in_n;
    const vs16 lo = V(set1)(st->out_lo), hi = V(set1)(st->out_hi);
    vs16 base[9];
    for (int k = 0; k < 9; k++) {
        int16_t b[16];
        for (int c = 0; c < 16; c++) b[c] = (int16_t)(c < cin ? (k * cin + c) * n - st->in_lo : 0);
        base[k] = V(loadu)(b);
    }
    for (int x = 0; x < width; x++) {
        vs16 s = V(zero)();
        for (int k = 0; k < 9; k++) {
            const int8_t *px = tap_rows[k] + (ptrdiff_t)(x + tap_dx[k]) * cin;
            vs16 v;
            if (cin == 16) {
                v = V(load8)(px);
            } else {
                int8_t tmp[16] = {0};
                memcpy(tmp, px, (size_t)cin);
                v = V(load8)(tmp);
            }
            s = V(add)(s, V(gather16)(tab, V(add)(v, base[k])));
        }
        const vs16 r = NAME(finish)(s, mode, t->k2, st->divisor, lo, hi);
        NAME(put)(r, out + (ptrdiff_t)x * cin, cin);
    }
}

/* 16 rows of 16 bytes (src + i * ss) -> their transpose (dst + i * ds): four rounds of
 * interleaving row i with row i + 8 transpose a 16 x 16 matrix. */
TL_FN void NAME(tr16)(const int8_t *src, ptrdiff_t ss, int8_t *dst, ptrdiff_t ds) {
    vb a[16], b[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++) a[i] = V(b_loadu)(src + i * ss);
#pragma GCC unroll 4
    for (int r = 0; r < 4; r++) {
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++) {
            b[2 * i] = V(b_zlo)(a[i], a[i + 8]);
            b[2 * i + 1] = V(b_zhi)(a[i], a[i + 8]);
        }
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++) a[i] = b[i];
    }
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++) V(b_storeu)(dst + i * ds, a[i]);
}

#define DWC8_CHUNK 64                        /* output pixels per pass over the channels */
#define DWC8_PLANE (DWC8_CHUNK + 32)         /* a planar row: the chunk, its halo, slack */

/* Per-channel DW with byte tables (t->lut, see kernels.h): the window rows of a chunk of
 * pixels are transposed so that a vector holds one channel of consecutive pixels, each tap is one
 * 64-entry table look-up of 32 pixels, and the results are transposed back. The sum of the
 * nine int8 rows is rounded exactly as the int16 tables' TL_DIV_9 mode does, then the
 * residual (fetch 9) is added: rne(s / 9) + g = floor((s + 4) / 9) + g (no ties for 9). */
TL_FN void NAME(dwc8)(const tl_stage *st, const tl_stage16 *t, const int8_t *const tap_rows[9],
                      const int tap_dx[9], int width, int8_t *out) {
    int8_t planes[9][16][DWC8_PLANE] __attribute__((aligned(16)));
    int8_t res[16][DWC8_CHUNK] __attribute__((aligned(16)));
    const int8_t *rows[9];
    int n_rows = 0, which[9], lo_dx[9], hi_dx[9];
    for (int k = 0; k < 9; k++) { /* the distinct input rows and how far each tap reaches */
        int r = 0;
        while (r < n_rows && rows[r] != tap_rows[k]) r++;
        if (r == n_rows) {
            rows[n_rows++] = tap_rows[k];
            lo_dx[r] = hi_dx[r] = tap_dx[k];
        }
        lo_dx[r] = tap_dx[k] < lo_dx[r] ? tap_dx[k] : lo_dx[r];
        hi_dx[r] = tap_dx[k] > hi_dx[r] ? tap_dx[k] : hi_dx[r];
        which[k] = r;
    }
    const int center = tl_center_tap(st);
    const vb2 in_lo = V(b2_set1)(st->in_lo);
    const vs16 bias = V(set1)(4 + 9 * 1024), lo = V(set1)(st->out_lo), hi = V(set1)(st->out_hi);
    for (int x0 = 0; x0 < width; x0 += DWC8_CHUNK) {
        const int nb = width - x0 < DWC8_CHUNK ? width - x0 : DWC8_CHUNK;
        const int groups = (nb + 31) / 32; /* of 32 pixels */
        for (int r = 0; r < n_rows; r++) {
            /* pixels x0 + lo_dx .. x0 + nb - 1 + hi_dx exist (the rows' halo); the rest of
             * the groups the taps read is zero */
            const int span = nb + hi_dx[r] - lo_dx[r];
            const int8_t *src = rows[r] + (ptrdiff_t)(x0 + lo_dx[r]) * 16;
            for (int i = 0; i < 32 * groups + hi_dx[r] - lo_dx[r]; i += 16) {
                const int m = span - i < 16 ? span - i : 16;
                if (m == 16) {
                    NAME(tr16)(src + (ptrdiff_t)i * 16, 16, &planes[r][0][i], DWC8_PLANE);
                } else {
                    int8_t tmp[256] = {0};
                    if (m > 0) memcpy(tmp, src + (ptrdiff_t)i * 16, (size_t)m * 16);
                    NAME(tr16)(tmp, 16, &planes[r][0][i], DWC8_PLANE);
                }
            }
        }
        for (int c = 0; c < 16; c++) {
            for (int i = 0; i < 32 * groups; i += 32) {
                vs16 sa = bias, sb = bias, la, lb;
                vb2 ucen = in_lo;
#pragma GCC unroll 9
                for (int k = 0; k < 9; k++) {
                    const int8_t *p = &planes[which[k]][c][i + tap_dx[k] - lo_dx[which[k]]];
                    const vb2 u = V(b2_sub)(V(b2_loadu)(p), in_lo);
                    if (k == center) ucen = u;
                    V(lut64x2)(t->lut + (k * 16 + c) * 64, u, &la, &lb);
                    sa = V(add)(sa, la);
                    sb = V(add)(sb, lb);
                }
                V(lut64x2)(t->lut + (9 * 16 + c) * 64, ucen, &la, &lb); /* the residual */
                const vs16 m1024 = V(set1)(1024);
                NAME(store8)(&res[c][i], NAME(clamp)(V(add)(V(sub)(V(div9)(sa), m1024), la), lo, hi));
                NAME(store8)(&res[c][i + 16], NAME(clamp)(V(add)(V(sub)(V(div9)(sb), m1024), lb), lo, hi));
            }
        }
        for (int i = 0; i < nb; i += 16) {
            int8_t *dst = out + (ptrdiff_t)(x0 + i) * 16;
            if (nb - i >= 16) {
                NAME(tr16)(&res[0][i], DWC8_CHUNK, dst, 16);
            } else {
                int8_t tmp[256];
                NAME(tr16)(&res[0][i], DWC8_CHUNK, tmp, 16);
                memcpy(dst, tmp, (size_t)(nb - i) * 16);
            }
        }
    }
}

TL_FN void NAME(dwc)(const tl_stage *st, const tl_stage16 *t, const int8_t *const tap_rows[9],
                     const int tap_dx[9], int width, int8_t *out) {
    if (st->cin == 16 && t->mode == TL_DIV_9 && !t->k2)
        NAME(dwc_row)(st, t, tap_rows, tap_dx, width, out, TL_DIV_9, 16);
    else if (st->cin == 16)
        NAME(dwc_row)(st, t, tap_rows, tap_dx, width, out, t->mode, 16);
    else
        NAME(dwc_row)(st, t, tap_rows, tap_dx, width, out, t->mode, st->cin);
}

/* The shapes of TinyLUT-S and TinyLUT-F get constant loop counts, channel counts, divisors
 * and fusion flags; others the general loop. */
TL_FN void NAME(stage)(const tl_stage *st, const tl_stage16 *t, const int8_t *in,
                       const int8_t *const tap_rows[9], const int tap_dx[9], int width, int8_t *out) {
    const int kind = st->kind, mode = t->mode, k2 = t->k2, nf = t->n_fetch;
    const int sat = st->out_lo == -128 && st->out_hi == 127; /* the UP stages */
    const int in_off = t->in_off, out_grp = t->next_t ? t->next_t->group : 0;
#define TL_CASE(K, M, K2, NF, CIN, G, SAT, IN, OUT)                                             \
    if (kind == K && mode == M && k2 == K2 && nf == NF && st->cin == CIN && st->cout == 16 &&   \
        t->group == G && sat == SAT && in_off == IN && out_grp == OUT) {                        \
        NAME(stage_row)(st, t, in, tap_rows, tap_dx, width, out, K, M, K2, NF, CIN, 16, G, SAT, \
                        IN, OUT);                                                               \
        return;                                                                                 \
    }
    TL_CASE(TL_DW, TL_DIV_9, 0, 9, 1, 1, 0, 0, 1)     /* MSB DW -> PW */
    TL_CASE(TL_DW, TL_DIV_9, 0, 3, 1, 3, 0, 0, 4)     /* LSB DW -> PW */
    TL_CASE(TL_PW, TL_DIV_16, 1, 16, 16, 1, 0, 1, 1)  /* MSB PW -> UP */
    TL_CASE(TL_PW, TL_DIV_16, 1, 4, 16, 4, 0, 1, 4)   /* LSB PW -> UP */
    TL_CASE(TL_PW, TL_DIV_16, 1, 16, 16, 1, 1, 1, 0)  /* MSB UP */
    TL_CASE(TL_PW, TL_DIV_16, 1, 4, 16, 4, 1, 1, 0)   /* LSB UP */
    TL_CASE(TL_PW, TL_DIV_16, 1, 16, 16, 1, 0, 1, 0)  /* F: first PW -> block DW */
    TL_CASE(TL_PW, TL_DIV_16, 1, 16, 16, 1, 0, 0, 0)  /* F: block PW -> block DW */
    TL_CASE(TL_PW, TL_DIV_16, 1, 16, 16, 1, 0, 0, 1)  /* F: last block PW -> UP */
#undef TL_CASE
    if (kind == TL_DW)
        NAME(stage_row)(st, t, in, tap_rows, tap_dx, width, out, TL_DW, mode, k2, nf, st->cin, st->cout,
                        t->group, 0, 0, out_grp);
    else
        NAME(stage_row)(st, t, in, tap_rows, tap_dx, width, out, TL_PW, mode, k2, nf, st->cin, st->cout,
                        t->group, 0, in_off, out_grp);
}

TL_ENTRY void NAME(dw)(const tl_stage *st, const tl_stage16 *t, const int8_t *const tap_rows[9],
                     const int tap_dx[9], int width, int8_t *out) {
    if (!t || !t->simd) tl_kernels_scalar.dw(st, t, tap_rows, tap_dx, width, out);
    else if (t->group == 0 && t->lut) NAME(dwc8)(st, t, tap_rows, tap_dx, width, out);
    else if (t->group == 0) NAME(dwc)(st, t, tap_rows, tap_dx, width, out);
    else NAME(stage)(st, t, NULL, tap_rows, tap_dx, width, out);
}

TL_ENTRY void NAME(pw)(const tl_stage *st, const tl_stage16 *t, const int8_t *in, int width,
                     int8_t *out) {
    if (!t || !t->simd) tl_kernels_scalar.pw(st, t, in, width, out);
    else NAME(stage)(st, t, in, NULL, NULL, width, out);
}

/* The merge of rows of 16 sub-pixels, permuted or (permute = 0) in place already. */
TL_FN void NAME(merge16)(const int8_t *const rows[], int n_rows, int width, const vperm *ctrl,
                         int16_t *acc, const int permute, const int first) {
    const vs16 lo = V(set1)(-128), hi = V(set1)(127);
    if (n_rows == 2) { /* TinyLUT-S: MSB and LSB */
        const int8_t *a = rows[0], *b = rows[1];
        for (int x = 0; x < width; x++, a += 16, b += 16, acc += 16) {
            vs16 y = NAME(clamp)(V(add)(V(load8)(a), V(load8)(b)), lo, hi);
            if (permute) y = V(permute)(y, ctrl);
            V(store)(acc, first ? y : V(add)(V(loadu)(acc), y));
        }
        return;
    }
    for (int x = 0; x < width; x++) {
        vs16 y = V(load8)(rows[0] + 16 * x);
        for (int b = 1; b < n_rows; b++) y = V(add)(y, V(load8)(rows[b] + 16 * x));
        y = NAME(clamp)(y, lo, hi);
        if (permute) y = V(permute)(y, ctrl);
        V(store)(acc + 16 * x, first ? y : V(add)(V(loadu)(acc + 16 * x), y));
    }
}

TL_ENTRY void NAME(merge)(const int8_t *const rows[], int n_rows, int width, int s2, const int *perm,
                        int16_t *acc, int first) {
    if (s2 != 16) {
        tl_kernels_scalar.merge(rows, n_rows, width, s2, perm, acc, first);
        return;
    }
    int identity = 1;
    for (int t = 0; t < 16; t++) identity &= perm[t] == t;
    vperm ctrl;
    if (!identity) V(perm_prep)(perm, &ctrl);
    if (identity && first) NAME(merge16)(rows, n_rows, width, &ctrl, acc, 0, 1);
    else if (identity) NAME(merge16)(rows, n_rows, width, &ctrl, acc, 0, 0);
    else if (first) NAME(merge16)(rows, n_rows, width, &ctrl, acc, 1, 1);
    else NAME(merge16)(rows, n_rows, width, &ctrl, acc, 1, 0);
}

TL_ENTRY void NAME(emit)(const int16_t *acc, int width, int s, uint8_t *out, ptrdiff_t row_stride,
                       ptrdiff_t col_stride) {
    if (s != 4) {
        tl_kernels_scalar.emit(acc, width, s, out, row_stride, col_stride);
        return;
    }
    const vs16 bias = V(set1)(128); /* the unsigned saturation clamps (|acc| <= 4 * 128) */
    int x = 0;
    if (col_stride == 1) /* four pixels: their 4 x 4 blocks transposed give 16 bytes per row */
        for (; x + 4 <= width; x += 4) {
            vb px[4];
#pragma GCC unroll 4
            for (int q = 0; q < 4; q++) px[q] = V(packu8)(V(add)(V(loadu)(acc + 16 * (x + q)), bias));
            V(b_tr4x4)(px);
#pragma GCC unroll 4
            for (int a = 0; a < 4; a++) V(b_storeu)((int8_t *)(out + a * row_stride + 4 * x), px[a]);
        }
    for (; x < width; x++) {
        uint8_t px[16];
        NAME(storeu8)(px, V(add)(V(loadu)(acc + 16 * x), bias));
        for (int a = 0; a < 4; a++) {
            uint8_t *dst = out + a * row_stride + (ptrdiff_t)(4 * x) * col_stride;
            if (col_stride == 1) memcpy(dst, px + 4 * a, 4);
            else
                for (int b = 0; b < 4; b++) dst[b * col_stride] = px[4 * a + b];
        }
    }
}

TL_ENTRY void NAME(interleave)(const uint8_t *const planes[], int channels, int n, uint8_t *out,
                             ptrdiff_t col_stride, ptrdiff_t chan_stride) {
    int x = 0;
    if (chan_stride == 1 && col_stride == channels && (channels == 3 || channels == 4)) {
        const int8_t *const *p = (const int8_t *const *)planes;
        for (; x + 16 <= n; x += 16) {
            if (channels == 3)
                V(b_store3)((int8_t *)out + 3 * x, V(b_loadu)(p[0] + x), V(b_loadu)(p[1] + x),
                            V(b_loadu)(p[2] + x));
            else
                V(b_store4)((int8_t *)out + 4 * x, V(b_loadu)(p[0] + x), V(b_loadu)(p[1] + x),
                            V(b_loadu)(p[2] + x), V(b_loadu)(p[3] + x));
        }
    }
    if (x < n) {
        const uint8_t *rest[TL_MAX_IMAGE_CHANNELS];
        for (int c = 0; c < channels; c++) rest[c] = planes[c] + x;
        tl_kernels_scalar.interleave(rest, channels, n - x, out + (ptrdiff_t)x * col_stride, col_stride,
                                     chan_stride);
    }
}

/* A window-table branch (kernels.h, wt). The table indices of WT_RUN pixels first (taps 0-7 make
 * their low 16 bits, 16 pixels per vector of int16 lanes; tap 8 the top two), then one row read
 * per pixel: the reads then wait neither on the index arithmetic nor on the stores just made. */
#define WT_RUN 256
TL_ENTRY void NAME(wt)(const int8_t *const tap_rows[9], const int tap_dx[9], int width,
                       const int8_t *tab, const uint16_t *ids, int lanes, const uint8_t *ctl,
                       int8_t *out) {
    const int8_t *src[9];
    for (int k = 0; k < 9; k++) src[k] = tap_rows[k] + tap_dx[k];
    uint16_t lo[WT_RUN] __attribute__((aligned(32)));
    for (int x0 = 0; x0 < width; x0 += WT_RUN) {
        const int n = width - x0 < WT_RUN ? width - x0 : WT_RUN;
        int i = 0;
        for (; i + 16 <= n; i += 16) {
            vs16 s = V(load8)(src[0] + x0 + i);
#pragma GCC unroll 7
            for (int k = 1; k < 8; k++)
                s = V(add)(s, V(mullo)(V(load8)(src[k] + x0 + i), V(set1)(1 << (2 * k))));
            V(store)((int16_t *)(lo + i), s);
        }
        for (; i < n; i++) {
            unsigned v = 0;
            for (int k = 0; k < 8; k++) v |= (unsigned)(uint8_t)src[k][x0 + i] << (2 * k);
            lo[i] = (uint16_t)v;
        }
        const int8_t *t8 = src[8] + x0;
#define WT_INDEX(i) (lo[i] | (size_t)(uint8_t)t8[i] << 16) /* tap 8 makes bits 16-17 */
        if (lanes == 1) {
            for (i = 0; i < n; i++) out[x0 + i] = tab[WT_INDEX(i)];
        } else if (ids) {
            const vb shuf = V(b_loadu)((const int8_t *)ctl);
            int8_t *o = out + (ptrdiff_t)x0 * 16;
            for (i = 0; i < n; i++) {
                if (i + 24 < n) __builtin_prefetch(ids + WT_INDEX(i + 24));
                const int8_t *r = tab + (size_t)ids[WT_INDEX(i)] * 16;
                V(b_storeu)(o + 16 * i, V(b_shuf)(V(b_loadu)(r), shuf));
            }
        } else {
            const vb shuf = V(b_loadu)((const int8_t *)ctl);
            int8_t *o = out + (ptrdiff_t)x0 * 16;
            for (i = 0; i < n; i++) {
                if (i + 24 < n) __builtin_prefetch(tab + WT_INDEX(i + 24) * 16);
                V(b_storeu)(o + 16 * i, V(b_shuf)(V(b_loadu)(tab + WT_INDEX(i) * 16), shuf));
            }
        }
#undef WT_INDEX
    }
}
#undef WT_RUN

#undef BLOCK
#undef DWC8_CHUNK
#undef DWC8_PLANE

