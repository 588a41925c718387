// 16-float GNU vectors shared by the kernels written once and instantiated per instruction set
// (attention.c, pointwise.c, norm.c): the types, loads and stores, selects, horizontal reductions
// and one exp. Private to CSynKernels (not under include/).
//
// Every helper is always_inline, so no vector crosses a call boundary and the AVX argument-passing
// ABI that -Wpsabi warns about never applies; each including file silences that warning.
#ifndef CSYN_SIMD16_H
#define CSYN_SIMD16_H

#include <stdint.h>

#pragma clang diagnostic ignored "-Wpsabi"

typedef float v16 __attribute__((vector_size(64)));
typedef float v16u __attribute__((vector_size(64), aligned(4)));
typedef int32_t i16v __attribute__((vector_size(64)));
#define VL 16

#define INLINE static inline __attribute__((always_inline))

INLINE v16 splat(float s) {
    v16 r = {s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s};
    return r;
}
INLINE v16 ld(const float *p) { return *(const v16u *)p; }
INLINE void st(float *p, v16 x) { *(v16u *)p = x; }
INLINE v16 vsel(i16v mask, v16 a, v16 b) { return (v16)(((i16v)a & mask) | ((i16v)b & ~mask)); }
INLINE v16 vmax(v16 a, v16 b) { return vsel(a > b, a, b); }
INLINE v16 vclamp(v16 x, float lo, float hi) {
    x = vsel(x < splat(lo), splat(lo), x);
    return vsel(x > splat(hi), splat(hi), x);
}
INLINE float hmax(v16 x) {
    float m = x[0];
    for (int i = 1; i < VL; i++) m = x[i] > m ? x[i] : m;
    return m;
}
INLINE float hsum(v16 x) {
    float s = 0;
    for (int i = 0; i < VL; i++) s += x[i];
    return s;
}
// Pairwise (tree) reductions: four shuffle steps instead of fifteen dependent scalar ones. hsum16
// adds in a different order than hsum (kernels whose results are pinned keep hsum).
INLINE float hmax16(v16 x) {
    x = vmax(x, __builtin_shufflevector(x, x, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7));
    x = vmax(x, __builtin_shufflevector(x, x, 4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11));
    x = vmax(x, __builtin_shufflevector(x, x, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13));
    x = vmax(x, __builtin_shufflevector(x, x, 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14));
    return x[0];
}
INLINE float hsum16(v16 x) {
    x = x + __builtin_shufflevector(x, x, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7);
    x = x + __builtin_shufflevector(x, x, 4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11);
    x = x + __builtin_shufflevector(x, x, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
    x = x + __builtin_shufflevector(x, x, 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14);
    return x[0];
}

// e^x for x <= 0 (softmax scores minus their row maximum, GELU's density, the sigmoid's e^-|x|):
// x = n ln2 + r (Cody-Waite), Cephes expf's degree-6 polynomial on r, 2^n built in the exponent bits;
// the same constants as SynTensor's scalar fastExp. Exactly 0 below -87.33654 and for -inf.
INLINE v16 vexp_nonpos(v16 xin) {
    i16v live = xin >= splat(-87.33654f);
    v16 x = vclamp(xin, -87.33654f, 0);
    v16 n = (x * splat(1.4426950408889634f) + splat(12582912.0f)) - splat(12582912.0f);
    v16 r = x - n * splat(0.693359375f);
    r = r + n * splat(2.12194440e-4f);
    v16 p = splat(1.9875691500e-4f);
    p = p * r + splat(1.3981999507e-3f);
    p = p * r + splat(8.3334519073e-3f);
    p = p * r + splat(4.1665795894e-2f);
    p = p * r + splat(1.6666665459e-1f);
    p = p * r + splat(5.0000001201e-1f);
    p = p * r * r + r + splat(1.0f);
    i16v e = (__builtin_convertvector(n, i16v) + 127) << 23;
    return (v16)((i16v)(p * (v16)e) & live);
}

#endif
