/* Chooses the stage kernels for an instruction set; the scalar path is always there.
 * x86: the SIMD paths are compiled into every x86-64 build and offered only when this CPU
 * (and OS) runs them; aarch64 always has NEON. No state: the CPU is asked on every call. */
#include "kernels.h"

static const char *const isa_names[TL_ISA_COUNT] = {"scalar", "neon", "sse41", "avx2", "avx512"};

const char *tl_isa_name(int isa) {
    return (isa >= 0 && isa < TL_ISA_COUNT) ? isa_names[isa] : "unknown";
}

int tl_isa_available(int isa) {
    return tl_kernels_for(isa) != NULL;
}

int tl_isa_best(void) {
    static const int order[] = {TL_ISA_AVX512, TL_ISA_AVX2, TL_ISA_SSE41, TL_ISA_NEON, TL_ISA_SCALAR};
    for (unsigned i = 0; i < sizeof order / sizeof order[0]; i++)
        if (tl_isa_available(order[i])) return order[i];
    return TL_ISA_SCALAR;
}

const tl_kernels *tl_kernels_for(int isa) {
    switch (isa) {
    case TL_ISA_SCALAR:
        return &tl_kernels_scalar;
#if defined(__aarch64__)
    case TL_ISA_NEON:
        return &tl_kernels_neon;
#endif
#if defined(TL_HAVE_X86_SIMD)
    case TL_ISA_SSE41:
        __builtin_cpu_init();
        return __builtin_cpu_supports("sse4.1") ? &tl_kernels_sse41 : NULL;
    case TL_ISA_AVX2:
        __builtin_cpu_init(); /* libgcc checks that the OS saves the ymm registers too */
        return __builtin_cpu_supports("avx2") ? &tl_kernels_avx2 : NULL;
    case TL_ISA_AVX512: /* libgcc also checks that the OS saves the AVX-512 state */
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("avx512f") &&
                       __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
                       __builtin_cpu_supports("avx512vbmi")
                   ? &tl_kernels_avx512
                   : NULL;
#endif
    default:
        return NULL;
    }
}
