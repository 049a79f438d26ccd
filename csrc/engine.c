/* The band loop: split, rotations, stages, branch merge, pixel shuffle, rotation ensemble.
 *
 * Rotations are not done by rotating the image: for rotation r every stage runs in the
 * original frame, and a DW tap at window offset (di, dj) of the rotated frame reads the
 * original pixel at rot(r, di, dj); the scale x scale sub-pixels are rotated back the same
 * way. Reflect padding commutes with rotation, so this is exactly the rotated computation.
 * Orientations 4..7 (models of 8 "rotations") are rotations 0..3 of the transposed image: the
 * same, with the offsets and sub-pixels transposed; their sum of eight is halved.
 *
 * Work goes band by band of output rows. For a band every stage computes the rows the next
 * stage needs (a DW stage needs up to 2 more), so intermediate feature rows stay in cache and
 * bands are independent: splitting the image into row ranges never changes the result.
 * A stage runs a whole row before the next stage starts: one table is in use at a time, which
 * keeps it in L1 (a per-pixel fusion of all stages, tried, reads six tables per pixel and was
 * slower for it despite fewer instructions). The branch inputs are split once per band for
 * all rotations. The channels of a multi-channel image go one after another within a band,
 * into planes that are interleaved into the output at the end of the band.
 *
 * What a path precomputes from the model (tl_prepared: the SIMD paths' int16 tables) is made
 * once by tl_prepare and only read here, so threads share it. */
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

#define HALO 2                     /* pixels of reflected halo left and right of each row */
#define BAND_TARGET_BYTES (48 << 10) /* aim for feature rows of one band within this */

static int reflect(int i, int n) { /* numpy's 'reflect' padding: period 2(n - 1) */
    if (n == 1) return 0;
    const int p = 2 * (n - 1);
    i %= p;
    if (i < 0) i += p;
    return i < n ? i : p - i;
}

static void swap_ints(int *a, int *b) {
    const int t = *a;
    *a = *b;
    *b = t;
}

/* Original-frame offset of rotated-frame offset (di, dj) for np.rot90(x, r), r < 4, or for
 * np.rot90(x.T, r - 4). */
static void rotate_offset(int r, int di, int dj, int *dy, int *dx) {
    switch (r % 4) {
    case 0: *dy = di; *dx = dj; break;
    case 1: *dy = dj; *dx = -di; break;
    case 2: *dy = -di; *dx = -dj; break;
    default: *dy = -dj; *dx = di; break;
    }
    if (r >= 4) swap_ints(dy, dx);
}

/* Original-frame sub-pixel of rotated-frame sub-pixel (a, b) in an s x s block. */
static void rotate_subpixel(int r, int s, int a, int b, int *A, int *B) {
    switch (r % 4) {
    case 0: *A = a; *B = b; break;
    case 1: *A = b; *B = s - 1 - a; break;
    case 2: *A = s - 1 - a; *B = s - 1 - b; break;
    default: *A = s - 1 - b; *B = a; break;
    }
    if (r >= 4) swap_ints(A, B);
}

/* Where merge puts sub-pixel t of rotation r: the rotated-back position in the s x s block. */
static void rotation_perm(int r, int s, int *perm) {
    for (int t = 0; t < s * s; t++) {
        int A, B;
        rotate_subpixel(r, s, t / s, t % s, &A, &B);
        perm[t] = A * s + B;
    }
}

typedef struct {       /* rows [row0, row0 + rows) of one feature map, with a halo each side */
    int8_t *data;
    int row0, rows, channels;
    ptrdiff_t stride;  /* bytes per row: (width + 2 * HALO) * channels */
} feature_rows;

static int8_t *row_at(const feature_rows *f, int y) { /* pixel 0 of image row y */
    return f->data + (ptrdiff_t)(y - f->row0) * f->stride + HALO * f->channels;
}

static void fill_halo(int8_t *row, int width, int channels) {
    for (int x = -HALO; x < 0; x++)
        memcpy(row + x * channels, row + reflect(x, width) * channels, (size_t)channels);
    for (int x = width; x < width + HALO; x++)
        memcpy(row + x * channels, row + reflect(x, width) * channels, (size_t)channels);
}

static int in_range(int v, int lo, int hi) { return v >= lo && v <= hi; }

