// Direct convolution over padded planes (SynTensor's 3x3 and 1x1 convolutions, forward and input
// gradient). A block of 8 output channels x 48 positions stays in 24 AVX-512 registers for the whole
// sum over input channels and taps: each input vector is loaded once per tap and used by 8 FMAs,
// each weight is an embedded broadcast, and nothing is unfolded into memory.
#include "csynconv.h"

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx512f")))
static void block_avx512(const float *in, int64_t c_in, int64_t channel_stride, const float *wb,
                         const int64_t *offsets, int64_t taps, float *out, int64_t out_plane, int64_t ob_count,
                         int64_t p0) {
    __m512 a00 = _mm512_setzero_ps(), a01 = a00, a02 = a00, a10 = a00, a11 = a00, a12 = a00;
    __m512 a20 = a00, a21 = a00, a22 = a00, a30 = a00, a31 = a00, a32 = a00;
    __m512 a40 = a00, a41 = a00, a42 = a00, a50 = a00, a51 = a00, a52 = a00;
    __m512 a60 = a00, a61 = a00, a62 = a00, a70 = a00, a71 = a00, a72 = a00;
    for (int64_t c = 0; c < c_in; c++) {
        const float *plane = in + c * channel_stride + p0;
        const float *wc = wb + c * taps * CSYN_CONV_OB;
        for (int64_t t = 0; t < taps; t++) {
            const float *s = plane + offsets[t];
            const float *wt = wc + t * CSYN_CONV_OB;
            __m512 v0 = _mm512_loadu_ps(s), v1 = _mm512_loadu_ps(s + 16), v2 = _mm512_loadu_ps(s + 32);
            __m512 b;
#define ROW(j, x0, x1, x2) b = _mm512_set1_ps(wt[j]); \
            x0 = _mm512_fmadd_ps(b, v0, x0); x1 = _mm512_fmadd_ps(b, v1, x1); x2 = _mm512_fmadd_ps(b, v2, x2);
            ROW(0, a00, a01, a02) ROW(1, a10, a11, a12) ROW(2, a20, a21, a22) ROW(3, a30, a31, a32)
            ROW(4, a40, a41, a42) ROW(5, a50, a51, a52) ROW(6, a60, a61, a62) ROW(7, a70, a71, a72)
#undef ROW
        }
    }
#define STORE(j, x0, x1, x2) if (j < ob_count) { float *d = out + (j) * out_plane + p0; \
        _mm512_storeu_ps(d, x0); _mm512_storeu_ps(d + 16, x1); _mm512_storeu_ps(d + 32, x2); }
    STORE(0, a00, a01, a02) STORE(1, a10, a11, a12) STORE(2, a20, a21, a22) STORE(3, a30, a31, a32)
    STORE(4, a40, a41, a42) STORE(5, a50, a51, a52) STORE(6, a60, a61, a62) STORE(7, a70, a71, a72)
#undef STORE
}
#endif

// Portable path: the same blocking and summation order, in plain C (the compiler vectorizes the
// inner position loop).
static void block_portable(const float *in, int64_t c_in, int64_t channel_stride, const float *wb,
                           const int64_t *offsets, int64_t taps, float *out, int64_t out_plane, int64_t ob_count,
                           int64_t p0) {
    float acc[CSYN_CONV_OB][CSYN_CONV_PB];
    for (int j = 0; j < CSYN_CONV_OB; j++)
        for (int i = 0; i < CSYN_CONV_PB; i++) acc[j][i] = 0;
    for (int64_t c = 0; c < c_in; c++) {
        const float *plane = in + c * channel_stride + p0;
        const float *wc = wb + c * taps * CSYN_CONV_OB;
        for (int64_t t = 0; t < taps; t++) {
            const float *s = plane + offsets[t];
            const float *wt = wc + t * CSYN_CONV_OB;
            for (int j = 0; j < CSYN_CONV_OB; j++) {
                const float b = wt[j];
                for (int i = 0; i < CSYN_CONV_PB; i++) acc[j][i] += b * s[i];
            }
        }
    }
    for (int64_t j = 0; j < ob_count; j++) {
        float *d = out + j * out_plane + p0;
        for (int i = 0; i < CSYN_CONV_PB; i++) d[i] = acc[j][i];
    }
}

int csyn_conv_avx512(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") ? 1 : 0;
#else
    return 0;
#endif
}

void csyn_conv_planes_strided(const float *in, int64_t c_in, int64_t channel_stride, int64_t image_stride,
                              const float *w, int64_t o_out, const int64_t *offsets, int64_t taps,
                              float *out, int64_t out_plane, int64_t positions,
                              int64_t task0, int64_t task1) {
    const int64_t blocks = (o_out + CSYN_CONV_OB - 1) / CSYN_CONV_OB;
    const int wide = csyn_conv_avx512();
    for (int64_t task = task0; task < task1; task++) {
        const int64_t n = task / blocks, ob = task % blocks;
        const float *img = in + n * image_stride;
        const float *wb = w + ob * c_in * taps * CSYN_CONV_OB;
        float *o = out + (n * o_out + ob * CSYN_CONV_OB) * out_plane;
        int64_t count = o_out - ob * CSYN_CONV_OB;
        if (count > CSYN_CONV_OB) count = CSYN_CONV_OB;
        for (int64_t p0 = 0; p0 < positions; p0 += CSYN_CONV_PB) {
#if defined(__x86_64__)
            if (wide) {
                block_avx512(img, c_in, channel_stride, wb, offsets, taps, o, out_plane, count, p0);
                continue;
            }
#endif
            block_portable(img, c_in, channel_stride, wb, offsets, taps, o, out_plane, count, p0);
        }
    }
}

void csyn_conv_planes(const float *in, int64_t c_in, int64_t in_plane,
                      const float *w, int64_t o_out, const int64_t *offsets, int64_t taps,
                      float *out, int64_t out_plane, int64_t positions,
                      int64_t task0, int64_t task1) {
    csyn_conv_planes_strided(in, c_in, in_plane, c_in * in_plane, w, o_out, offsets, taps, out, out_plane, positions,
                             task0, task1);
}
