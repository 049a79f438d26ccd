/* Internal: the per-row kernels every instruction-set file provides, and the int16 tables
 * (tables16.c) the SIMD paths precompute per call. */
#ifndef TINYLUT_KERNELS_H
#define TINYLUT_KERNELS_H

#include "tinylut.h"

/* ---------------------------------------------------------------- int16 stage tables
 * A SIMD stage adds, per output pixel, n_fetch rows of 16 int16 lanes (32 bytes, 32-byte
 * aligned) picked by byte offsets into tab. Each row is already a function of the stage's
 * *input value* (requantisation and segment offset folded in), so a kernel turns input
 * values into offsets with vector arithmetic and never reads row_off or gval.
 *
 * Fetches: DW with 1 input channel: one per tap, or, when inputs take <= 4 values (LSB),
 * one per group of 3 taps (rows indexed by the 3 values together). PW: one per input
 * channel, or per group of 4 channels when inputs take <= 4 values.
 * Tried and dropped: one row per pair of PW channels taking 64 values, indexed by the pair's
 * requantised values (0.4-0.6 MB tables per stage of TinyLUT-S). Half the fetches, but the
 * in-kernel requantisation costs about what they saved (-3% instructions) and the rows come
 * from L2: the x4 restore ran 8% slower on the AMD EPYC VM (5% faster only with every row in L1).
 * Tried and dropped too (2026-11-30, AMD EPYC Zen 4): an AVX-512 VBMI path doing the 16 -> 16
 * PW / UP stages channel-major, 32 pixels per vpermi2b over a 128-byte table per (input pair,
 * output), two input channels summed by vpmaddubsw: no faster than AVX2 (14.2-14.4 vs 14.4-14.6
 * ms for the x4 restore; Zen 4 runs 512-bit operations as two 256-bit halves), and with one
 * channel per permute 8% slower. (The avx512 path that exists, stages_x86.c, is the AVX2 code
 * with dwc8's byte look-ups done by vpermi2b on ymm registers.) A timing probe (wrong output, not kept) that confined the
 * 16-fetch stages' rows to 16 KB changed nothing: those loops are bound by their operations,
 * not by L1 misses.
 * Tried and dropped as well (same machine, x4 RGB, AVX2): each offset of a 64-bit load taken
 * out with one BMI1 bextr (14.0 ms against 12.3: slower), the AVX2 functions compiled with
 * BMI2 (shrx; no change), the next block's offsets computed before this block's fetches
 * (12.7 against 12.4 ms). Kept: offsets 1 and 3 of a 64-bit load without a mask (row4;
 * 11.8-12.1 -> 11.5-11.8 ms on avx512). Dropped (2026-11-30): offset 2 by a BMI2 rorx in
 * inline asm (11.7-12.0 against 11.5-11.8 ms; the asm blocks scheduling), offset 0 (and 2)
 * loaded on its own instead of taken from the 64-bit word (slower by 2-5%).
 *
 * DW with cin == cout (row width 1, "per-channel" DW, the blocks of TinyLUT-F): output channel c
 * reads only its own channel, so there are no 16-lane rows to fetch; instead tab holds one int16
 * per (tap, channel, value), tab[(k * cin + c) * in_n + u] (u = v - in_lo, residual folded into
 * tap 8), and a kernel gathers 16 of them per tap (group 0, n_fetch 9, rows in_n).
 * With 16 channels, at most 64 input values and divisor 9 (TinyLUT-F's blocks) a faster kernel
 * takes the stage instead (dwc8 in simd_body.h): it transposes 16 pixels x 16 channels at a
 * time so that a vector holds one channel of 32 pixels and looks each tap up in that channel's
 * 64-byte table with byte shuffles (pshufb, tbl), no gathers. Its tables are `lut`
 * (TL_LUT_BYTES, built by build_lut in tables16.c): byte
 * tables [10][16][64] indexed by (fetch, channel, v - in_lo), fetches 0..8 the taps' int8 rows
 * without the residual, fetch 9 the requantised value (the residual; 0 without one); then the
 * same tables in the form x86 shuffles want: per (fetch, channel) the four 16-byte quarters
 * q0, q0^q1, q1^q2, q2^q3 (each shuffle of index v - 16 i adds quarter i's difference, and
 * a negative index gives 0).
 *
 * The residual is folded into the rows too. rne(A/d) + g equals rne((A + d*g)/d) except on
 * a tie (even d only) with g odd, so for even d the rows hold 2*row + 2*d*g + (g & 1): the
 * sum's low bit is g's parity, which decides the tie (see tl_rne_folded).
 * In the /16 and /9 modes the rows of fetch 0 also carry the rounding constant: 7 (14 when
 * doubled) and 4 + 9 * 1024 (see finish in simd_body.h). */
