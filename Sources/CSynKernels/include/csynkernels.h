#ifndef CSYNKERNELS_H
#define CSYNKERNELS_H

#include <stdint.h>

/// Weight storage formats the matrix kernel reads directly (values are ggml type numbers).
enum {
    CSYN_W_F32 = 0,
    CSYN_W_F16 = 1,
    CSYN_W_Q4_0 = 2,
    CSYN_W_Q4_1 = 3,
    CSYN_W_Q8_0 = 8,
};

/// Whether the AVX2+FMA+F16C code paths are in use on this CPU (otherwise portable C).
int csyn_kernels_simd(void);

/// Gives malloc's free pages back to the system (glibc malloc_trim(0); nothing elsewhere).
void csyn_malloc_trim(void);

/// y[i * ldy + j] = sum_k x[i * ldx + k] * W[j][k] for rows i in [0, m) and weight rows j in [n0, n1).
///
/// W has one row of `k` values per output feature, `row_bytes` bytes apart, stored as `wtype`.
/// F32 and F16 rows are multiplied in Float32 (F16 dequantized into a small panel); Q4_0, Q4_1 and
/// Q8_0 rows go through `csyn_quantize_q8` + `csyn_matmul_q8` (csynquant.h: x quantized to 8 bits,
/// integer block products), the arithmetic llama.cpp uses for these formats. Every output element is computed with the same arithmetic, in the same
/// order, whatever m, n0, n1 and the element's position: a row's result does not depend on the other
/// rows of x (batch invariance) nor on how the columns are split across threads.
/// k must be a multiple of 32 for quantized types.
void csyn_matmul_nt(const float *x, int64_t m, int64_t k, int64_t ldx,
                    const void *w, int32_t wtype, int64_t row_bytes, int64_t n0, int64_t n1,
                    float *y, int64_t ldy);

/// Dequantizes `count` values (a multiple of 32 for quantized types) of one row into `out`,
/// with the same arithmetic as the matrix kernel's panels.
void csyn_dequantize_row(const void *w, int32_t wtype, int64_t count, float *out);

/// The dot product of x and y (n values) with the kernel's fixed 8-lane accumulation order.
float csyn_dot(const float *x, const float *y, int64_t n);

/// out[i] += a * x[i] for i in [0, n).
void csyn_axpy(float a, const float *x, float *out, int64_t n);

/// One attention head for one query: scores[j] = (q . keys[j]) * scale for j < count (rows of `dim`
/// floats, `dim` apart), softmax, out = sum_j p_j values[j]. `scores` is scratch of `count` floats.
void csyn_attend(const float *q, const float *keys, const float *values, int64_t count, int64_t dim, float scale,
                 float *out, float *scores);

#endif