int tl_check_model(const tl_model *m) {
    if (!m || !in_range(m->scale, 1, TL_MAX_SCALE) ||
        !(m->rotations == 1 || m->rotations == 2 || m->rotations == 4 || m->rotations == 8) ||
        !in_range(m->n_branches, 1, TL_MAX_BRANCHES) || !m->branches)
        return TL_ERR_ARG;
    for (int b = 0; b < m->n_branches; b++) {
        const tl_branch *br = &m->branches[b];
        if (!in_range(br->n_stages, 1, TL_MAX_STAGES) || !br->stages ||
            !in_range(br->bits, 0, 7) || br->split < TL_SPLIT_MSB || br->split > TL_SPLIT_FULL)
            return TL_ERR_ARG;
        int lo = br->split == TL_SPLIT_MSB ? -128 >> br->bits : br->split == TL_SPLIT_LSB ? 0 : -128;
        int hi = br->split == TL_SPLIT_MSB ? 127 >> br->bits
                 : br->split == TL_SPLIT_LSB ? (1 << br->bits) - 1 : 127;
        int channels = 1;
        for (int s = 0; s < br->n_stages; s++) {
            const tl_stage *st = &br->stages[s];
            if ((st->kind != TL_DW && st->kind != TL_PW) || st->cin != channels ||
                !in_range(st->cin, 1, TL_MAX_CHANNELS) ||
                !in_range(st->cout, 1, TL_MAX_CHANNELS) || st->divisor < 1 ||
                st->in_lo != lo || st->in_n != hi - lo + 1 || st->out_lo < -128 ||
                st->out_hi > 127 || st->out_lo > st->out_hi || st->tap_stride < 0 ||
                !st->row_off || !st->gval || !st->table)
                return TL_ERR_ARG;
            if (st->kind == TL_DW && st->cout % st->cin) return TL_ERR_ARG;
            if (st->centred != 0 && (st->centred != 1 || st->kind != TL_DW)) return TL_ERR_ARG;
            /* a dilated window is centred; reach 2 each way, as the rows' halo */
            if (st->dilation != 0 && st->dilation != 1 && (st->dilation != 2 || !st->centred))
                return TL_ERR_ARG;
            if (st->residual && st->cout % st->cin) return TL_ERR_ARG;
            if (st->row_width != (st->kind == TL_DW ? st->cout / st->cin : st->cout))
                return TL_ERR_ARG;
            for (int i = 0; i < st->cin * st->in_n; i++)
                if (st->row_off[i] < 0 || st->row_off[i] > st->tap_stride - st->row_width)
                    return TL_ERR_ARG;
            lo = st->out_lo;
            hi = st->out_hi;
            channels = st->cout;
        }
        if (channels != m->scale * m->scale || lo < -128 || hi > 127) return TL_ERR_ARG;
    }
    return TL_OK;
}

/* Tap offsets of a DW stage at rotation r: tap k of pixel (y, x) reads (y + dy[k], x + dx[k]). */
static void tap_offsets(const tl_stage *st, int r, int *dy, int *dx) {
    const int o = tl_window_origin(st), d = tl_dilation(st);
    for (int k = 0; k < 9; k++) rotate_offset(r, (k / 3 - o) * d, (k % 3 - o) * d, &dy[k], &dx[k]);
}

/* Rows of the input of stage s needed for its output rows [a, b). */
static void input_rows(const tl_stage *st, int r, int height, int a, int b, int *ia, int *ib) {
    if (st->kind != TL_DW) {
        *ia = a;
        *ib = b;
        return;
    }
    int dy[9], dx[9];
    tap_offsets(st, r, dy, dx);
    int lo = height, hi = -1;
    for (int k = 0; k < 9; k++) {
        if (a + dy[k] >= 0 && b - 1 + dy[k] < height) { /* no reflection: the ends suffice */
            if (a + dy[k] < lo) lo = a + dy[k];
            if (b - 1 + dy[k] > hi) hi = b - 1 + dy[k];
            continue;
        }
        for (int y = a; y < b; y++) {
            const int yy = reflect(y + dy[k], height);
            if (yy < lo) lo = yy;
            if (yy > hi) hi = yy;
        }
    }
    *ia = lo;
    *ib = hi + 1;
}

struct tl_prepared {
    const tl_model *m;
    int isa;
    const tl_kernels *k;
    tl_stage16 t16[TL_MAX_BRANCHES][TL_MAX_STAGES]; /* SIMD tables (tables16 paths only) */
    /* the last stage of each branch with its lanes in rotation r's output order (r = 1 .. 7;
     * rotation 0 is t16 itself), when every branch has one: then the merge does not permute */
    tl_stage16 last_rot[TL_MAX_BRANCHES][TL_MAX_ORIENTATIONS];
    int last_rotated;
    /* window tables (kernels.h): a branch's output row for each of its 4^9 input windows */
    int8_t *wtab[TL_MAX_BRANCHES];
    uint16_t *wt_ids[TL_MAX_BRANCHES]; /* with 16 lanes: the state of each window, a row of wtab */
    uint8_t wt_ctl[TL_MAX_ORIENTATIONS][16]; /* 16-lane rows: the byte shuffle of rotation r's
                                                lane order */
};