/* Window tables (2026-11-30). A branch whose input takes 4 values (the LSB split of 2 bits), whose
 * first stage is a DW of one input channel and whose later stages are all PW computes a function
 * of its 3x3 window of two-bit values alone: 4^9 = 262,144 windows. tl_prepare evaluates the
 * branch once on every window with the path's own kernels (so the table is that path's branch,
 * bit for bit; engine.c, build_window_table) and the restore reads a table instead of running
 * the stages. A denoiser's branch (one output) becomes a byte per window (256 KiB); an x4
 * branch (16 outputs) a uint16 per window naming its state after the DW (tinylut-s-x4: 9,164
 * distinct states) and a 16-byte row per state: 655 KiB, which stays in L2, where a row per
 * window (4 MiB) was read from L3. Built in 4-7 ms on the first restore. AMD EPYC Zen 4, one
 * thread, alternated A/B (median of 40, 8 MB of other data touched before each call or not):
 * TinyLUT-S x4 RGB 320x180 11.4-12.5 -> 9.2-9.6 ms on avx512 (a row per window: 10.0-11.7,
 * and its prefetch kept for the ids); tinylut-s-dn25 320x180 gray 5.9-6.3 -> 3.8-4.1 ms;
 * TinyLUT-F x4 60-64 ms either way. NEON takes tables only up to 512 KiB, so the denoisers' and
 * not x4's: a Cortex-A72 has 1 MiB of L2 for four cores and no L3, and it cannot be timed here. */
/* The fetch loops read their uint16 offsets four per 64-bit load and split them in
 * registers, on little-endian machines (where offset p is bits 16p ..): loads, not
 * arithmetic, are what those loops run out of first (TinyLUT-S x4 on the AVX2 path: 6% faster
 * on an AMD EPYC). */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define TL_OFF4 1
#else
#define TL_OFF4 0
#endif

#define TL_LANES 16
#define TL_ROW_BYTES (TL_LANES * 2)
#define TL_TABLE16_MAX_BYTES 65536 /* offsets are uint16 */
#define TL_LUT_FETCHES 10
#define TL_LUT_PLANE (TL_LUT_FETCHES * 16 * 64) /* bytes of one form of the byte tables */
#define TL_LUT_BYTES (2 * TL_LUT_PLANE)

enum tl_div_mode { TL_DIV_ANY = 0, TL_DIV_16 = 1, TL_DIV_9 = 2 };

typedef struct tl_stage16 {
    int simd;      /* 0: this stage runs the scalar kernel */
    int group;     /* input values per fetch: 1, 3 (DW taps) or 4 (PW channels); 0: per-channel DW */
    int n_fetch;   /* rows added per pixel */
    int rows;      /* rows per fetch table: in_n ** group */
    int mode;      /* enum tl_div_mode */
    int k2;        /* sums are 2 * (rows + d * g) + (g & 1) */
    int16_t *tab;  /* [n_fetch][rows][16] */
    int8_t *lut;   /* per-channel DW of 16 channels, <= 64 values, divisor 9: byte tables; else NULL */
    void *mem;     /* allocation behind tab */
    /* Fused stage boundaries (set by the engine): a stage whose output feeds only a PW stage
     * with tables here writes that stage's fetch offsets (next_t's layout, pw_offsets) instead
     * of int8 features, and that stage reads them as they are: the features would only be
     * turned into offsets again (TinyLUT-S x4 RGB on AVX2: 4.5% faster, SSE4.1 2.5%). */
    int in_off;                       /* PW: the input row holds this stage's offsets */
    const tl_stage *next_st;          /* non-NULL: write the offsets of this stage instead */
    const struct tl_stage16 *next_t;
} tl_stage16;

int tl_stage16_build(const tl_stage *st, tl_stage16 *t);  /* TL_OK (simd may stay 0) or TL_ERR_NOMEM */
/* dst: src with the 16 lanes of every row moved, lane t to lane perm[t] (TL_OK, dst->simd 0 when
 * src's rows are not lanes of outputs; or TL_ERR_NOMEM). The engine gives the last stage of each
 * branch one copy per rotation, so that the branch outputs come out in the rotated-back order
 * and the merge adds them without permuting (finish and clamps work lane by lane). */
