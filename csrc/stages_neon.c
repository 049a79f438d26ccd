/* aarch64 NEON stage kernels (simd_body.h over int16x8x2_t). NEON is part of base armv8-a,
 * so no flag and no run-time check; only armv8.0 instructions (Cortex-A72, Raspberry Pi 4). */
#include "kernels.h"

#if defined(__aarch64__)
#include <arm_neon.h>
#include <string.h>

#define TL_FN static inline __attribute__((always_inline))
#define TL_ENTRY static
#define NAME(x) x##_neon
#define V(op) neon_##op

typedef int16x8x2_t vs16;
typedef struct {
    uint8x16_t c[2]; /* tbl indices of each result half into the 32 bytes of the input */
} vperm;

TL_FN vs16 neon_pair(int16x8_t l, int16x8_t h) {
    vs16 r;
    r.val[0] = l;
    r.val[1] = h;
    return r;
}
TL_FN vs16 neon_zero(void) { return neon_pair(vdupq_n_s16(0), vdupq_n_s16(0)); }
TL_FN vs16 neon_set1(int v) { return neon_pair(vdupq_n_s16((int16_t)v), vdupq_n_s16((int16_t)v)); }
TL_FN vs16 neon_load(const int16_t *p) { return vld1q_s16_x2(p); } /* one ld1 of 32 bytes */
TL_FN vs16 neon_loadu(const int16_t *p) { return neon_load(p); }
TL_FN void neon_store(int16_t *p, vs16 a) {
    vst1q_s16(p, a.val[0]);
    vst1q_s16(p + 8, a.val[1]);
}
TL_FN vs16 neon_load8(const int8_t *p) {
    const int8x16_t v = vld1q_s8(p);
    return neon_pair(vmovl_s8(vget_low_s8(v)), vmovl_high_s8(v));
}
#define NEON_OP2(name, intrin) \
    TL_FN vs16 neon_##name(vs16 a, vs16 b) { return neon_pair(intrin(a.val[0], b.val[0]), intrin(a.val[1], b.val[1])); }
NEON_OP2(add, vaddq_s16)
NEON_OP2(sub, vsubq_s16)
NEON_OP2(and, vandq_s16)
NEON_OP2(xor, veorq_s16)
NEON_OP2(min, vminq_s16)
NEON_OP2(max, vmaxq_s16)
NEON_OP2(mullo, vmulq_s16)
#undef NEON_OP2
TL_FN vs16 neon_srai1(vs16 a) { return neon_pair(vshrq_n_s16(a.val[0], 1), vshrq_n_s16(a.val[1], 1)); }
TL_FN vs16 neon_srai4(vs16 a) { return neon_pair(vshrq_n_s16(a.val[0], 4), vshrq_n_s16(a.val[1], 4)); }
TL_FN vs16 neon_slli5(vs16 a) { return neon_pair(vshlq_n_s16(a.val[0], 5), vshlq_n_s16(a.val[1], 5)); }
/* x * 7282 >> 16 for 0 <= x < 2^15: the doubling multiply-high by 3641 never saturates here */
TL_FN vs16 neon_div9(vs16 a) { return neon_pair(vqdmulhq_n_s16(a.val[0], 3641), vqdmulhq_n_s16(a.val[1], 3641)); }
TL_FN void neon_perm_prep(const int *perm, vperm *c) {
    uint8_t idx[32];
    for (int t = 0; t < 16; t++) { /* result lane perm[t] is input lane t */
        idx[2 * perm[t]] = (uint8_t)(2 * t);
        idx[2 * perm[t] + 1] = (uint8_t)(2 * t + 1);
    }
    c->c[0] = vld1q_u8(idx);
    c->c[1] = vld1q_u8(idx + 16);
}
TL_FN vs16 neon_permute(vs16 a, const vperm *c) {
    uint8x16x2_t t;
    t.val[0] = vreinterpretq_u8_s16(a.val[0]);
    t.val[1] = vreinterpretq_u8_s16(a.val[1]);
    return neon_pair(vreinterpretq_s16_u8(vqtbl2q_u8(t, c->c[0])), vreinterpretq_s16_u8(vqtbl2q_u8(t, c->c[1])));
}
/* Offsets of 4 groups of 4 channels: 32 * (sum of (v - lo) * w) + base, as uint16. */
TL_FN void neon_grp4v(int8x16_t v, int lo, const int8_t *w, const int32_t *base, uint16_t *out) {
    const uint8x16_t u = vreinterpretq_u8_s8(vsubq_s8(v, vdupq_n_s8((int8_t)lo)));
    const uint8x16_t m = vmulq_u8(u, vreinterpretq_u8_s8(vld1q_s8(w))); /* <= 3 * 64 */
    uint32x4_t q = vpaddlq_u16(vpaddlq_u8(m));
    q = vaddq_u32(vshlq_n_u32(q, 5), vreinterpretq_u32_s32(vld1q_s32(base)));
    vst1_u16(out, vmovn_u32(q));
}
TL_FN void neon_grp4(const int8_t *in, int lo, const int8_t *w, const int32_t *base, uint16_t *out) {
    neon_grp4v(vld1q_s8(in), lo, w, base, out);
}
TL_FN int8x16_t neon_pack8(vs16 a) { return vqmovn_high_s16(vqmovn_s16(a.val[0]), a.val[1]); }