/* Bytes per pixel of branch b's level s (the input of stage s): 1 at the branch input, else the
 * features of stage s - 1, or stage s's fetch offsets when stage s - 1 writes them. */
static int level_channels(const tl_prepared *p, int b, int s) {
    if (s == 0) return 1;
    const tl_stage16 *before = &p->t16[b][s - 1];
    return before->next_t ? 2 * p->t16[b][s].n_fetch : p->m->branches[b].stages[s - 1].cout;
}

void tl_prepared_free(tl_prepared *p) {
    if (!p) return;
    for (int b = 0; b < TL_MAX_BRANCHES; b++)
        for (int s = 0; s < TL_MAX_STAGES; s++) tl_stage16_free(&p->t16[b][s]);
    for (int b = 0; b < TL_MAX_BRANCHES; b++)
        for (int r = 0; r < TL_MAX_ORIENTATIONS; r++) tl_stage16_free(&p->last_rot[b][r]);
    for (int b = 0; b < TL_MAX_BRANCHES; b++) {
        free(p->wtab[b]);
        free(p->wt_ids[b]);
    }
    free(p);
}

#define WT_BITS 2                     /* two-bit inputs: the LSB split of TinyLUT */
#define WT_ENTRIES (1 << (9 * WT_BITS)) /* windows of 3 x 3 of them */
#define WT_CHUNK 2048                   /* windows evaluated per kernel call */

/* 1 if branch b's output is a function of its 3x3 window of two-bit inputs (kernels.h) and this
 * path has a window-table kernel for its output width. */
static int window_table_fits(const tl_prepared *p, int b) {
    const tl_branch *br = &p->m->branches[b];
    const int lanes = br->stages[br->n_stages - 1].cout;
    if (!p->k->wt || br->split != TL_SPLIT_LSB || br->bits != WT_BITS ||
        br->stages[0].kind != TL_DW || br->stages[0].cin != 1 || (lanes != 1 && lanes != 16))
        return 0;
    for (int s = 1; s < br->n_stages; s++)
        if (br->stages[s].kind != TL_PW) return 0;
    /* the smallest form: a byte per window, or a uint16 state per window and a row */
    return (lanes == 1 ? (size_t)WT_ENTRIES : (size_t)WT_ENTRIES * 2 + 16) <= p->k->wt_max_bytes;
}

/* FNV-1a of n bytes: the hash of a branch state while the window tables are built. */
static uint32_t state_hash(const int8_t *v, int n) {
    uint32_t h = 2166136261u;
    for (int i = 0; i < n; i++) h = (h ^ (uint8_t)v[i]) * 16777619u;
    return h;
}

/* Branch b's window table. Its first stage (the DW) runs on every window, WT_CHUNK windows at a
 * time laid out as one row per tap (window e has value (e >> 2k) & 3 at tap k); windows that
 * give the same state after it (its features, or the offsets it writes for the next stage) share
 * an id, and the later stages run once per distinct state. A branch of one output keeps a byte
 * per window; one of 16 keeps a uint16 id per window and a 16-byte row per state, when there
 * are at most 65,535 states (tinylut-s-x4: 9,164, so 655 KiB instead of 4 MiB), else a row per
 * window. All through this path's own kernels, so the table is its branch, bit for bit. */
