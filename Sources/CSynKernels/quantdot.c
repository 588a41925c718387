// Integer dot products of 8-bit quantized activations with Q4_0 / Q4_1 / Q8_0 weight rows.
//
// The activations are quantized once per matrix product (blocks of 32, one float scale each, plus
// the scaled block sum Q4_1's offset needs), then each block's products are exact integers; only the
// per-block scaling and the accumulation are floating point, in the one order csynquant.h defines.
// Every code path (AVX-512 VNNI, AVX2, portable C) follows that order, so a row's result does not
// depend on the tile, the batch or the path. Contraction is off: every fma below is written out.

#pragma STDC FP_CONTRACT OFF

#include "csynquant.h"
#include "csynkernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CSYN_X86 1
#else
#define CSYN_X86 0
#endif

enum { QK = 32 };

/// One row of quantized activations: nb scales, nb scaled sums, then k int8 values.
typedef struct {
    const float *d;
    const float *s;
    const int8_t *q;
} xrow;

static inline int64_t row_stride(int64_t k) { return k + (k / QK) * 8; }

static inline xrow x_row(const void *xq, int64_t k, int64_t r) {
    int64_t nb = k / QK;
    const uint8_t *base = (const uint8_t *)xq + r * row_stride(k);
    xrow o = {(const float *)base, (const float *)base + nb, (const int8_t *)(base + nb * 8)};
    return o;
}

int64_t csyn_q8_bytes(int64_t m, int64_t k) { return m * row_stride(k); }

int csyn_q8_supports(int32_t wtype) { return wtype == CSYN_W_Q4_0 || wtype == CSYN_W_Q4_1 || wtype == CSYN_W_Q8_0; }

static inline int64_t block_bytes(int32_t t) { return t == CSYN_W_Q4_0 ? 18 : t == CSYN_W_Q4_1 ? 20 : 34; }

static inline uint16_t load_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static float half_value(const uint8_t *p) {
    float f;
    csyn_dequantize_row(p, CSYN_W_F16, 1, &f);  // exact whatever the path
    return f;
}

// ---------------------------------------------------------------------------------------------
// Portable C (the definition the vector paths reproduce)

static void quantize_block_portable(const float *v, float *d_out, float *s_out, int8_t *q) {
    float amax = 0;
    for (int e = 0; e < QK; e++) {
        float a = fabsf(v[e]);
        if (a > amax) amax = a;
    }
    float d = amax / 127.0f;
    float id = d != 0 ? 1.0f / d : 0.0f;
    int sum = 0;
    for (int e = 0; e < QK; e++) {
        float t = v[e] * id;
        t = t < -127.0f ? -127.0f : t > 127.0f ? 127.0f : t;
        int qi = (int)nearbyintf(t);
        q[e] = (int8_t)qi;
        sum += qi;
    }
    *d_out = d;
    *s_out = d * (float)sum;
}

static void weight_values(const uint8_t *blk, int32_t t, int8_t *wv) {
    if (t == CSYN_W_Q8_0) {
        memcpy(wv, blk + 2, QK);
        return;
    }
    const uint8_t *q = blk + (t == CSYN_W_Q4_1 ? 4 : 2);
    int off = t == CSYN_W_Q4_0 ? 8 : 0;
    for (int j = 0; j < 16; j++) {
        wv[j] = (int8_t)((q[j] & 0x0F) - off);
        wv[j + 16] = (int8_t)((q[j] >> 4) - off);
    }
}

static float dot_portable(xrow x, const uint8_t *wrow, int32_t t, int64_t nb) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0}, offs = 0;
    int64_t bs = block_bytes(t);
    int8_t wv[QK];
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *blk = wrow + b * bs;
        weight_values(blk, t, wv);
        const int8_t *xv = x.q + b * QK;
        float dd = half_value(blk) * x.d[b];
        for (int l = 0; l < 8; l++) {
            int32_t lane = 0;
            for (int e = 4 * l; e < 4 * l + 4; e++) lane += (int32_t)wv[e] * (int32_t)xv[e];
            acc[l] = fmaf((float)lane, dd, acc[l]);
        }
        if (t == CSYN_W_Q4_1) offs = fmaf(half_value(blk + 2), x.s[b], offs);
    }
    float s4[4];
    for (int l = 0; l < 4; l++) s4[l] = acc[l] + acc[l + 4];
    float y = (s4[0] + s4[2]) + (s4[1] + s4[3]);
    if (t == CSYN_W_Q4_1) y = y + offs;
    return y;
}

