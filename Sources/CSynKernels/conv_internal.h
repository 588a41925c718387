// Pieces shared by the convolution kernels of both layouts (conv.c: padded and stacked planes;
// conv_dense.c: the dense layout). Private to CSynKernels.
#ifndef CSYN_CONV_INTERNAL_H
#define CSYN_CONV_INTERNAL_H

#include "csynconv.h"

/// A block of `csyn_conv_block`: 3 vectors of 16 positions, each with its own input base, row of tap
/// masks, output base and optional residual base and per-image shift row. A vector that does not
/// exist has an all-zero mask row and a null output.
typedef struct {
    const float *in[3];
    const uint16_t *mask[3];
    float *out[3];
    const float *res[3];
    const float *shift[3];
} csyn_conv_block_t;

/// 8 output channels x the block's 3 vectors in registers: the sum over input channels c, then taps t,
/// of w * x (x a masked-off lane's zero where mask[v][t] clears it), then + bias[j], + shift[v][j],
/// + residual; input channels are `in_stride` floats apart, output (and residual) channels
/// `out_stride`. `wide` selects the AVX-512 path (the portable one's sums in the same order, each multiply-add fused);
/// `flags` are hints for it (CSYN_BLOCK_*); masked-off lanes are skipped either way.
void csyn_conv_block(const csyn_conv_block_t *b, int64_t c_in, int64_t in_stride, int64_t out_stride, const float *wb,
                     const int64_t *offsets, int64_t taps, int64_t ob_count, const float *bias, int wide, int flags);

/// Whether path (CSYN_PATH_*) runs the AVX-512 kernels (1) or portable C (0; also for CSYN_PATH_AVX2, which
/// the convolutions lack), or -1 for a path that is unknown or that this CPU cannot run.
static inline int csyn_conv_wide(int path) {
    if (path < CSYN_PATH_PORTABLE || path > CSYN_PATH_AVX512) return -1;
    if (path < CSYN_PATH_AVX512) return 0;
    return csyn_conv_avx512() ? 1 : -1;
}

/// All 16 floats at every vector's base + c * in_stride + offsets[t] are readable, so they may be
/// loaded unmasked.
#define CSYN_BLOCK_FULL_LOADS 1
/// The three vectors exist and use the same row of masks.
#define CSYN_BLOCK_SHARED_MASK 2

#endif
