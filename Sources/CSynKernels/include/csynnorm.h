#ifndef CSYNNORM_H
#define CSYNNORM_H

#include <stdint.h>
#include "csyncpu.h"

/// GroupNorm forward, optionally followed by SiLU in the same pass, for groups [g0, g1) of x [N, C, S].
///
/// Group i = n * G + g covers the C / G * S contiguous floats at x + i * (C / G) * S. Its mean and
/// 1 / sqrt(var + eps) (biased variance, two passes) go to mean[i] and rstd[i];
/// y = z or, with `silu` nonzero, z * sigmoid(z), where z = (x - mean) * rstd * w[c] + b[c]
/// (w, b may be NULL: 1 and 0). Groups are independent, so threads can take disjoint ranges.
void csyn_groupnorm_forward(const float *x, const float *w, const float *b, float *y, float *mean, float *rstd,
                            int64_t C, int64_t S, int64_t G, float eps, int32_t silu, int64_t g0, int64_t g1);

/// Backward of `csyn_groupnorm_forward` for groups [g0, g1), from the saved mean and rstd.
///
/// dy is the gradient of y. With silu, dz = dy * s * (1 + z (1 - s)), s = sigmoid(z), z recomputed
/// from x; otherwise dz = dy. Writes the per-(n, c) partial sums dw_part[n * C + c] = sum dz * norm
/// and db_part[n * C + c] = sum dz (norm = (x - mean) * rstd; the caller sums them over n), and,
/// when dx is not NULL, dx = rstd * (dz * w - mean(dz * w) - norm * mean(dz * w * norm)) over the group.
void csyn_groupnorm_backward(const float *dy, const float *x, const float *w, const float *b,
                             const float *mean, const float *rstd, float *dx, float *dw_part, float *db_part,
                             int64_t C, int64_t S, int64_t G, int32_t silu, int64_t g0, int64_t g1);

/// Whether the normalization kernels run their AVX-512 path on this CPU (1) or portable C (0).
int csyn_norm_avx512(void);

/// The GroupNorm kernels on a given path (CSYN_PATH_*, for tests); 0, or -1 when this CPU lacks it.
int csyn_groupnorm_forward_on(int path, const float *x, const float *w, const float *b, float *y, float *mean,
                              float *rstd, int64_t C, int64_t S, int64_t G, float eps, int32_t silu, int64_t g0,
                              int64_t g1);
int csyn_groupnorm_backward_on(int path, const float *dy, const float *x, const float *w, const float *b,
                               const float *mean, const float *rstd, float *dx, float *dw_part, float *db_part,
                               int64_t C, int64_t S, int64_t G, int32_t silu, int64_t g0, int64_t g1);

#endif
