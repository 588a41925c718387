// GroupNorm with an optional SiLU in the same pass (the UNet's norm -> SiLU pairs), forward and
// backward. Separately, GroupNorm, SiLU and SiLU's gradient each read and write the whole activation
// and allocate a temporary; fused, the forward reads x twice for the statistics (the group stays in
// cache) and writes y once, and the backward recomputes z and sigmoid(z) from x instead of storing them.
//
// The bodies use 16-float GNU vectors; they are compiled once for AVX-512 and once for the baseline
// target (where the compiler splits the vectors) and chosen at run time.
#include "csynnorm.h"
#include "simd16.h"
#include <stdlib.h>
#include <string.h>

/// sigmoid(z) without a branch: e = e^-|z|, 1 / (1 + e) for z >= 0, e / (1 + e) below.
INLINE v16 vsigmoid(v16 z) {
    i16v neg = z < 0.0f;
    v16 a = vsel(neg, -z, z);
    v16 e = vexp_nonpos(-a);
    v16 inv = 1.0f / (1.0f + e);
    return vsel(neg, e * inv, inv);
}

static float exp_nonpos_scalar(float x) {
    v16 v = vexp_nonpos(splat(x));
    return v[0];
}

static float sigmoid_scalar(float z) {
    float e = exp_nonpos_scalar(z < 0 ? z : -z);
    float inv = 1.0f / (1.0f + e);
    return z < 0 ? e * inv : inv;
}

INLINE void forward_body(const float *x, const float *w, const float *b, float *y, float *mean, float *rstd,
                         int64_t C, int64_t S, int64_t G, float eps, int32_t silu, int64_t g0, int64_t g1) {
    const int64_t cg = C / G, m = cg * S;
    for (int64_t grp = g0; grp < g1; grp++) {
        const float *xr = x + grp * m;
        float *yr = y + grp * m;
        v16 acc = splat(0);
        int64_t i = 0;
        for (; i + VL <= m; i += VL) acc += ld(xr + i);
        float sum = hsum(acc);
        for (; i < m; i++) sum += xr[i];
        const float mu = sum / (float)m;
        acc = splat(0);
        i = 0;
        for (; i + VL <= m; i += VL) { v16 d = ld(xr + i) - mu; acc += d * d; }
        float ss = hsum(acc);
        for (; i < m; i++) { float d = xr[i] - mu; ss += d * d; }
        const float rs = 1.0f / __builtin_sqrtf(ss / (float)m + eps);
        mean[grp] = mu;
        rstd[grp] = rs;
        const int64_t g = grp % G;
        for (int64_t cl = 0; cl < cg; cl++) {
            const int64_t c = g * cg + cl;
            const float scale = rs * (w ? w[c] : 1.0f);
            const float shift = (b ? b[c] : 0.0f) - mu * scale;
            const float *xc = xr + cl * S;
            float *yc = yr + cl * S;
            int64_t k = 0;
            if (silu) {
                for (; k + VL <= S; k += VL) {
                    v16 z = ld(xc + k) * scale + shift;
                    st(yc + k, z * vsigmoid(z));
                }
                for (; k < S; k++) { float z = xc[k] * scale + shift; yc[k] = z * sigmoid_scalar(z); }
            } else {
                for (; k + VL <= S; k += VL) st(yc + k, ld(xc + k) * scale + shift);
                for (; k < S; k++) yc[k] = xc[k] * scale + shift;
            }
        }
    }
}

INLINE void backward_body(const float *dy, const float *x, const float *w, const float *b,
                          const float *mean, const float *rstd, float *dx, float *dw_part, float *db_part,
                          int64_t C, int64_t S, int64_t G, int32_t silu, int64_t g0, int64_t g1, float *dz) {
    const int64_t cg = C / G, m = cg * S;
    for (int64_t grp = g0; grp < g1; grp++) {
        const int64_t n = grp / G, g = grp % G;
        const float mu = mean[grp], rs = rstd[grp];
        const float *xr = x + grp * m, *dyr = dy + grp * m;
        float sumD = 0, sumDN = 0;
        for (int64_t cl = 0; cl < cg; cl++) {
            const int64_t c = g * cg + cl;
            const float wc = w ? w[c] : 1.0f;
            const float scale = rs * wc, shift = (b ? b[c] : 0.0f) - mu * scale;
            const float *xc = xr + cl * S, *dyc = dyr + cl * S;
            float *dzc = dz + cl * S;
            v16 aDN = splat(0), aD = splat(0);
            int64_t k = 0;
            for (; k + VL <= S; k += VL) {
                v16 xv = ld(xc + k), d = ld(dyc + k);
                if (silu) {
                    v16 z = xv * scale + shift;
                    v16 s = vsigmoid(z);
                    d = d * s * (1.0f + z * (1.0f - s));
                }
                st(dzc + k, d);
                aDN += d * ((xv - mu) * rs);
                aD += d;
            }
            float sdn = hsum(aDN), sd = hsum(aD);
            for (; k < S; k++) {
                float d = dyc[k];
                if (silu) {
                    float z = xc[k] * scale + shift, s = sigmoid_scalar(z);
                    d = d * s * (1.0f + z * (1.0f - s));
                }
                dzc[k] = d;
                sdn += d * ((xc[k] - mu) * rs);
                sd += d;
            }
            dw_part[n * C + c] = sdn;
            db_part[n * C + c] = sd;
            sumD += sd * wc;
            sumDN += sdn * wc;
        }
        if (!dx) continue;
        const float mD = sumD / (float)m, mDN = sumDN / (float)m;
        for (int64_t cl = 0; cl < cg; cl++) {
            const int64_t c = g * cg + cl;
            const float wc = w ? w[c] : 1.0f;
            const float *xc = xr + cl * S, *dzc = dz + cl * S;
            float *dxc = dx + grp * m + cl * S;
            int64_t k = 0;
            for (; k + VL <= S; k += VL) {
                v16 norm = (ld(xc + k) - mu) * rs;
                st(dxc + k, rs * (ld(dzc + k) * wc - mD - norm * mDN));
            }
            for (; k < S; k++) dxc[k] = rs * (dzc[k] * wc - mD - ((xc[k] - mu) * rs) * mDN);
        }
    }
}