static int build_window_table(tl_prepared *p, int b) {
    const tl_branch *br = &p->m->branches[b];
    const int n = br->n_stages, lanes = br->stages[n - 1].cout, sb = level_channels(p, b, 1);
    const size_t row = WT_CHUNK + 2 * HALO; /* pixels per buffer row, halo kept for the kernels */
    const uint32_t hmask = (1u << 19) - 1;  /* a hash of 2^19 slots for <= 2^18 states */
    int8_t *level[TL_MAX_STAGES + 1] = {0};
    int8_t *states = malloc((size_t)WT_ENTRIES * (size_t)sb), *rows = NULL, *table = NULL;
    uint32_t *id = malloc(sizeof(uint32_t) * WT_ENTRIES);
    int32_t *slot = malloc(sizeof(int32_t) * (hmask + 1));
    uint16_t *id16 = NULL;
    int ok = states && id && slot, n_states = 0;
    for (int s = 0; s <= n && ok; s++) {
        const size_t size = (s == 0 ? 9 : (size_t)level_channels(p, b, s)) * row;
        level[s] = calloc(size, 1);
        ok = level[s] != NULL;
    }
    if (ok) { /* the first stage on every window; distinct states get ids */
        memset(slot, 0xff, sizeof(int32_t) * (hmask + 1));
        const int8_t *taps[9];
        const int tap_dx[9] = {0};
        for (int k = 0; k < 9; k++) taps[k] = level[0] + (size_t)k * row + HALO;
        int8_t *st1 = level[1] + HALO * sb;
        for (int e0 = 0; e0 < WT_ENTRIES; e0 += WT_CHUNK) {
            for (int k = 0; k < 9; k++)
                for (int x = 0; x < WT_CHUNK; x++)
                    level[0][k * row + HALO + x] = (int8_t)(((e0 + x) >> (WT_BITS * k)) & 3);
            p->k->dw(&br->stages[0], &p->t16[b][0], taps, tap_dx, WT_CHUNK, st1);
            for (int x = 0; x < WT_CHUNK; x++) {
                const int8_t *v = st1 + (size_t)x * sb;
                uint32_t h = state_hash(v, sb) & hmask;
                while (slot[h] >= 0 && memcmp(states + (size_t)slot[h] * sb, v, (size_t)sb))
                    h = (h + 1) & hmask;
                if (slot[h] < 0) {
                    memcpy(states + (size_t)n_states * sb, v, (size_t)sb);
                    slot[h] = n_states++;
                }
                id[e0 + x] = (uint32_t)slot[h];
            }
        }
        rows = malloc((size_t)n_states * (size_t)lanes);
        ok = rows != NULL;
    }
    for (int s0 = 0; ok && s0 < n_states; s0 += WT_CHUNK) { /* the later stages, once per state */
        const int w = n_states - s0 < WT_CHUNK ? n_states - s0 : WT_CHUNK;
        memcpy(level[1] + HALO * sb, states + (size_t)s0 * sb, (size_t)w * sb);
        for (int s = 1; s < n; s++)
            p->k->pw(&br->stages[s], &p->t16[b][s], level[s] + HALO * level_channels(p, b, s), w,
                     level[s + 1] + HALO * level_channels(p, b, s + 1));
        memcpy(rows + (size_t)s0 * lanes, level[n] + HALO * lanes, (size_t)w * lanes);
    }
    if (ok && lanes == 16 && n_states <= 65535) { /* ids and rows */
        id16 = malloc(sizeof(uint16_t) * WT_ENTRIES);
        ok = id16 != NULL;
        for (int e = 0; ok && e < WT_ENTRIES; e++) id16[e] = (uint16_t)id[e];
        if (ok && (size_t)WT_ENTRIES * 2 + (size_t)n_states * lanes <= p->k->wt_max_bytes) {
            p->wt_ids[b] = id16;
            p->wtab[b] = rows;
            id16 = NULL;
            rows = NULL;
        }
    } else if (ok && (size_t)WT_ENTRIES * lanes <= p->k->wt_max_bytes) { /* a row per window */
        table = malloc((size_t)WT_ENTRIES * (size_t)lanes);
        ok = table != NULL;
        for (int e = 0; ok && e < WT_ENTRIES; e++)
            memcpy(table + (size_t)e * lanes, rows + (size_t)id[e] * lanes, (size_t)lanes);
        if (ok) {
            p->wtab[b] = table;
            table = NULL;
        }
    }
    for (int s = 0; s <= n; s++) free(level[s]);
    free(states);
    free(id);
    free(slot);
    free(rows);
    free(id16);
    free(table);
    return ok ? TL_OK : TL_ERR_NOMEM;
}