static void matmul_portable(const void *xq, int64_t m, int64_t k, const uint8_t *w, int32_t t, int64_t row_bytes,
                            int64_t n0, int64_t n1, float *y, int64_t ldy) {
    for (int64_t i = 0; i < m; i++) {
        xrow x = x_row(xq, k, i);
        for (int64_t j = n0; j < n1; j++) y[i * ldy + j] = dot_portable(x, w + j * row_bytes, t, k / QK);
    }
}

// ---------------------------------------------------------------------------------------------
// AVX2 (maddubs: u8 x s8 pairs into int16, which cannot saturate for |w| <= 128, |x| <= 127)

#if CSYN_X86
#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))
#define INLINE inline __attribute__((always_inline))

AVX2 static INLINE float hsum8q(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 0x55));
    return _mm_cvtss_f32(s);
}

AVX2 static void quantize_avx2(const float *x, int64_t m, int64_t k, int64_t ldx, void *xq) {
    const __m256 signbit = _mm256_set1_ps(-0.0f), lo = _mm256_set1_ps(-127.0f), hi = _mm256_set1_ps(127.0f);
    const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    int64_t nb = k / QK;
    for (int64_t r = 0; r < m; r++) {
        uint8_t *base = (uint8_t *)xq + r * row_stride(k);
        float *dd = (float *)base, *ss = dd + nb;
        int8_t *qq = (int8_t *)(base + nb * 8);
        for (int64_t b = 0; b < nb; b++) {
            const float *v = x + r * ldx + b * QK;
            __m256 v0 = _mm256_loadu_ps(v), v1 = _mm256_loadu_ps(v + 8), v2 = _mm256_loadu_ps(v + 16), v3 = _mm256_loadu_ps(v + 24);
            __m256 a = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(signbit, v0), _mm256_andnot_ps(signbit, v1)),
                                     _mm256_max_ps(_mm256_andnot_ps(signbit, v2), _mm256_andnot_ps(signbit, v3)));
            __m128 a4 = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
            a4 = _mm_max_ps(a4, _mm_movehl_ps(a4, a4));
            a4 = _mm_max_ss(a4, _mm_shuffle_ps(a4, a4, 0x55));
            float amax = _mm_cvtss_f32(a4);
            float d = amax / 127.0f;
            float id = d != 0 ? 1.0f / d : 0.0f;
            __m256 vid = _mm256_set1_ps(id);
#define CSYN_Q(vv) _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(vv, vid), lo), hi))
            __m256i q0 = CSYN_Q(v0), q1 = CSYN_Q(v1), q2 = CSYN_Q(v2), q3 = CSYN_Q(v3);
#undef CSYN_Q
            __m256i s = _mm256_add_epi32(_mm256_add_epi32(q0, q1), _mm256_add_epi32(q2, q3));
            __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
            s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4E));
            s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xB1));
            int sum = _mm_cvtsi128_si32(s4);
            __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(q0, q1), _mm256_packs_epi32(q2, q3));
            _mm256_storeu_si256((__m256i *)(qq + b * QK), _mm256_permutevar8x32_epi32(p, perm));
            dd[b] = d;
            ss[b] = d * (float)sum;
        }
    }
}

/// The 32 weight values of a block as bytes in element order (signed; Q4_1 unsigned 0..15).
AVX2 static INLINE __m256i weights_avx2(const uint8_t *blk, int32_t t) {
    if (t == CSYN_W_Q8_0) return _mm256_loadu_si256((const __m256i *)(blk + 2));
    __m128i q = _mm_loadu_si128((const __m128i *)(blk + (t == CSYN_W_Q4_1 ? 4 : 2)));
    const __m128i mask = _mm_set1_epi8(0x0F);
    __m256i v = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), mask), _mm_and_si128(q, mask));
    if (t == CSYN_W_Q4_0) v = _mm256_sub_epi8(v, _mm256_set1_epi8(8));
    return v;
}

