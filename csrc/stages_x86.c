/* x86-64 SSE4.1, AVX2 and AVX-512 stage kernels (simd_body.h over two vector interfaces, the
 * AVX-512 path being the AVX2 one with another byte look-up).
 *
 * The wheel is built for baseline x86-64: every function here carries its own
 * target("sse4.1") / target("avx2") / target("avx2,avx512...") attribute and runs only after
 * __builtin_cpu_supports said yes (tl_kernels_for in dispatch.c). vs16 is one ymm register for
 * AVX2 and AVX-512, a pair of xmm registers for SSE4.1. */
#include "kernels.h"

#if defined(TL_HAVE_X86_SIMD)
#include <immintrin.h>
#include <string.h>

/* Byte-shuffle controls of a 16-lane permutation; lane i of the result is lane inv[i] of the
 * input, where perm[inv[i]] = i. Controls are per 8-lane half: from the same half, from the other. */
typedef struct {
    uint8_t b[2][2][16]; /* [destination half][source half == destination half ? 0 : 1] */
} perm_bytes;

static void perm_bytes_of(const int *perm, perm_bytes *pb) {
    int inv[16];
    for (int t = 0; t < 16; t++) inv[perm[t]] = t;
    memset(pb, 0x80, sizeof *pb); /* pshufb: a set top bit gives 0 */
    for (int i = 0; i < 16; i++) {
        const int src = inv[i], cross = (src / 8) != (i / 8);
        for (int e = 0; e < 2; e++) pb->b[i / 8][cross][2 * (i % 8) + e] = (uint8_t)(2 * (src % 8) + e);
    }
}

/* Lane i of r: the byte at u[i] (0..63) of a 64-byte table of build_lut, from its x86 form
 * (quarters q0, q0^q1, q1^q2, q2^q3): pshufb gives 0 for an index with its top bit set, so
 * the quarters below u[i] / 16 cancel and those above it add nothing. */
#define TL_X86_LUT64(tab, u, r)                                                                \
    do {                                                                                       \
        const __m128i *q_ = (const __m128i *)((tab) + TL_LUT_PLANE);                           \
        const __m128i s16_ = _mm_set1_epi8(16);                                                \
        __m128i u_ = (u);                                                                      \
        (r) = _mm_shuffle_epi8(_mm_load_si128(q_), u_);                                        \
        for (int i_ = 1; i_ < 4; i_++) {                                                       \
            u_ = _mm_sub_epi8(u_, s16_);                                                       \
            (r) = _mm_xor_si128((r), _mm_shuffle_epi8(_mm_load_si128(q_ + i_), u_));           \
        }                                                                                      \
    } while (0)

/* ---------------------------------------------------------------- SSE4.1 */
#define TL_FN static inline __attribute__((always_inline, target("sse4.1")))
#define TL_ENTRY static __attribute__((target("sse4.1")))
#define NAME(x) x##_sse41
#define V(op) sse41_##op
#define vs16 vs16_sse41
#define vperm vperm_sse41
#define vb vb_sse41
#define vb2 vb2_sse41

typedef struct {
    __m128i l, h;
} vs16;
typedef struct {
    __m128i c[2][2];
} vperm;