int tl_stage16_permuted(const tl_stage16 *src, const int *perm, tl_stage16 *dst);
void tl_stage16_free(tl_stage16 *t);

/* a / d rounded half to even, plus g, from x = a + d * g and p = g & 1 (p = 0, g = 0: rne). */
static inline int32_t tl_rne_folded(int32_t x, int32_t d, int32_t p) {
    int32_t q = (x >= 0 ? x : x - d + 1) / d; /* floor */
    int32_t r2 = 2 * (x - q * d);
    return q + ((r2 > d) | ((r2 == d) & ((q ^ p) & 1)));
}

/* ---------------------------------------------------------------- kernels
 * Pixel x of a feature row is at row[x * channels]; rows carry a 2-pixel halo on each side
 * (x = -2 .. width + 1) that the engine fills by reflection before a DW stage reads them. */
typedef struct {
    int tables16; /* the engine builds tl_stage16 tables for this path */
    /* DW: tap k of output pixel x reads input pixel x + tap_dx[k] of row tap_rows[k]. */
    void (*dw)(const tl_stage *st, const tl_stage16 *t, const int8_t *const tap_rows[9],
               const int tap_dx[9], int width, int8_t *out);
    /* PW: input row -> output row, pixel by pixel. */
    void (*pw)(const tl_stage *st, const tl_stage16 *t, const int8_t *in, int width, int8_t *out);
    /* Branch merge of one row at one rotation: for every pixel x and sub-pixel t < s2,
     * acc[x * s2 + perm[t]] += clamp(sum_b rows[b][x * s2 + t], -128, 127) (= with first: the
     * first rotation of a band sets acc, which saves clearing it). */
    void (*merge)(const int8_t *const rows[], int n_rows, int width, int s2, const int *perm,
                  int16_t *acc, int first);
    /* Output rows of one input row: out[A * row_stride + (x * s + B) * col_stride] =
     * clamp(acc[(x * s + A) * s + B], -128, 127) + 128, for A, B < s. */
    void (*emit)(const int16_t *acc, int width, int s, uint8_t *out, ptrdiff_t row_stride,
                 ptrdiff_t col_stride);
    /* Channels of n pixels from planes into one image row: out[x * col_stride + c * chan_stride]
     * = planes[c][x]. The engine emits the channels of a multi-channel image into planes
     * first: byte stores three or four apart cost more than this pass (RGB x4: ~4%). */
    void (*interleave)(const uint8_t *const planes[], int channels, int n, uint8_t *out,
                       ptrdiff_t col_stride, ptrdiff_t chan_stride);
    /* A window-table branch (engine.c, tl_prepare): out[x * lanes ..] = row ids[idx] of tab (row
     * idx without ids), idx = sum_k v_k << 2k over the two-bit values v_k = tap_rows[k][x +
     * tap_dx[k]]; lanes 1 (no ids), or 16 moved by the byte shuffle ctl (lane i <- lane ctl[i]). */
    void (*wt)(const int8_t *const tap_rows[9], const int tap_dx[9], int width, const int8_t *tab,
               const uint16_t *ids, int lanes, const uint8_t *ctl, int8_t *out);
    size_t wt_max_bytes; /* largest window table this path uses (0: none) */
} tl_kernels;

/* The tap that is the pixel itself (window offset (0, 0)): the residual's. */
static inline int tl_center_tap(const tl_stage *st) { return st->centred ? 4 : 8; }

/* Window offset of tap k (row and column, in the rotated frame): (k / 3 - o) * d and
 * (k % 3 - o) * d, d the dilation. */
static inline int tl_window_origin(const tl_stage *st) { return st->centred ? 1 : 2; }
static inline int tl_dilation(const tl_stage *st) { return st->dilation > 1 ? st->dilation : 1; }

extern const tl_kernels tl_kernels_scalar;
#if defined(__aarch64__)
extern const tl_kernels tl_kernels_neon;
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#define TL_HAVE_X86_SIMD 1
extern const tl_kernels tl_kernels_sse41;
extern const tl_kernels tl_kernels_avx2;
extern const tl_kernels tl_kernels_avx512;
#endif

const tl_kernels *tl_kernels_for(int isa);

#endif