int tl_prepare(const tl_model *m, int isa, tl_prepared **out) {
    *out = NULL;
    if (tl_check_model(m) != TL_OK) return TL_ERR_ARG;
    const tl_kernels *k = tl_kernels_for(isa);
    if (!k) return TL_ERR_ISA;
    tl_prepared *p = calloc(1, sizeof *p);
    if (!p) return TL_ERR_NOMEM;
    p->m = m;
    p->isa = isa;
    p->k = k;
    if (k->tables16)
        for (int b = 0; b < m->n_branches; b++)
            for (int s = 0; s < m->branches[b].n_stages; s++)
                if (tl_stage16_build(&m->branches[b].stages[s], &p->t16[b][s]) != TL_OK) {
                    tl_prepared_free(p);
                    return TL_ERR_NOMEM;
                }
    if (k->tables16) /* stage boundaries that pass offsets instead of features (kernels.h) */
        for (int b = 0; b < m->n_branches; b++) {
            const tl_branch *br = &m->branches[b];
            for (int s = 0; s + 1 < br->n_stages; s++) {
                tl_stage16 *ts = &p->t16[b][s], *tn = &p->t16[b][s + 1];
                const tl_stage *sn = &br->stages[s + 1];
                if (ts->simd && ts->group != 0 && br->stages[s].cout == 16 && tn->simd &&
                    sn->kind == TL_PW && sn->cin == 16 && (tn->group == 1 || tn->group == 4)) {
                    ts->next_st = sn;
                    ts->next_t = tn;
                    tn->in_off = 1;
                }
            }
        }
    for (int b = 0; b < m->n_branches; b++) {
        if (window_table_fits(p, b) && build_window_table(p, b) != TL_OK) {
            tl_prepared_free(p);
            return TL_ERR_NOMEM;
        }
    }
    const int n_orient = m->rotations == 8 ? 8 : 4; /* rotations 1, 2, 4 use some of 0..3 */
    for (int r = 0; r < n_orient; r++) { /* rows of 16 lanes (scale 4) */
        int perm[16];
        rotation_perm(r, 4, perm);
        for (int t = 0; t < 16; t++) p->wt_ctl[r][perm[t]] = (uint8_t)t;
    }
    if (k->tables16 && m->scale == 4) { /* the SIMD merge takes 16 sub-pixels */
        p->last_rotated = 1;
        for (int b = 0; b < m->n_branches && p->last_rotated; b++)
            for (int r = 1; r < n_orient && p->last_rotated; r++) {
                int perm[16];
                rotation_perm(r, 4, perm);
                if (tl_stage16_permuted(&p->t16[b][m->branches[b].n_stages - 1], perm, &p->last_rot[b][r]) != TL_OK) {
                    tl_prepared_free(p);
                    return TL_ERR_NOMEM;
                }
                p->last_rotated = p->last_rot[b][r].simd;
            }
    }
    *out = p;
    return TL_OK;
}

typedef struct {
    const tl_model *m;
    const tl_kernels *k;
    const tl_prepared *p;
    int height, width, band;
    feature_rows feat[TL_MAX_BRANCHES][TL_MAX_STAGES + 1];
    int16_t *acc;  /* [band][width][scale^2]: rotations added, sub-pixels in output order */
    uint8_t *planes; /* multi-channel images: [channel][band * scale][width * scale] */
    uint8_t *chan;   /* the input rows of a band, one channel, contiguous: [rows][width] */
    int chan_rows;
} workspace;

static void free_workspace(workspace *w) {
    for (int b = 0; b < TL_MAX_BRANCHES; b++)
        for (int s = 0; s <= TL_MAX_STAGES; s++) free(w->feat[b][s].data);
    free(w->acc);
    free(w->planes);
    free(w->chan);
}

