#ifndef CSYNPOINTWISE_H
#define CSYNPOINTWISE_H

#include <stdint.h>
#include "csyncpu.h"

/// y[i] = 0.5 x[i] (1 + erf(x[i] / sqrt 2)) for i < n (exact GELU; AVX-512, AVX2 or portable, chosen at run time).
void csyn_gelu_forward(const float *x, float *y, int64_t n);

/// dx[i] = g[i] (Phi(x[i]) + x[i] phi(x[i])) for i < n, the exact GELU's backward.
void csyn_gelu_backward(const float *g, const float *x, float *dx, int64_t n);

/// The GELU kernels on a given path (CSYN_PATH_*, for tests); 0, or -1 when this CPU lacks it.
int csyn_gelu_forward_on(int path, const float *x, float *y, int64_t n);
int csyn_gelu_backward_on(int path, const float *g, const float *x, float *dx, int64_t n);

/// out[r] = log sum_i exp(x[r n + i]) for r < rows (max-shifted, 16-lane sums, the lanes added in double).
void csyn_logsumexp_rows(const float *x, float *out, int64_t rows, int64_t n);

/// `csyn_logsumexp_rows` on a given path (CSYN_PATH_*, for tests); 0, or -1 when this CPU lacks it.
int csyn_logsumexp_rows_on(int path, const float *x, float *out, int64_t rows, int64_t n);

#endif
