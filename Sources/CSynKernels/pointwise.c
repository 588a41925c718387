// Elementwise activations in wide vectors. Swift compiles for baseline x86-64, so its loops over
// these functions run in 4-float SSE without FMA; here the same approximations as
// Sources/SynTensor/Kernels/FastMath.swift (erf as x P(x^2)/Q(x^2) on [-4, 4], Cephes-style exp) run in
// 16-float vectors, instantiated for AVX-512, AVX2+FMA and the portable baseline, chosen at run time.

#include "csynpointwise.h"
#include "csynattention.h"

#if defined(__x86_64__) || defined(__i386__)
#define CSYN_PW_X86 1
#else
#define CSYN_PW_X86 0
#endif

// The vector helpers are always inlined into one instruction-set variant, so no vector ever crosses
// a call boundary and the AVX ABI note does not apply.
#pragma clang diagnostic ignored "-Wpsabi"

typedef float pv16 __attribute__((vector_size(64)));
typedef float pv16u __attribute__((vector_size(64), aligned(4)));
typedef int32_t pi16 __attribute__((vector_size(64)));

#define PINLINE static inline __attribute__((always_inline))

PINLINE pv16 psplat(float s) {
    pv16 r = {s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s};
    return r;
}
PINLINE pv16 pld(const float *p) { return *(const pv16u *)p; }
PINLINE void pst(float *p, pv16 x) { *(pv16u *)p = x; }
PINLINE pv16 psel(pi16 m, pv16 a, pv16 b) { return (pv16)(((pi16)a & m) | ((pi16)b & ~m)); }
PINLINE pv16 pclamp(pv16 x, float lo, float hi) {
    x = psel(x < psplat(lo), psplat(lo), x);
    return psel(x > psplat(hi), psplat(hi), x);
}

PINLINE pv16 perf(pv16 xin) {
    pv16 x = pclamp(xin, -4, 4), x2 = x * x;
    pv16 p = psplat(-2.72614225801306e-10f);
    p = p * x2 + psplat(2.77068142495902e-08f);
    p = p * x2 + psplat(-2.10102402082508e-06f);
    p = p * x2 + psplat(-5.69250639462346e-05f);
    p = p * x2 + psplat(-7.34990630326855e-04f);
    p = p * x2 + psplat(-2.95459980854025e-03f);
    p = p * x2 + psplat(-1.60960333262415e-02f);
    p = p * x;
    pv16 q = psplat(-1.45660718464996e-05f);
    q = q * x2 + psplat(-2.13374055278905e-04f);
    q = q * x2 + psplat(-1.68282697438203e-03f);
    q = q * x2 + psplat(-7.37332916720468e-03f);
    q = q * x2 + psplat(-1.42647390514189e-02f);
    return p / q;
}

// e^x for x <= 0 (GELU's density term), 0 below -87.33654.
PINLINE pv16 pexp(pv16 xin) {
    pi16 live = xin >= psplat(-87.33654f);
    pv16 x = pclamp(xin, -87.33654f, 0);
    pv16 n = (x * psplat(1.4426950408889634f) + psplat(12582912.0f)) - psplat(12582912.0f);
    pv16 r = x - n * psplat(0.693359375f);
    r = r + n * psplat(2.12194440e-4f);
    pv16 p = psplat(1.9875691500e-4f);
    p = p * r + psplat(1.3981999507e-3f);
    p = p * r + psplat(8.3334519073e-3f);
    p = p * r + psplat(4.1665795894e-2f);
    p = p * r + psplat(1.6666665459e-1f);
    p = p * r + psplat(5.0000001201e-1f);
    p = p * r * r + r + psplat(1.0f);
    pi16 e = (__builtin_convertvector(n, pi16) + 127) << 23;
    return (pv16)((pi16)(p * (pv16)e) & live);
}

PINLINE pv16 gelu_v(pv16 x) { return psplat(0.5f) * x * (psplat(1) + perf(x * psplat(0.70710678118654752f))); }

PINLINE pv16 gelu_grad_v(pv16 g, pv16 x) {
    pv16 cdf = psplat(0.5f) * (psplat(1) + perf(x * psplat(0.70710678118654752f)));
    pv16 pdf = psplat(0.3989422804014327f) * pexp(psplat(-0.5f) * x * x);
    return g * (cdf + x * pdf);
}

// The tail (n mod 16) goes through a zero-padded vector so every element uses the same arithmetic.
PINLINE void forward_impl(const float *x, float *y, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) pst(y + i, gelu_v(pld(x + i)));
    if (i < n) {
        float tx[16] = {0}, ty[16];
        for (int64_t j = i; j < n; j++) tx[j - i] = x[j];
        pst(ty, gelu_v(pld(tx)));
        for (int64_t j = i; j < n; j++) y[j] = ty[j - i];
    }
}

PINLINE void backward_impl(const float *g, const float *x, float *dx, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) pst(dx + i, gelu_grad_v(pld(g + i), pld(x + i)));
    if (i < n) {
        float tg[16] = {0}, tx[16] = {0}, td[16];
        for (int64_t j = i; j < n; j++) { tg[j - i] = g[j]; tx[j - i] = x[j]; }
        pst(td, gelu_grad_v(pld(tg), pld(tx)));
        for (int64_t j = i; j < n; j++) dx[j] = td[j - i];
    }
}

static void gelu_forward_portable(const float *x, float *y, int64_t n) { forward_impl(x, y, n); }
static void gelu_backward_portable(const float *g, const float *x, float *dx, int64_t n) { backward_impl(g, x, dx, n); }
#if CSYN_PW_X86
__attribute__((target("avx2,fma"))) static void gelu_forward_avx2(const float *x, float *y, int64_t n) { forward_impl(x, y, n); }
__attribute__((target("avx2,fma"))) static void gelu_backward_avx2(const float *g, const float *x, float *dx, int64_t n) {
    backward_impl(g, x, dx, n);
}
__attribute__((target("avx512f,avx2,fma"))) static void gelu_forward_avx512(const float *x, float *y, int64_t n) {
    forward_impl(x, y, n);
}
__attribute__((target("avx512f,avx2,fma"))) static void gelu_backward_avx512(const float *g, const float *x, float *dx, int64_t n) {
    backward_impl(g, x, dx, n);
}
#endif

void csyn_gelu_forward(const float *x, float *y, int64_t n) {
#if CSYN_PW_X86
    switch (csyn_attention_simd()) {
    case 2: gelu_forward_avx512(x, y, n); return;
    case 1: gelu_forward_avx2(x, y, n); return;
    default: break;
    }
#endif
    gelu_forward_portable(x, y, n);
}

void csyn_gelu_backward(const float *g, const float *x, float *dx, int64_t n) {
#if CSYN_PW_X86
    switch (csyn_attention_simd()) {
    case 2: gelu_backward_avx512(g, x, dx, n); return;
    case 1: gelu_backward_avx2(g, x, dx, n); return;
    default: break;
    }
#endif
    gelu_backward_portable(g, x, dx, n);
}