TL_FN vs16 sse41_pair(__m128i l, __m128i h) {
    vs16 r = {l, h};
    return r;
}
TL_FN vs16 sse41_zero(void) { return sse41_pair(_mm_setzero_si128(), _mm_setzero_si128()); }
TL_FN vs16 sse41_set1(int v) { return sse41_pair(_mm_set1_epi16((short)v), _mm_set1_epi16((short)v)); }
TL_FN vs16 sse41_load(const int16_t *p) {
    return sse41_pair(_mm_load_si128((const __m128i *)p), _mm_load_si128((const __m128i *)(p + 8)));
}
TL_FN vs16 sse41_loadu(const int16_t *p) {
    return sse41_pair(_mm_loadu_si128((const __m128i *)p), _mm_loadu_si128((const __m128i *)(p + 8)));
}
TL_FN void sse41_store(int16_t *p, vs16 a) {
    _mm_storeu_si128((__m128i *)p, a.l);
    _mm_storeu_si128((__m128i *)(p + 8), a.h);
}
TL_FN vs16 sse41_load8(const int8_t *p) {
    const __m128i v = _mm_loadu_si128((const __m128i *)p);
    return sse41_pair(_mm_cvtepi8_epi16(v), _mm_cvtepi8_epi16(_mm_srli_si128(v, 8)));
}
#define SSE41_OP2(name, intrin) \
    TL_FN vs16 sse41_##name(vs16 a, vs16 b) { return sse41_pair(intrin(a.l, b.l), intrin(a.h, b.h)); }
SSE41_OP2(add, _mm_add_epi16)
SSE41_OP2(sub, _mm_sub_epi16)
SSE41_OP2(and, _mm_and_si128)
SSE41_OP2(xor, _mm_xor_si128)
SSE41_OP2(min, _mm_min_epi16)
SSE41_OP2(max, _mm_max_epi16)
SSE41_OP2(mullo, _mm_mullo_epi16)
#undef SSE41_OP2
TL_FN vs16 sse41_srai1(vs16 a) { return sse41_pair(_mm_srai_epi16(a.l, 1), _mm_srai_epi16(a.h, 1)); }
TL_FN vs16 sse41_srai4(vs16 a) { return sse41_pair(_mm_srai_epi16(a.l, 4), _mm_srai_epi16(a.h, 4)); }
TL_FN vs16 sse41_slli5(vs16 a) { return sse41_pair(_mm_slli_epi16(a.l, 5), _mm_slli_epi16(a.h, 5)); }
TL_FN vs16 sse41_div9(vs16 a) {
    const __m128i m = _mm_set1_epi16(7282);
    return sse41_pair(_mm_mulhi_epu16(a.l, m), _mm_mulhi_epu16(a.h, m));
}
TL_FN void sse41_perm_prep(const int *perm, vperm *c) {
    perm_bytes pb;
    perm_bytes_of(perm, &pb);
    for (int d = 0; d < 2; d++)
        for (int s = 0; s < 2; s++) c->c[d][s] = _mm_loadu_si128((const __m128i *)pb.b[d][s]);
}
TL_FN vs16 sse41_permute(vs16 a, const vperm *c) {
    return sse41_pair(_mm_or_si128(_mm_shuffle_epi8(a.l, c->c[0][0]), _mm_shuffle_epi8(a.h, c->c[0][1])),
                      _mm_or_si128(_mm_shuffle_epi8(a.h, c->c[1][0]), _mm_shuffle_epi8(a.l, c->c[1][1])));
}
/* Offsets of 4 groups of 4 channels: 32 * (sum of (v - lo) * w) + base, as uint16. */
TL_FN void sse41_grp4v(__m128i v, int lo, const int8_t *w, const int32_t *base, uint16_t *out) {
    const __m128i u = _mm_sub_epi8(v, _mm_set1_epi8((char)lo));
    const __m128i pairs = _mm_maddubs_epi16(u, _mm_loadu_si128((const __m128i *)w));
    __m128i q = _mm_madd_epi16(pairs, _mm_set1_epi16(TL_ROW_BYTES));
    q = _mm_add_epi32(q, _mm_loadu_si128((const __m128i *)base));
    _mm_storel_epi64((__m128i *)out, _mm_packus_epi32(q, q));
}
TL_FN void sse41_grp4(const int8_t *in, int lo, const int8_t *w, const int32_t *base, uint16_t *out) {
    sse41_grp4v(_mm_loadu_si128((const __m128i *)in), lo, w, base, out);
}
TL_FN __m128i sse41_pack8(vs16 a) { return _mm_packs_epi16(a.l, a.h); }