/// R rows of x times one weight row.
AVX2 static INLINE void tile_avx2(int R, int32_t t, const void *xq, int64_t k, int64_t i, const uint8_t *wrow, float *y, int64_t ldy) {
    int64_t nb = k / QK, bs = block_bytes(t);
    xrow xr[4];
    __m256 acc[4];
    float offs[4] = {0, 0, 0, 0};
    for (int r = 0; r < R; r++) { xr[r] = x_row(xq, k, i + r); acc[r] = _mm256_setzero_ps(); }
    const __m256i ones = _mm256_set1_epi16(1);
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *blk = wrow + b * bs;
        __m256i wv = weights_avx2(blk, t);
        __m256i wa = t == CSYN_W_Q4_1 ? wv : _mm256_abs_epi8(wv);
        float dw = _cvtsh_ss(load_u16(blk));
        float mw = t == CSYN_W_Q4_1 ? _cvtsh_ss(load_u16(blk + 2)) : 0;
        for (int r = 0; r < R; r++) {
            __m256i xv = _mm256_loadu_si256((const __m256i *)(xr[r].q + b * QK));
            if (t != CSYN_W_Q4_1) xv = _mm256_sign_epi8(xv, wv);
            __m256i lanes = _mm256_madd_epi16(_mm256_maddubs_epi16(wa, xv), ones);
            float dd = dw * xr[r].d[b];
            acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(lanes), _mm256_set1_ps(dd), acc[r]);
            if (t == CSYN_W_Q4_1) offs[r] = fmaf(mw, xr[r].s[b], offs[r]);
        }
    }
    for (int r = 0; r < R; r++) {
        float v = hsum8q(acc[r]);
        if (t == CSYN_W_Q4_1) v = v + offs[r];
        y[r * ldy] = v;
    }
}

#define CSYN_AVX2_TYPE(T, NAME)                                                                               \
AVX2 static void NAME(const void *xq, int64_t m, int64_t k, const uint8_t *w, int64_t row_bytes,              \
                      int64_t n0, int64_t n1, float *y, int64_t ldy) {                                        \
    for (int64_t j = n0; j < n1; j++) {                                                                       \
        const uint8_t *wrow = w + j * row_bytes;                                                              \
        int64_t i = 0;                                                                                        \
        for (; i + 4 <= m; i += 4) tile_avx2(4, T, xq, k, i, wrow, y + i * ldy + j, ldy);                     \
        switch (m - i) {                                                                                      \
        case 3: tile_avx2(3, T, xq, k, i, wrow, y + i * ldy + j, ldy); break;                                 \
        case 2: tile_avx2(2, T, xq, k, i, wrow, y + i * ldy + j, ldy); break;                                 \
        case 1: tile_avx2(1, T, xq, k, i, wrow, y + i * ldy + j, ldy); break;                                 \
        default: break;                                                                                       \
        }                                                                                                     \
    }                                                                                                         \
}
CSYN_AVX2_TYPE(CSYN_W_Q4_0, matmul_avx2_q4_0)
CSYN_AVX2_TYPE(CSYN_W_Q4_1, matmul_avx2_q4_1)
CSYN_AVX2_TYPE(CSYN_W_Q8_0, matmul_avx2_q8_0)

// ---------------------------------------------------------------------------------------------
// AVX-512 VNNI: two weight rows per 512-bit register (one per 256-bit half, the x block broadcast to
// both), four weight rows and up to four x rows per tile. vpdpbusd multiplies u8 by s8 and adds
// groups of 4 into 32-bit lanes exactly: the signed formats pass |w| and x with w's sign.

AVX512 static INLINE __m512i pair512(__m256i a, __m256i b) { return _mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1); }