#define neon_gather16 NAME(gather16_lanes) /* no gather instruction: lane by lane */
TL_FN void neon_grp4x2(const int8_t *in, int lo, const int8_t *w, const int32_t *base, uint16_t *out) {
    neon_grp4(in, lo, w, base, out);
    neon_grp4(in + 16, lo, w, base, out + 4);
}

typedef int8x16_t vb;
TL_FN vb neon_b_loadu(const int8_t *p) { return vld1q_s8(p); }
TL_FN void neon_b_storeu(int8_t *p, vb a) { vst1q_s8(p, a); }
TL_FN vb neon_b_shuf(vb a, vb ctl) { return vqtbl1q_s8(a, vreinterpretq_u8_s8(ctl)); }
TL_FN vb neon_b_zlo(vb a, vb b) { return vzip1q_s8(a, b); }
TL_FN vb neon_b_zhi(vb a, vb b) { return vzip2q_s8(a, b); }
TL_FN vb neon_packu8(vs16 a) { return vreinterpretq_s8_u8(vqmovun_high_s16(vqmovun_s16(a.val[0]), a.val[1])); }
TL_FN void neon_b_tr4x4(vb a[4]) {
    const uint32x4_t a0 = vreinterpretq_u32_s8(a[0]), a1 = vreinterpretq_u32_s8(a[1]);
    const uint32x4_t a2 = vreinterpretq_u32_s8(a[2]), a3 = vreinterpretq_u32_s8(a[3]);
    const uint64x2_t t0 = vreinterpretq_u64_u32(vtrn1q_u32(a0, a1)), t1 = vreinterpretq_u64_u32(vtrn2q_u32(a0, a1));
    const uint64x2_t t2 = vreinterpretq_u64_u32(vtrn1q_u32(a2, a3)), t3 = vreinterpretq_u64_u32(vtrn2q_u32(a2, a3));
    a[0] = vreinterpretq_s8_u64(vtrn1q_u64(t0, t2));
    a[1] = vreinterpretq_s8_u64(vtrn1q_u64(t1, t3));
    a[2] = vreinterpretq_s8_u64(vtrn2q_u64(t0, t2));
    a[3] = vreinterpretq_s8_u64(vtrn2q_u64(t1, t3));
}
TL_FN void neon_b_store3(int8_t *p, vb r, vb g, vb b) {
    int8x16x3_t v;
    v.val[0] = r;
    v.val[1] = g;
    v.val[2] = b;
    vst3q_s8(p, v);
}
TL_FN void neon_b_store4(int8_t *p, vb r, vb g, vb b, vb a) {
    int8x16x4_t v;
    v.val[0] = r;
    v.val[1] = g;
    v.val[2] = b;
    v.val[3] = a;
    vst4q_s8(p, v);
}
typedef int8x16x2_t vb2;
TL_FN vb2 neon_b2_loadu(const int8_t *p) { return vld1q_s8_x2(p); }
TL_FN vb2 neon_b2_sub(vb2 a, vb2 b) {
    a.val[0] = vsubq_s8(a.val[0], b.val[0]);
    a.val[1] = vsubq_s8(a.val[1], b.val[1]);
    return a;
}
TL_FN vb2 neon_b2_set1(int v) {
    vb2 r;
    r.val[0] = r.val[1] = vdupq_n_s8((int8_t)v);
    return r;
}
/* one tbl of four registers looks up 16 bytes in a 64-byte table (0 past it) */
TL_FN void neon_lut64x2(const int8_t *tab, vb2 u, vs16 *a, vs16 *b) {
    const int8x16x4_t t = vld1q_s8_x4(tab);
    const int8x16_t r0 = vqtbl4q_s8(t, vreinterpretq_u8_s8(u.val[0]));
    const int8x16_t r1 = vqtbl4q_s8(t, vreinterpretq_u8_s8(u.val[1]));
    *a = neon_pair(vmovl_s8(vget_low_s8(r0)), vmovl_high_s8(r0));
    *b = neon_pair(vmovl_s8(vget_low_s8(r1)), vmovl_high_s8(r1));
}

#include "simd_body.h"

/* Window tables only up to 512 KiB (the denoisers' 256 KiB, not x4's 655 KiB): a Cortex-A72 has
 * 1 MiB of L2 for four cores and no L3, and reads from DRAM cannot be timed here (kernels.h). */
const tl_kernels tl_kernels_neon = {1, dw_neon, pw_neon, merge_neon, emit_neon, interleave_neon,
                                    wt_neon, 512 << 10};

#endif
