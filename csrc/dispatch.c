/* Chooses the stage kernels for an instruction set; the scalar path is always there. */
#include "kernels.h"

static const char *const isa_names[TL_ISA_COUNT] = {"scalar", "neon", "sse41", "avx2"};

const char *tl_isa_name(int isa) {
    return (isa >= 0 && isa < TL_ISA_COUNT) ? isa_names[isa] : "unknown";
}

int tl_isa_available(int isa) {
    return tl_kernels_for(isa) != NULL;
}

int tl_isa_best(void) {
    static const int order[] = {TL_ISA_AVX2, TL_ISA_SSE41, TL_ISA_NEON, TL_ISA_SCALAR};
    for (unsigned i = 0; i < sizeof order / sizeof order[0]; i++)
        if (tl_isa_available(order[i])) return order[i];
    return TL_ISA_SCALAR;
}

const tl_kernels *tl_kernels_for(int isa) {
    switch (isa) {
    case TL_ISA_SCALAR:
        return &tl_kernels_scalar;
    default:
        return NULL;
    }
}