static int alloc_workspace(workspace *w, int channels) {
    const tl_model *m = w->m;
    int max_channels = 1;
    for (int b = 0; b < m->n_branches; b++)
        for (int s = 0; s < m->branches[b].n_stages; s++)
            if (m->branches[b].stages[s].cout > max_channels)
                max_channels = m->branches[b].stages[s].cout;
    const size_t row_bytes = (size_t)(w->width + 2 * HALO) * (size_t)max_channels;
    size_t band = BAND_TARGET_BYTES / row_bytes;
    /* every DW stage after the first level recomputes 2 rows of halo per band and rotation:
     * with several (TinyLUT-F) keep those a small fraction of the band */
    int max_dw = 0;
    for (int b = 0; b < m->n_branches; b++) {
        int dw = 0;
        for (int s = 0; s < m->branches[b].n_stages; s++) dw += m->branches[b].stages[s].kind == TL_DW;
        if (dw > max_dw) max_dw = dw;
    }
    if (max_dw > 1 && band < (size_t)(8 * max_dw)) band = (size_t)(8 * max_dw);
    w->band = band < 1 ? 1 : band > 64 ? 64 : (int)band;
    if (w->band > w->height) w->band = w->height;

    for (int b = 0; b < m->n_branches; b++) {
        const tl_branch *br = &m->branches[b];
        for (int s = 0; s <= br->n_stages; s++) {
            /* level s feeds stage s; level n_stages is the branch output */
            /* the rows a DW stage's window spans beyond its output rows: 2 in one rotation
             * (corner or centred), 4 for a dilated one */
            int dw_after = 0, span_after = 0;
            for (int t = s; t < br->n_stages; t++)
                if (br->stages[t].kind == TL_DW) {
                    dw_after++;
                    span_after += 2 * tl_dilation(&br->stages[t]);
                }
            /* level 0 holds the rows of every rotation at once: 2 more per DW on each side */
            int rows = w->band + (s == 0 ? 4 * dw_after : span_after);
            if (rows > w->height) rows = w->height;
            feature_rows *f = &w->feat[b][s];
            /* bytes per pixel: features, or the offsets of stage s when the stage before
             * writes them (2 bytes per fetch) */
            f->channels = level_channels(w->p, b, s);
            f->stride = (ptrdiff_t)(w->width + 2 * HALO) * f->channels;
            f->data = malloc((size_t)rows * (size_t)f->stride);
            if (!f->data) return TL_ERR_NOMEM;
        }
    }
    const size_t s2 = (size_t)m->scale * (size_t)m->scale;
    w->acc = malloc(sizeof(int16_t) * (size_t)w->band * (size_t)w->width * s2);
    if (!w->acc) return TL_ERR_NOMEM;
    if (channels > 1) {
        w->planes = malloc((size_t)channels * (size_t)w->band * (size_t)w->width * s2);
        if (!w->planes) return TL_ERR_NOMEM;
    }
    /* the level-0 rows of every branch lie within those of the branch with the most DW stages */
    w->chan_rows = w->band + 4 * max_dw < w->height ? w->band + 4 * max_dw : w->height;
    w->chan = malloc((size_t)w->chan_rows * (size_t)w->width);
    return w->chan ? TL_OK : TL_ERR_NOMEM;
}

/* Bytes src[x * stride], x < n, to dst; the strides of interleaved images as constants. */
static void gather_bytes(const uint8_t *src, ptrdiff_t stride, int n, uint8_t *dst) {
#define TL_GATHER(S) for (int x = 0; x < n; x++) dst[x] = src[(ptrdiff_t)x * (S)]
    switch (stride) {
    case 2: TL_GATHER(2); break;
    case 3: TL_GATHER(3); break;
    case 4: TL_GATHER(4); break;
    default: TL_GATHER(stride); break;
    }
#undef TL_GATHER
}

/* A branch's input from one row of pixels v: x = v - 128 whole (FULL), floor(x / 2^bits) (MSB;
 * 128 is a multiple of 2^bits) or x mod 2^bits (LSB), in loops the compiler vectorises. */
static void split_row(const tl_branch *br, const uint8_t *src, int width, int8_t *row) {
    const int bits = br->bits;
    if (br->split == TL_SPLIT_MSB) {
        const int off = 128 >> bits;
        for (int x = 0; x < width; x++) row[x] = (int8_t)((src[x] >> bits) - off);
    } else if (br->split == TL_SPLIT_LSB) {
        const uint8_t mask = (uint8_t)((1 << bits) - 1);
        for (int x = 0; x < width; x++) row[x] = (int8_t)(src[x] & mask);
    } else {
        for (int x = 0; x < width; x++) row[x] = (int8_t)(src[x] ^ 0x80);
    }
}

/* Rows of branch b's input that rotation r needs for output rows [y0, y1). */
static void branch_input_rows(const workspace *w, int b, int r, int y0, int y1, int *a, int *e) {
    const tl_branch *br = &w->m->branches[b];
    *a = y0;
    *e = y1;
    for (int s = br->n_stages - 1; s >= 0; s--) input_rows(&br->stages[s], r, w->height, *a, *e, a, e);
}

/* The branch inputs of band [y0, y1) of channel c, for all rotations at once (they do not
 * depend on it). The channel's rows are read once, into a contiguous copy when the pixels
 * are not adjacent (multi-channel images), and split for every branch from there. */