AVX512 static INLINE void tile_512(int R, int32_t t, const void *xq, int64_t k, int64_t i, const uint8_t *const wr[4], int cols,
                                   float *y, int64_t ldy) {
    int64_t nb = k / QK, bs = block_bytes(t);
    xrow xr[4];
    __m512 acc[4][2];
    __m128 offs[4];
    for (int r = 0; r < R; r++) {
        xr[r] = x_row(xq, k, i + r);
        acc[r][0] = _mm512_setzero_ps();
        acc[r][1] = acc[r][0];
        offs[r] = _mm_setzero_ps();
    }
    const __m512i idx01 = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    const __m512i idx23 = _mm512_setr_epi32(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m512i zero = _mm512_setzero_si512();
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *b0 = wr[0] + b * bs, *b1 = wr[1] + b * bs, *b2 = wr[2] + b * bs, *b3 = wr[3] + b * bs;
        __m512i w01 = pair512(weights_avx2(b0, t), weights_avx2(b1, t));
        __m512i w23 = pair512(weights_avx2(b2, t), weights_avx2(b3, t));
        __mmask64 n01 = 0, n23 = 0;
        if (t != CSYN_W_Q4_1) {
            n01 = _mm512_movepi8_mask(w01);
            n23 = _mm512_movepi8_mask(w23);
            w01 = _mm512_abs_epi8(w01);
            w23 = _mm512_abs_epi8(w23);
        }
        __m128 dw4 = _mm_cvtph_ps(_mm_setr_epi16((short)load_u16(b0), (short)load_u16(b1), (short)load_u16(b2), (short)load_u16(b3), 0, 0, 0, 0));
        __m512 dw01 = _mm512_permutexvar_ps(idx01, _mm512_castps128_ps512(dw4));
        __m512 dw23 = _mm512_permutexvar_ps(idx23, _mm512_castps128_ps512(dw4));
        __m128 mw4 = _mm_setzero_ps();
        if (t == CSYN_W_Q4_1)
            mw4 = _mm_cvtph_ps(_mm_setr_epi16((short)load_u16(b0 + 2), (short)load_u16(b1 + 2), (short)load_u16(b2 + 2), (short)load_u16(b3 + 2), 0, 0, 0, 0));
        for (int r = 0; r < R; r++) {
            __m512i xb = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(xr[r].q + b * QK)));
            __m512i x01 = xb, x23 = xb;
            if (t != CSYN_W_Q4_1) {
                x01 = _mm512_mask_sub_epi8(xb, n01, zero, xb);
                x23 = _mm512_mask_sub_epi8(xb, n23, zero, xb);
            }
            __m512 dx = _mm512_set1_ps(xr[r].d[b]);
            __m512 l01 = _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(zero, w01, x01));
            __m512 l23 = _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(zero, w23, x23));
            acc[r][0] = _mm512_fmadd_ps(l01, _mm512_mul_ps(dw01, dx), acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(l23, _mm512_mul_ps(dw23, dx), acc[r][1]);
            if (t == CSYN_W_Q4_1) offs[r] = _mm_fmadd_ps(mw4, _mm_set1_ps(xr[r].s[b]), offs[r]);
        }
    }
    for (int r = 0; r < R; r++) {
        float v[4], o[4];
        v[0] = hsum8q(_mm512_castps512_ps256(acc[r][0]));
        v[1] = hsum8q(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc[r][0]), 1)));
        v[2] = hsum8q(_mm512_castps512_ps256(acc[r][1]));
        v[3] = hsum8q(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc[r][1]), 1)));
        _mm_storeu_ps(o, offs[r]);
        for (int c = 0; c < cols; c++) y[r * ldy + c] = t == CSYN_W_Q4_1 ? v[c] + o[c] : v[c];
    }
}

#define CSYN_512_TYPE(T, NAME)                                                                                \
AVX512 static void NAME(const void *xq, int64_t m, int64_t k, const uint8_t *w, int64_t row_bytes,            \
                        int64_t n0, int64_t n1, float *y, int64_t ldy) {                                      \
    for (int64_t j = n0; j < n1; j += 4) {                                                                    \
        int cols = n1 - j < 4 ? (int)(n1 - j) : 4;                                                            \
        /* Missing rows of the last tile repeat its last row; their results are not stored. */               \
        const uint8_t *wr[4];                                                                                 \
        for (int c = 0; c < 4; c++) wr[c] = w + (j + (c < cols ? c : cols - 1)) * row_bytes;                 \
        int64_t i = 0;                                                                                        \
        for (; i + 4 <= m; i += 4) tile_512(4, T, xq, k, i, wr, cols, y + i * ldy + j, ldy);                  \
        switch (m - i) {                                                                                      \
        case 3: tile_512(3, T, xq, k, i, wr, cols, y + i * ldy + j, ldy); break;                              \
        case 2: tile_512(2, T, xq, k, i, wr, cols, y + i * ldy + j, ldy); break;                              \
        case 1: tile_512(1, T, xq, k, i, wr, cols, y + i * ldy + j, ldy); break;                              \
        default: break;                                                                                       \
        }                                                                                                     \
    }                                                                                                         \
}
CSYN_512_TYPE(CSYN_W_Q4_0, matmul_512_q4_0)
CSYN_512_TYPE(CSYN_W_Q4_1, matmul_512_q4_1)
CSYN_512_TYPE(CSYN_W_Q8_0, matmul_512_q8_0)
#endif