#if defined(__x86_64__)
__attribute__((target("avx512f")))
static void forward_avx512(const float *x, const float *w, const float *b, float *y, float *mean, float *rstd,
                           int64_t C, int64_t S, int64_t G, float eps, int32_t silu, int64_t g0, int64_t g1) {
    forward_body(x, w, b, y, mean, rstd, C, S, G, eps, silu, g0, g1);
}

__attribute__((target("avx512f")))
static void backward_avx512(const float *dy, const float *x, const float *w, const float *b,
                            const float *mean, const float *rstd, float *dx, float *dw_part, float *db_part,
                            int64_t C, int64_t S, int64_t G, int32_t silu, int64_t g0, int64_t g1, float *dz) {
    backward_body(dy, x, w, b, mean, rstd, dx, dw_part, db_part, C, S, G, silu, g0, g1, dz);
}
#endif

int csyn_norm_avx512(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") ? 1 : 0;
#else
    return 0;
#endif
}

void csyn_groupnorm_forward(const float *x, const float *w, const float *b, float *y, float *mean, float *rstd,
                            int64_t C, int64_t S, int64_t G, float eps, int32_t silu, int64_t g0, int64_t g1) {
    (void)csyn_groupnorm_forward_on(csyn_norm_avx512() ? CSYN_PATH_AVX512 : CSYN_PATH_PORTABLE, x, w, b, y, mean, rstd,
                                    C, S, G, eps, silu, g0, g1);
}

int csyn_groupnorm_forward_on(int path, const float *x, const float *w, const float *b, float *y, float *mean,
                              float *rstd, int64_t C, int64_t S, int64_t G, float eps, int32_t silu, int64_t g0,
                              int64_t g1) {
    if (path < 0 || path > CSYN_PATH_AVX512 || (path == CSYN_PATH_AVX512 && !csyn_norm_avx512())) return -1;
#if defined(__x86_64__)
    if (path == CSYN_PATH_AVX512) {
        forward_avx512(x, w, b, y, mean, rstd, C, S, G, eps, silu, g0, g1);
        return 0;
    }
#endif
    forward_body(x, w, b, y, mean, rstd, C, S, G, eps, silu, g0, g1);
    return 0;
}

void csyn_groupnorm_backward(const float *dy, const float *x, const float *w, const float *b,
                             const float *mean, const float *rstd, float *dx, float *dw_part, float *db_part,
                             int64_t C, int64_t S, int64_t G, int32_t silu, int64_t g0, int64_t g1) {
    (void)csyn_groupnorm_backward_on(csyn_norm_avx512() ? CSYN_PATH_AVX512 : CSYN_PATH_PORTABLE, dy, x, w, b, mean, rstd,
                                     dx, dw_part, db_part, C, S, G, silu, g0, g1);
}

int csyn_groupnorm_backward_on(int path, const float *dy, const float *x, const float *w, const float *b,
                               const float *mean, const float *rstd, float *dx, float *dw_part, float *db_part,
                               int64_t C, int64_t S, int64_t G, int32_t silu, int64_t g0, int64_t g1) {
    if (path < 0 || path > CSYN_PATH_AVX512 || (path == CSYN_PATH_AVX512 && !csyn_norm_avx512())) return -1;
    // One group's dz stays in this scratch between the reduction and the dx pass.
    float *dz = malloc((size_t)(C / G * S) * sizeof(float) + 64);
    if (!dz) abort();
#if defined(__x86_64__)
    if (path == CSYN_PATH_AVX512) {
        backward_avx512(dy, x, w, b, mean, rstd, dx, dw_part, db_part, C, S, G, silu, g0, g1, dz);
        free(dz);
        return 0;
    }
#endif
    backward_body(dy, x, w, b, mean, rstd, dx, dw_part, db_part, C, S, G, silu, g0, g1, dz);
    free(dz);
    return 0;
}
