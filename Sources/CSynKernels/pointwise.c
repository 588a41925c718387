// Elementwise activations in wide vectors. Swift compiles for baseline x86-64, so its loops over
// these functions run in 4-float SSE without FMA; here the same approximations as
// Sources/SynTensor/Kernels/FastMath.swift (erf as x P(x^2)/Q(x^2) on [-4, 4], Cephes-style exp) run in
// 16-float vectors, instantiated for AVX-512, AVX2+FMA and the portable baseline, chosen at run time.

#include "csynpointwise.h"
#include "csynattention.h"
#include "simd16.h"

#include <math.h>

#if defined(__x86_64__) || defined(__i386__)
#define CSYN_PW_X86 1
#else
#define CSYN_PW_X86 0
#endif

INLINE v16 perf(v16 xin) {
    v16 x = vclamp(xin, -4, 4), x2 = x * x;
    v16 p = splat(-2.72614225801306e-10f);
    p = p * x2 + splat(2.77068142495902e-08f);
    p = p * x2 + splat(-2.10102402082508e-06f);
    p = p * x2 + splat(-5.69250639462346e-05f);
    p = p * x2 + splat(-7.34990630326855e-04f);
    p = p * x2 + splat(-2.95459980854025e-03f);
    p = p * x2 + splat(-1.60960333262415e-02f);
    p = p * x;
    v16 q = splat(-1.45660718464996e-05f);
    q = q * x2 + splat(-2.13374055278905e-04f);
    q = q * x2 + splat(-1.68282697438203e-03f);
    q = q * x2 + splat(-7.37332916720468e-03f);
    q = q * x2 + splat(-1.42647390514189e-02f);
    return p / q;
}

INLINE v16 gelu_v(v16 x) { return splat(0.5f) * x * (splat(1) + perf(x * splat(0.70710678118654752f))); }

INLINE v16 gelu_grad_v(v16 g, v16 x) {
    v16 cdf = splat(0.5f) * (splat(1) + perf(x * splat(0.70710678118654752f)));
    v16 pdf = splat(0.3989422804014327f) * vexp_nonpos(splat(-0.5f) * x * x);
    return g * (cdf + x * pdf);
}

// The tail (n mod 16) goes through a zero-padded vector so every element uses the same arithmetic.
INLINE void forward_impl(const float *x, float *y, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) st(y + i, gelu_v(ld(x + i)));
    if (i < n) {
        float tx[16] = {0}, ty[16];
        for (int64_t j = i; j < n; j++) tx[j - i] = x[j];
        st(ty, gelu_v(ld(tx)));
        for (int64_t j = i; j < n; j++) y[j] = ty[j - i];
    }
}

INLINE void backward_impl(const float *g, const float *x, float *dx, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) st(dx + i, gelu_grad_v(ld(g + i), ld(x + i)));
    if (i < n) {
        float tg[16] = {0}, tx[16] = {0}, td[16];
        for (int64_t j = i; j < n; j++) { tg[j - i] = g[j]; tx[j - i] = x[j]; }
        st(td, gelu_grad_v(ld(tg), ld(tx)));
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

void csyn_gelu_forward(const float *x, float *y, int64_t n) { (void)csyn_gelu_forward_on(csyn_attention_simd(), x, y, n); }

void csyn_gelu_backward(const float *g, const float *x, float *dx, int64_t n) {
    (void)csyn_gelu_backward_on(csyn_attention_simd(), g, x, dx, n);
}

int csyn_gelu_forward_on(int path, const float *x, float *y, int64_t n) {
    if (path < 0 || path > csyn_attention_simd()) return -1;
#if CSYN_PW_X86
    switch (path) {
    case 2: gelu_forward_avx512(x, y, n); return 0;
    case 1: gelu_forward_avx2(x, y, n); return 0;
    default: break;
    }
#endif
    gelu_forward_portable(x, y, n);
    return 0;
}

int csyn_gelu_backward_on(int path, const float *g, const float *x, float *dx, int64_t n) {
    if (path < 0 || path > csyn_attention_simd()) return -1;
#if CSYN_PW_X86
    switch (path) {
    case 2: gelu_backward_avx512(g, x, dx, n); return 0;
    case 1: gelu_backward_avx2(g, x, dx, n); return 0;
    default: break;
    }
#endif
    gelu_backward_portable(g, x, dx, n);
    return 0;
}

// log sum_i exp(x[i]): the row maximum, then exp(x - max) summed in 16 lanes (the same exp as
// SynTensor's scalar fastExp), the lanes added in double. -inf or +inf maximum: that maximum; any NaN: NaN.
INLINE float logsumexp_impl(const float *x, int64_t n) {
    v16 mx = splat(-INFINITY);
    i16v nan = {0};
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        v16 v = ld(x + i);
        nan |= v != v;
        mx = vmax(mx, v);
    }
    float m = hmax16(mx);
    for (int64_t j = i; j < n; j++) {
        if (x[j] != x[j]) return NAN;
        if (x[j] > m) m = x[j];
    }
    for (int l = 0; l < 16; l++)
        if (nan[l]) return NAN;
    if (m == -INFINITY || m == INFINITY) return m;
    v16 acc = splat(0), mv = splat(m);
    for (i = 0; i + 16 <= n; i += 16) acc += vexp_nonpos(ld(x + i) - mv);
    if (i < n) {
        float t[16];
        for (int l = 0; l < 16; l++) t[l] = i + l < n ? x[i + l] : -INFINITY;
        acc += vexp_nonpos(ld(t) - mv);
    }
    double s = 0;
    for (int l = 0; l < 16; l++) s += acc[l];
    return (float)log(s) + m;
}

INLINE void logsumexp_rows_impl(const float *x, float *out, int64_t rows, int64_t n) {
    for (int64_t r = 0; r < rows; r++) out[r] = logsumexp_impl(x + r * n, n);
}

static void logsumexp_rows_portable(const float *x, float *out, int64_t rows, int64_t n) { logsumexp_rows_impl(x, out, rows, n); }
#if CSYN_PW_X86
__attribute__((target("avx2,fma"))) static void logsumexp_rows_avx2(const float *x, float *out, int64_t rows, int64_t n) {
    logsumexp_rows_impl(x, out, rows, n);
}
__attribute__((target("avx512f,avx2,fma"))) static void logsumexp_rows_avx512(const float *x, float *out, int64_t rows, int64_t n) {
    logsumexp_rows_impl(x, out, rows, n);
}
#endif

void csyn_logsumexp_rows(const float *x, float *out, int64_t rows, int64_t n) {
    (void)csyn_logsumexp_rows_on(csyn_attention_simd(), x, out, rows, n);
}

int csyn_logsumexp_rows_on(int path, const float *x, float *out, int64_t rows, int64_t n) {
    if (path < 0 || path > csyn_attention_simd()) return -1;
#if CSYN_PW_X86
    switch (path) {
    case 2: logsumexp_rows_avx512(x, out, rows, n); return 0;
    case 1: logsumexp_rows_avx2(x, out, rows, n); return 0;
    default: break;
    }
#endif
    logsumexp_rows_portable(x, out, rows, n);
    return 0;
}