// ---------------------------------------------------------------------------------------------
// Dispatch

static int q8_state = -1;

int csyn_q8_path(void) {
    int s = __atomic_load_n(&q8_state, __ATOMIC_RELAXED);
    if (s < 0) {
        s = 0;
#if CSYN_X86
        if (csyn_kernels_simd()) {
            __builtin_cpu_init();
            s = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")
                && __builtin_cpu_supports("avx512vnni") ? 2 : 1;
        }
#endif
        __atomic_store_n(&q8_state, s, __ATOMIC_RELAXED);
    }
    return s;
}

void csyn_quantize_q8(const float *x, int64_t m, int64_t k, int64_t ldx, void *xq) {
#if CSYN_X86
    if (csyn_kernels_simd()) { quantize_avx2(x, m, k, ldx, xq); return; }
#endif
    int64_t nb = k / QK;
    for (int64_t r = 0; r < m; r++) {
        uint8_t *base = (uint8_t *)xq + r * row_stride(k);
        float *d = (float *)base, *s = d + nb;
        int8_t *q = (int8_t *)(base + nb * 8);
        for (int64_t b = 0; b < nb; b++) quantize_block_portable(x + r * ldx + b * QK, d + b, s + b, q + b * QK);
    }
}

int csyn_matmul_q8_on(int path, const void *xq, int64_t m, int64_t k, const void *w, int32_t wtype, int64_t row_bytes,
                      int64_t n0, int64_t n1, float *y, int64_t ldy) {
    if (!csyn_q8_supports(wtype) || path < 0 || path > csyn_q8_path()) return -1;
    if (m <= 0 || n1 <= n0 || k <= 0) return 0;
    const uint8_t *wb = (const uint8_t *)w;
#if CSYN_X86
    // Fewer than 4 rows stream the weights once: one row after the other (the AVX2 tiles) reads
    // memory several times faster than four interleaved rows (the AVX-512 tiles, which win when
    // each weight block serves 4 rows). Both give the same bits.
    if (path == 2 && m >= 4) {
        if (wtype == CSYN_W_Q4_0) matmul_512_q4_0(xq, m, k, wb, row_bytes, n0, n1, y, ldy);
        else if (wtype == CSYN_W_Q4_1) matmul_512_q4_1(xq, m, k, wb, row_bytes, n0, n1, y, ldy);
        else matmul_512_q8_0(xq, m, k, wb, row_bytes, n0, n1, y, ldy);
        return 0;
    }
    if (path >= 1) {
        if (wtype == CSYN_W_Q4_0) matmul_avx2_q4_0(xq, m, k, wb, row_bytes, n0, n1, y, ldy);
        else if (wtype == CSYN_W_Q4_1) matmul_avx2_q4_1(xq, m, k, wb, row_bytes, n0, n1, y, ldy);
        else matmul_avx2_q8_0(xq, m, k, wb, row_bytes, n0, n1, y, ldy);
        return 0;
    }
#endif
    matmul_portable(xq, m, k, wb, wtype, row_bytes, n0, n1, y, ldy);
    return 0;
}

int csyn_matmul_q8(const void *xq, int64_t m, int64_t k, const void *w, int32_t wtype, int64_t row_bytes,
                   int64_t n0, int64_t n1, float *y, int64_t ldy) {
    return csyn_matmul_q8_on(csyn_q8_path(), xq, m, k, w, wtype, row_bytes, n0, n1, y, ldy);
}