#define sse41_gather16 NAME(gather16_lanes) /* no gather instruction: lane by lane */
TL_FN void sse41_grp4x2(const int8_t *in, int lo, const int8_t *w, const int32_t *base, uint16_t *out) {
    sse41_grp4(in, lo, w, base, out);
    sse41_grp4(in + 16, lo, w, base, out + 4);
}

typedef __m128i vb;
TL_FN vb sse41_b_loadu(const int8_t *p) { return _mm_loadu_si128((const __m128i *)p); }
TL_FN void sse41_b_storeu(int8_t *p, vb a) { _mm_storeu_si128((__m128i *)p, a); }
TL_FN vb sse41_b_shuf(vb a, vb ctl) { return _mm_shuffle_epi8(a, ctl); }
TL_FN vb sse41_b_zlo(vb a, vb b) { return _mm_unpacklo_epi8(a, b); }
TL_FN vb sse41_b_zhi(vb a, vb b) { return _mm_unpackhi_epi8(a, b); }
TL_FN vb sse41_packu8(vs16 a) { return _mm_packus_epi16(a.l, a.h); }
TL_FN void sse41_b_tr4x4(vb a[4]) {
    const __m128i t0 = _mm_unpacklo_epi32(a[0], a[1]), t1 = _mm_unpackhi_epi32(a[0], a[1]);
    const __m128i t2 = _mm_unpacklo_epi32(a[2], a[3]), t3 = _mm_unpackhi_epi32(a[2], a[3]);
    a[0] = _mm_unpacklo_epi64(t0, t2);
    a[1] = _mm_unpackhi_epi64(t0, t2);
    a[2] = _mm_unpacklo_epi64(t1, t3);
    a[3] = _mm_unpackhi_epi64(t1, t3);
}
/* pshufb controls of the 3-channel interleave: byte j of output vector k is channel i % 3 of
 * pixel i / 3, i = 16 k + j (-1: from another channel) */
static const int8_t interleave3_ctl[3][3][16] __attribute__((aligned(16))) = {
    {{0, -1, -1, 1, -1, -1, 2, -1, -1, 3, -1, -1, 4, -1, -1, 5},
     {-1, -1, 6, -1, -1, 7, -1, -1, 8, -1, -1, 9, -1, -1, 10, -1},
     {-1, 11, -1, -1, 12, -1, -1, 13, -1, -1, 14, -1, -1, 15, -1, -1}},
    {{-1, 0, -1, -1, 1, -1, -1, 2, -1, -1, 3, -1, -1, 4, -1, -1},
     {5, -1, -1, 6, -1, -1, 7, -1, -1, 8, -1, -1, 9, -1, -1, 10},
     {-1, -1, 11, -1, -1, 12, -1, -1, 13, -1, -1, 14, -1, -1, 15, -1}},
    {{-1, -1, 0, -1, -1, 1, -1, -1, 2, -1, -1, 3, -1, -1, 4, -1},
     {-1, 5, -1, -1, 6, -1, -1, 7, -1, -1, 8, -1, -1, 9, -1, -1},
     {10, -1, -1, 11, -1, -1, 12, -1, -1, 13, -1, -1, 14, -1, -1, 15}}};