static void split_band(workspace *w, const tl_image_in *in, int c, int y0, int y1, const int *rots,
                       int n_rots) {
    int a[TL_MAX_BRANCHES], e[TL_MAX_BRANCHES], lo = w->height, hi = 0;
    for (int b = 0; b < w->m->n_branches; b++) {
        a[b] = w->height;
        e[b] = 0;
        for (int i = 0; i < n_rots; i++) {
            int ar, er;
            branch_input_rows(w, b, rots[i], y0, y1, &ar, &er);
            if (ar < a[b]) a[b] = ar;
            if (er > e[b]) e[b] = er;
        }
        if (a[b] < lo) lo = a[b];
        if (e[b] > hi) hi = e[b];
    }
    const uint8_t *first = in->data + (ptrdiff_t)lo * in->row_stride + c * in->chan_stride;
    ptrdiff_t stride = in->row_stride;
    if (in->col_stride != 1) {
        for (int y = 0; y < hi - lo; y++)
            gather_bytes(first + (ptrdiff_t)y * in->row_stride, in->col_stride, w->width,
                         w->chan + (ptrdiff_t)y * w->width);
        first = w->chan;
        stride = w->width;
    }
    for (int b = 0; b < w->m->n_branches; b++) {
        feature_rows *f = &w->feat[b][0];
        f->row0 = a[b];
        f->rows = e[b] - a[b];
        for (int y = a[b]; y < e[b]; y++) {
            int8_t *row = row_at(f, y);
            split_row(&w->m->branches[b], first + (ptrdiff_t)(y - lo) * stride, w->width, row);
            fill_halo(row, w->width, 1);
        }
    }
}

/* One branch at rotation r for output rows [y0, y1), into its last feature rows. */
static void run_branch(workspace *w, int b, int r, int y0, int y1) {
    const tl_branch *br = &w->m->branches[b];
    const int n = br->n_stages, width = w->width, height = w->height;
    feature_rows *feat = w->feat[b];

    int a[TL_MAX_STAGES + 1], e[TL_MAX_STAGES + 1];
    a[n] = y0;
    e[n] = y1;
    for (int s = n - 1; s >= 0; s--) input_rows(&br->stages[s], r, height, a[s + 1], e[s + 1], &a[s], &e[s]);
    for (int s = 1; s <= n; s++) { /* level 0: split_band */
        feat[s].row0 = a[s];
        feat[s].rows = e[s] - a[s];
    }
    if (w->p->wtab[b]) { /* the whole branch is one table row per pixel */
        const int lanes = br->stages[n - 1].cout;
        const uint8_t *ctl = lanes == 1 ? NULL : w->p->wt_ctl[w->p->last_rotated ? r : 0];
        int tap_dy[9], tap_dx[9];
        tap_offsets(&br->stages[0], r, tap_dy, tap_dx);
        for (int y = y0; y < y1; y++) {
            const int8_t *tap_rows[9];
            for (int k = 0; k < 9; k++)
                tap_rows[k] = row_at(&feat[0], reflect(y + tap_dy[k], height));
            w->k->wt(tap_rows, tap_dx, width, w->p->wtab[b], w->p->wt_ids[b], lanes, ctl,
                     row_at(&feat[n], y));
        }
        return;
    }

    for (int s = 0; s < n; s++) {
        const tl_stage *st = &br->stages[s];
        int tap_dy[9], tap_dx[9];
        tap_offsets(st, r, tap_dy, tap_dx);
        const tl_stage16 *t = s == n - 1 && r != 0 && w->p->last_rotated ? &w->p->last_rot[b][r]
                                                                        : &w->p->t16[b][s];
        for (int y = a[s + 1]; y < e[s + 1]; y++) {
            int8_t *out = row_at(&feat[s + 1], y);
            if (st->kind == TL_DW) {
                const int8_t *tap_rows[9];
                for (int k = 0; k < 9; k++) tap_rows[k] = row_at(&feat[s], reflect(y + tap_dy[k], height));
                w->k->dw(st, t, tap_rows, tap_dx, width, out);
            } else {
                w->k->pw(st, t, row_at(&feat[s], y), width, out);
            }
            if (s + 1 < n && br->stages[s + 1].kind == TL_DW) fill_halo(out, width, st->cout);
        }
    }
}

/* Adds the merged branches of rotation r, rotated back, into the band's accumulator (sets it,
 * with first). */
static void add_rotation(workspace *w, int y0, int y1, const int *perm, int first) {
    const int s2 = w->m->scale * w->m->scale, width = w->width, nb = w->m->n_branches;
    for (int y = y0; y < y1; y++) {
        const int8_t *rows[TL_MAX_BRANCHES];
        for (int b = 0; b < nb; b++) rows[b] = row_at(&w->feat[b][w->m->branches[b].n_stages], y);
        w->k->merge(rows, nb, width, s2, perm, w->acc + (ptrdiff_t)(y - y0) * width * s2, first);
    }
}

/* v[i] / 2 rounded half to even (eight orientations add up to twice the pixel): an odd v lies
 * between v >> 1 and (v >> 1) + 1 (floor, also below 0); add 1 when v >> 1 is odd. */