TL_FN void sse41_b_store3(int8_t *p, vb r, vb g, vb b) {
    const __m128i *c = (const __m128i *)interleave3_ctl;
    for (int k = 0; k < 3; k++)
        _mm_storeu_si128((__m128i *)(p + 16 * k),
                         _mm_or_si128(_mm_or_si128(_mm_shuffle_epi8(r, c[k]), _mm_shuffle_epi8(g, c[3 + k])),
                                      _mm_shuffle_epi8(b, c[6 + k])));
}
TL_FN void sse41_b_store4(int8_t *p, vb r, vb g, vb b, vb a) {
    const __m128i rg0 = _mm_unpacklo_epi8(r, g), rg1 = _mm_unpackhi_epi8(r, g);
    const __m128i ba0 = _mm_unpacklo_epi8(b, a), ba1 = _mm_unpackhi_epi8(b, a);
    _mm_storeu_si128((__m128i *)p, _mm_unpacklo_epi16(rg0, ba0));
    _mm_storeu_si128((__m128i *)(p + 16), _mm_unpackhi_epi16(rg0, ba0));
    _mm_storeu_si128((__m128i *)(p + 32), _mm_unpacklo_epi16(rg1, ba1));
    _mm_storeu_si128((__m128i *)(p + 48), _mm_unpackhi_epi16(rg1, ba1));
}
typedef struct {
    __m128i l, h;
} vb2;
TL_FN vb2 sse41_b2_loadu(const int8_t *p) {
    vb2 r = {_mm_loadu_si128((const __m128i *)p), _mm_loadu_si128((const __m128i *)(p + 16))};
    return r;
}
TL_FN vb2 sse41_b2_sub(vb2 a, vb2 b) {
    vb2 r = {_mm_sub_epi8(a.l, b.l), _mm_sub_epi8(a.h, b.h)};
    return r;
}
TL_FN vb2 sse41_b2_set1(int v) {
    vb2 r = {_mm_set1_epi8((char)v), _mm_set1_epi8((char)v)};
    return r;
}
TL_FN void sse41_lut64x2(const int8_t *tab, vb2 u, vs16 *a, vs16 *b) {
    __m128i r;
    TL_X86_LUT64(tab, u.l, r);
    *a = sse41_pair(_mm_cvtepi8_epi16(r), _mm_cvtepi8_epi16(_mm_srli_si128(r, 8)));
    TL_X86_LUT64(tab, u.h, r);
    *b = sse41_pair(_mm_cvtepi8_epi16(r), _mm_cvtepi8_epi16(_mm_srli_si128(r, 8)));
}

#include "simd_body.h"
#undef TL_FN
#undef TL_ENTRY
#undef NAME
#undef V
#undef vs16
#undef vperm
#undef vb
#undef vb2

/* ---------------------------------------------------------------- AVX2 */
#define TL_FN static inline __attribute__((always_inline, target("avx2")))
#define TL_ENTRY static __attribute__((target("avx2")))
#define NAME(x) x##_avx2
#define V(op) avx2_##op
#define vs16 vs16_avx2
#define vperm vperm_avx2
#define vb vb_avx2
#define vb2 vb2_avx2

typedef __m256i vs16;
typedef struct {
    __m256i same, cross;
} vperm;

TL_FN vs16 avx2_zero(void) { return _mm256_setzero_si256(); }
TL_FN vs16 avx2_set1(int v) { return _mm256_set1_epi16((short)v); }
TL_FN vs16 avx2_load(const int16_t *p) { return _mm256_load_si256((const __m256i *)p); }
TL_FN vs16 avx2_loadu(const int16_t *p) { return _mm256_loadu_si256((const __m256i *)p); }
TL_FN void avx2_store(int16_t *p, vs16 a) { _mm256_storeu_si256((__m256i *)p, a); }
TL_FN vs16 avx2_load8(const int8_t *p) { return _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)p)); }
TL_FN vs16 avx2_add(vs16 a, vs16 b) { return _mm256_add_epi16(a, b); }
TL_FN vs16 avx2_sub(vs16 a, vs16 b) { return _mm256_sub_epi16(a, b); }
TL_FN vs16 avx2_and(vs16 a, vs16 b) { return _mm256_and_si256(a, b); }
TL_FN vs16 avx2_xor(vs16 a, vs16 b) { return _mm256_xor_si256(a, b); }
TL_FN vs16 avx2_min(vs16 a, vs16 b) { return _mm256_min_epi16(a, b); }
TL_FN vs16 avx2_max(vs16 a, vs16 b) { return _mm256_max_epi16(a, b); }
TL_FN vs16 avx2_mullo(vs16 a, vs16 b) { return _mm256_mullo_epi16(a, b); }
TL_FN vs16 avx2_srai1(vs16 a) { return _mm256_srai_epi16(a, 1); }
TL_FN vs16 avx2_srai4(vs16 a) { return _mm256_srai_epi16(a, 4); }
TL_FN vs16 avx2_slli5(vs16 a) { return _mm256_slli_epi16(a, 5); }
TL_FN vs16 avx2_div9(vs16 a) { return _mm256_mulhi_epu16(a, _mm256_set1_epi16(7282)); }
TL_FN void avx2_perm_prep(const int *perm, vperm *c) {
    perm_bytes pb;
    perm_bytes_of(perm, &pb);
    c->same = _mm256_loadu2_m128i((const __m128i *)pb.b[1][0], (const __m128i *)pb.b[0][0]);
    c->cross = _mm256_loadu2_m128i((const __m128i *)pb.b[1][1], (const __m128i *)pb.b[0][1]);
}
TL_FN vs16 avx2_permute(vs16 a, const vperm *c) { /* pshufb works within 128-bit halves */
    const __m256i swapped = _mm256_permute4x64_epi64(a, 0x4E);
    return _mm256_or_si256(_mm256_shuffle_epi8(a, c->same), _mm256_shuffle_epi8(swapped, c->cross));
}
#define avx2_grp4 sse41_grp4 /* 128-bit work; inlines into AVX2 code as VEX */
#define avx2_grp4v sse41_grp4v
TL_FN __m128i avx2_pack8(vs16 a) { return _mm_packs_epi16(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1)); }
/* grp4 of two pixels at once: one per 128-bit half, then their offsets side by side */
TL_FN void avx2_grp4x2(const int8_t *in, int lo, const int8_t *w, const int32_t *base, uint16_t *out) {
    const __m256i u = _mm256_sub_epi8(_mm256_loadu_si256((const __m256i *)in), _mm256_set1_epi8((char)lo));
    const __m256i pairs = _mm256_maddubs_epi16(u, _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)w)));
    __m256i q = _mm256_madd_epi16(pairs, _mm256_set1_epi16(TL_ROW_BYTES));
    q = _mm256_add_epi32(q, _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)base)));
    q = _mm256_permute4x64_epi64(_mm256_packus_epi32(q, q), 0x08); /* quadwords 0 and 2 */
    _mm_storeu_si128((__m128i *)out, _mm256_castsi256_si128(q));
}
/* Two 32-bit gathers at int16 addresses (even lanes, odd lanes); the low half of each
 * 32-bit element is the wanted value, so a blend puts them back in lane order. */
TL_FN vs16 avx2_gather16(const int16_t *tab, vs16 idx) {
    const __m256i even = _mm256_and_si256(idx, _mm256_set1_epi32(0xFFFF));
    const __m256i odd = _mm256_srli_epi32(idx, 16);
    const __m256i ge = _mm256_i32gather_epi32((const int *)tab, even, 2);
    const __m256i go = _mm256_i32gather_epi32((const int *)tab, odd, 2);
    return _mm256_blend_epi16(ge, _mm256_slli_epi32(go, 16), 0xAA);
}