static void halve_rne(int16_t *v, size_t n) {
    for (size_t i = 0; i < n; i++) v[i] = (int16_t)((v[i] + ((v[i] >> 1) & 1)) >> 1);
}

int tl_restore_rows(const tl_model *m, const tl_image_in *in, const tl_image_out *out,
                    int row_begin, int row_end, int isa) {
    tl_prepared *p;
    int status = tl_prepare(m, isa, &p);
    if (status == TL_OK) status = tl_restore_rows_prepared(m, p, in, out, row_begin, row_end);
    tl_prepared_free(p);
    return status;
}

int tl_restore_rows_prepared(const tl_model *m, const tl_prepared *p, const tl_image_in *in,
                             const tl_image_out *out, int row_begin, int row_end) {
    if (!p || p->m != m || !in || !out || !in->data || !out->data ||
        in->height < 1 || in->width < 1 || !in_range(in->channels, 1, TL_MAX_IMAGE_CHANNELS) ||
        row_begin < 0 || row_end > in->height || row_begin > row_end)
        return TL_ERR_ARG;
    if (row_begin == row_end) return TL_OK;

    workspace w;
    memset(&w, 0, sizeof w);
    w.m = m;
    w.k = p->k;
    w.p = p;
    w.height = in->height;
    w.width = in->width;
    int status = alloc_workspace(&w, in->channels);
    if (status != TL_OK) {
        free_workspace(&w);
        return status;
    }

    static const int rotation_sets[9][TL_MAX_ORIENTATIONS] = {
        [1] = {0}, [2] = {0, 2}, [4] = {0, 1, 2, 3}, [8] = {0, 1, 2, 3, 4, 5, 6, 7}};
    const int s = m->scale, width = in->width;
    const ptrdiff_t acc_row = (ptrdiff_t)width * s * s;
    /* bands of equal height: a short last band would recompute as many halo rows as a full one */
    const int n_bands = (row_end - row_begin + w.band - 1) / w.band;
    const int band = (row_end - row_begin + n_bands - 1) / n_bands;
    const int channels = in->channels;
    const ptrdiff_t plane_row = (ptrdiff_t)width * s, plane = (ptrdiff_t)band * s * plane_row;
    for (int y0 = row_begin; y0 < row_end; y0 += band) {
        const int y1 = y0 + band < row_end ? y0 + band : row_end;
        for (int c = 0; c < channels; c++) {
            split_band(&w, in, c, y0, y1, rotation_sets[m->rotations], m->rotations);
            for (int i = 0; i < m->rotations; i++) {
                const int r = rotation_sets[m->rotations][i];
                int perm[TL_MAX_SCALE * TL_MAX_SCALE];
                rotation_perm(p->last_rotated ? 0 : r, s, perm); /* last_rotated: in place already */
                for (int b = 0; b < m->n_branches; b++) run_branch(&w, b, r, y0, y1);
                add_rotation(&w, y0, y1, perm, i == 0);
            }
            if (m->rotations == 8) halve_rne(w.acc, (size_t)(y1 - y0) * (size_t)acc_row);
            for (int y = y0; y < y1; y++) {
                const int16_t *acc = w.acc + (ptrdiff_t)(y - y0) * acc_row;
                if (channels == 1)
                    p->k->emit(acc, width, s, out->data + (ptrdiff_t)y * s * out->row_stride,
                               out->row_stride, out->col_stride);
                else
                    p->k->emit(acc, width, s, w.planes + c * plane + (ptrdiff_t)(y - y0) * s * plane_row,
                               plane_row, 1);
            }
        }
        if (channels > 1)
            for (int Y = y0 * s; Y < y1 * s; Y++) {
                const uint8_t *planes[TL_MAX_IMAGE_CHANNELS];
                for (int c = 0; c < channels; c++) planes[c] = w.planes + c * plane + (Y - y0 * s) * plane_row;
                p->k->interleave(planes, channels, width * s, out->data + (ptrdiff_t)Y * out->row_stride,
                                 out->col_stride, out->chan_stride);
            }
    }
    free_workspace(&w);
    return TL_OK;
}

void tl_mean_rne(const uint8_t *a, const uint8_t *b, uint8_t *out, size_t n)
{
    /* s/2 rounded half to even: an odd s lies between s>>1 and (s>>1) + 1; add 1 when s>>1 is odd.
     * A plain loop the compiler vectorises on every target. */
    for (size_t i = 0; i < n; i++) {
        const unsigned s = (unsigned)a[i] + b[i];
        out[i] = (uint8_t)((s + ((s >> 1) & 1u)) >> 1);
    }
}