typedef __m128i vb;
TL_FN vb avx2_b_loadu(const int8_t *p) { return _mm_loadu_si128((const __m128i *)p); }
TL_FN void avx2_b_storeu(int8_t *p, vb a) { _mm_storeu_si128((__m128i *)p, a); }
TL_FN vb avx2_b_shuf(vb a, vb ctl) { return _mm_shuffle_epi8(a, ctl); }
TL_FN vb avx2_b_zlo(vb a, vb b) { return _mm_unpacklo_epi8(a, b); }
TL_FN vb avx2_b_zhi(vb a, vb b) { return _mm_unpackhi_epi8(a, b); }
TL_FN vb avx2_packu8(vs16 a) { return _mm_packus_epi16(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1)); }
#define avx2_b_tr4x4 sse41_b_tr4x4 /* 128-bit work, as grp4 */
#define avx2_b_store3 sse41_b_store3
#define avx2_b_store4 sse41_b_store4
typedef __m256i vb2;
TL_FN vb2 avx2_b2_loadu(const int8_t *p) { return _mm256_loadu_si256((const __m256i *)p); }
TL_FN vb2 avx2_b2_sub(vb2 a, vb2 b) { return _mm256_sub_epi8(a, b); }
TL_FN vb2 avx2_b2_set1(int v) { return _mm256_set1_epi8((char)v); }
/* TL_X86_LUT64 on 32 lanes: each 16-byte quarter broadcast to both halves */
TL_FN void avx2_lut64x2(const int8_t *tab, vb2 u, vs16 *a, vs16 *b) {
    const __m128i *q = (const __m128i *)(tab + TL_LUT_PLANE);
    const __m256i s16 = _mm256_set1_epi8(16);
    __m256i r = _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(_mm_load_si128(q)), u);
    for (int i = 1; i < 4; i++) {
        u = _mm256_sub_epi8(u, s16);
        r = _mm256_xor_si256(r, _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(_mm_load_si128(q + i)), u));
    }
    *a = _mm256_cvtepi8_epi16(_mm256_castsi256_si128(r));
    *b = _mm256_cvtepi8_epi16(_mm256_extracti128_si256(r, 1));
}

#include "simd_body.h"
#undef TL_FN
#undef TL_ENTRY
#undef NAME
#undef V

/* ---------------------------------------------------------------- AVX-512 (VL, BW, VBMI)
 * The AVX2 kernels (vs16 still one ymm register) with one change: a 64-entry byte look-up of
 * the per-channel DW (dwc8, TinyLUT-F's blocks) is one vpermi2b on the raw table instead of
 * four pshufb, three subtractions and three XORs (TinyLUT-F x4 RGB: 83 -> 63 ms on one thread
 * of the Zen 4 VM; TinyLUT-S has no such stage and runs as fast as on AVX2). */
#define TL_FN static inline __attribute__((always_inline, target("avx2,avx512f,avx512bw,avx512vl,avx512vbmi")))
#define TL_ENTRY static __attribute__((target("avx2,avx512f,avx512bw,avx512vl,avx512vbmi")))
#define NAME(x) x##_avx512
#define V(op) avx2_##op /* the AVX2 operations, but for: */

TL_FN void avx512_lut64x2(const int8_t *tab, vb2 u, vs16 *a, vs16 *b) {
    const __m256i r = _mm256_permutex2var_epi8(_mm256_loadu_si256((const __m256i *)tab), u,
                                               _mm256_loadu_si256((const __m256i *)(tab + 32)));
    *a = _mm256_cvtepi8_epi16(_mm256_castsi256_si128(r));
    *b = _mm256_cvtepi8_epi16(_mm256_extracti128_si256(r, 1));
}
#define avx2_lut64x2 avx512_lut64x2

#include "simd_body.h"
#undef avx2_lut64x2

/* Window tables up to 4 MiB (kernels.h): the shipped x4 models need 655 KiB (S) and 955 KiB (F)
 * in the form with ids; an x86 L3 holds the 4 MiB form a branch with more states would need. */
#define TL_X86_WT_BYTES (4 << 20)
const tl_kernels tl_kernels_sse41 = {1, dw_sse41, pw_sse41, merge_sse41, emit_sse41, interleave_sse41,
                                     wt_sse41, TL_X86_WT_BYTES};
const tl_kernels tl_kernels_avx2 = {1, dw_avx2, pw_avx2, merge_avx2, emit_avx2, interleave_avx2,
                                    wt_avx2, TL_X86_WT_BYTES};
const tl_kernels tl_kernels_avx512 = {1, dw_avx512, pw_avx512, merge_avx512, emit_avx512,
                                      interleave_avx512, wt_avx512, TL_X86_WT_BYTES};

#endif
