// Matrix kernels for language-model inference over ggml weight formats.
//
// Written in C so the AVX2/FMA/F16C paths can be selected per function (target attributes) with a
// runtime CPU check, without compiling the whole package for one CPU. Numerics:
// - dequantization matches ggml's reference formulas (x = d*q + m etc.) with the product and the
//   sum rounded separately: contraction into FMA is switched off for this file;
// - every dot product accumulates 8 lanes over k in ascending order with FMA, reduces the lanes in
//   one fixed order and then adds the k % 8 tail: an output element never depends on which tile,
//   batch row or thread computed it.

#pragma STDC FP_CONTRACT OFF

#include "csynkernels.h"
#include "csynquant.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#define CSYN_X86 1
#else
#define CSYN_X86 0
#endif

// ---------------------------------------------------------------------------------------------
// Portable helpers

static float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1F;
    uint32_t man = h & 0x3FF;
    uint32_t bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else {
            // Subnormal half: normalize.
            int e = -1;
            do { e++; man <<= 1; } while ((man & 0x400) == 0);
            man &= 0x3FF;
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | (man << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7F800000u | (man << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static uint16_t load_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static void dequant_row_portable(const void *w, int32_t type, int64_t n, float *out) {
    const uint8_t *p = (const uint8_t *)w;
    switch (type) {
    case CSYN_W_F32:
        memcpy(out, w, (size_t)n * 4);
        break;
    case CSYN_W_F16:
        for (int64_t i = 0; i < n; i++) out[i] = half_to_float(load_u16(p + 2 * i));
        break;
    case CSYN_W_Q8_0:
        for (int64_t b = 0; b < n / 32; b++, p += 34) {
            float d = half_to_float(load_u16(p));
            for (int j = 0; j < 32; j++) out[b * 32 + j] = (float)(int8_t)p[2 + j] * d;
        }
        break;
    case CSYN_W_Q4_0:
        for (int64_t b = 0; b < n / 32; b++, p += 18) {
            float d = half_to_float(load_u16(p));
            for (int j = 0; j < 16; j++) {
                out[b * 32 + j] = (float)((int)(p[2 + j] & 0x0F) - 8) * d;
                out[b * 32 + j + 16] = (float)((int)(p[2 + j] >> 4) - 8) * d;
            }
        }
        break;
    case CSYN_W_Q4_1:
        for (int64_t b = 0; b < n / 32; b++, p += 20) {
            float d = half_to_float(load_u16(p)), m = half_to_float(load_u16(p + 2));
            for (int j = 0; j < 16; j++) {
                float lo = (float)(p[4 + j] & 0x0F) * d;
                float hi = (float)(p[4 + j] >> 4) * d;
                out[b * 32 + j] = lo + m;
                out[b * 32 + j + 16] = hi + m;
            }
        }
        break;
    default:
        abort();
    }
}

static float dot_portable(const float *x, const float *w, int64_t k) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t k8 = k & ~(int64_t)7, i = 0;
    for (; i < k8; i += 8) {
        for (int l = 0; l < 8; l++) {
            float prod = x[i + l] * w[i + l];
            acc[l] = acc[l] + prod;
        }
    }
    float s4[4];
    for (int l = 0; l < 4; l++) s4[l] = acc[l] + acc[l + 4];
    float s = (s4[0] + s4[2]) + (s4[1] + s4[3]);
    for (; i < k; i++) {
        float prod = x[i] * w[i];
        s = s + prod;
    }
    return s;
}

// ---------------------------------------------------------------------------------------------
// AVX2 + FMA + F16C

#if CSYN_X86
#define AVX2 __attribute__((target("avx2,fma,f16c")))

AVX2 static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 0x55));
    return _mm_cvtss_f32(s);
}

/// The lane sum of acc plus the k % 8 tail of x . w, shared by every code path.
AVX2 static inline float finish(__m256 acc, const float *x, const float *w, int64_t k8, int64_t k) {
    float s = hsum8(acc);
    for (int64_t i = k8; i < k; i++) s = fmaf(x[i], w[i], s);
    return s;
}

AVX2 static float dot_avx2(const float *x, const float *w, int64_t k) {
    __m256 acc = _mm256_setzero_ps();
    int64_t k8 = k & ~(int64_t)7;
    for (int64_t i = 0; i < k8; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(w + i), acc);
    return finish(acc, x, w, k8, k);
}

/// 4 rows of x times 3 weight rows: 12 independent accumulators.
AVX2 static void tile_4x3(const float *x, int64_t ldx, const float *w, int64_t ldw, int64_t k, float *y, int64_t ldy) {
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00;
    __m256 c20 = c00, c21 = c00, c22 = c00, c30 = c00, c31 = c00, c32 = c00;
    const float *x0 = x, *x1 = x + ldx, *x2 = x + 2 * ldx, *x3 = x + 3 * ldx;
    const float *w0 = w, *w1 = w + ldw, *w2 = w + 2 * ldw;
    int64_t k8 = k & ~(int64_t)7;
    for (int64_t i = 0; i < k8; i += 8) {
        __m256 b0 = _mm256_loadu_ps(w0 + i), b1 = _mm256_loadu_ps(w1 + i), b2 = _mm256_loadu_ps(w2 + i);
        __m256 a = _mm256_loadu_ps(x0 + i);
        c00 = _mm256_fmadd_ps(a, b0, c00); c01 = _mm256_fmadd_ps(a, b1, c01); c02 = _mm256_fmadd_ps(a, b2, c02);
        a = _mm256_loadu_ps(x1 + i);
        c10 = _mm256_fmadd_ps(a, b0, c10); c11 = _mm256_fmadd_ps(a, b1, c11); c12 = _mm256_fmadd_ps(a, b2, c12);
        a = _mm256_loadu_ps(x2 + i);
        c20 = _mm256_fmadd_ps(a, b0, c20); c21 = _mm256_fmadd_ps(a, b1, c21); c22 = _mm256_fmadd_ps(a, b2, c22);
        a = _mm256_loadu_ps(x3 + i);
        c30 = _mm256_fmadd_ps(a, b0, c30); c31 = _mm256_fmadd_ps(a, b1, c31); c32 = _mm256_fmadd_ps(a, b2, c32);
    }
    y[0] = finish(c00, x0, w0, k8, k); y[1] = finish(c01, x0, w1, k8, k); y[2] = finish(c02, x0, w2, k8, k);
    y += ldy;
    y[0] = finish(c10, x1, w0, k8, k); y[1] = finish(c11, x1, w1, k8, k); y[2] = finish(c12, x1, w2, k8, k);
    y += ldy;
    y[0] = finish(c20, x2, w0, k8, k); y[1] = finish(c21, x2, w1, k8, k); y[2] = finish(c22, x2, w2, k8, k);
    y += ldy;
    y[0] = finish(c30, x3, w0, k8, k); y[1] = finish(c31, x3, w1, k8, k); y[2] = finish(c32, x3, w2, k8, k);
}

/// 1 to 3 rows of x times 3 weight rows (the leftover rows of a row block).
#define CSYN_TILE_RX3(R)                                                                                       \
AVX2 static void tile_##R##x3(const float *x, int64_t ldx, const float *w, int64_t ldw, int64_t k, float *y, int64_t ldy) { \
    __m256 c[R][3];                                                                                            \
    for (int r = 0; r < R; r++) { c[r][0] = _mm256_setzero_ps(); c[r][1] = c[r][0]; c[r][2] = c[r][0]; }      \
    const float *w0 = w, *w1 = w + ldw, *w2 = w + 2 * ldw;                                                     \
    int64_t k8 = k & ~(int64_t)7;                                                                              \
    for (int64_t i = 0; i < k8; i += 8) {                                                                      \
        __m256 b0 = _mm256_loadu_ps(w0 + i), b1 = _mm256_loadu_ps(w1 + i), b2 = _mm256_loadu_ps(w2 + i);       \
        for (int r = 0; r < R; r++) {                                                                          \
            __m256 a = _mm256_loadu_ps(x + r * ldx + i);                                                       \
            c[r][0] = _mm256_fmadd_ps(a, b0, c[r][0]);                                                         \
            c[r][1] = _mm256_fmadd_ps(a, b1, c[r][1]);                                                         \
            c[r][2] = _mm256_fmadd_ps(a, b2, c[r][2]);                                                         \
        }                                                                                                      \
    }                                                                                                          \
    for (int r = 0; r < R; r++) {                                                                              \
        const float *xr = x + r * ldx;                                                                         \
        y[r * ldy + 0] = finish(c[r][0], xr, w0, k8, k);                                                       \
        y[r * ldy + 1] = finish(c[r][1], xr, w1, k8, k);                                                       \
        y[r * ldy + 2] = finish(c[r][2], xr, w2, k8, k);                                                       \
    }                                                                                                          \
}
CSYN_TILE_RX3(1)
CSYN_TILE_RX3(2)
CSYN_TILE_RX3(3)

AVX2 static inline void store_q8(const __m128i q8, __m256 d, float *out) {
    _mm256_storeu_ps(out, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q8)), d));
}

AVX2 static void dequant_row_avx2(const void *w, int32_t type, int64_t n, float *out) {
    const uint8_t *p = (const uint8_t *)w;
    switch (type) {
    case CSYN_W_F32:
        memcpy(out, w, (size_t)n * 4);
        break;
    case CSYN_W_F16: {
        int64_t i = 0;
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p + 2 * i))));
        for (; i < n; i++) out[i] = half_to_float(load_u16(p + 2 * i));
        break;
    }
    case CSYN_W_Q8_0:
        for (int64_t b = 0; b < n / 32; b++, p += 34) {
            __m256 d = _mm256_set1_ps(_cvtsh_ss(load_u16(p)));
            __m128i lo = _mm_loadu_si128((const __m128i *)(p + 2)), hi = _mm_loadu_si128((const __m128i *)(p + 18));
            float *o = out + b * 32;
            store_q8(lo, d, o);
            store_q8(_mm_srli_si128(lo, 8), d, o + 8);
            store_q8(hi, d, o + 16);
            store_q8(_mm_srli_si128(hi, 8), d, o + 24);
        }
        break;
    case CSYN_W_Q4_0: {
        const __m128i mask = _mm_set1_epi8(0x0F), eight = _mm_set1_epi8(8);
        for (int64_t b = 0; b < n / 32; b++, p += 18) {
            __m256 d = _mm256_set1_ps(_cvtsh_ss(load_u16(p)));
            __m128i q = _mm_loadu_si128((const __m128i *)(p + 2));
            __m128i lo = _mm_sub_epi8(_mm_and_si128(q, mask), eight);
            __m128i hi = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(q, 4), mask), eight);
            float *o = out + b * 32;
            store_q8(lo, d, o);
            store_q8(_mm_srli_si128(lo, 8), d, o + 8);
            store_q8(hi, d, o + 16);
            store_q8(_mm_srli_si128(hi, 8), d, o + 24);
        }
        break;
    }
    case CSYN_W_Q4_1: {
        const __m128i mask = _mm_set1_epi8(0x0F);
        for (int64_t b = 0; b < n / 32; b++, p += 20) {
            __m256 d = _mm256_set1_ps(_cvtsh_ss(load_u16(p))), m = _mm256_set1_ps(_cvtsh_ss(load_u16(p + 2)));
            __m128i q = _mm_loadu_si128((const __m128i *)(p + 4));
            __m128i lo = _mm_and_si128(q, mask), hi = _mm_and_si128(_mm_srli_epi16(q, 4), mask);
            float *o = out + b * 32;
            _mm256_storeu_ps(o, _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(lo)), d), m));
            _mm256_storeu_ps(o + 8, _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(lo, 8))), d), m));
            _mm256_storeu_ps(o + 16, _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(hi)), d), m));
            _mm256_storeu_ps(o + 24, _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(hi, 8))), d), m));
        }
        break;
    }
    default:
        abort();
    }
}

AVX2 static void axpy_avx2(float a, const float *x, float *out, int64_t n) {
    __m256 va = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(out + i)));
    for (; i < n; i++) out[i] = fmaf(a, x[i], out[i]);
}
#endif

// ---------------------------------------------------------------------------------------------
// Dispatch

static int simd_state = -1;

int csyn_kernels_simd(void) {
    int s = __atomic_load_n(&simd_state, __ATOMIC_RELAXED);
    if (s < 0) {
#if CSYN_X86
        __builtin_cpu_init();
        s = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c") ? 1 : 0;
        const char *env = getenv("SYNCLR_NO_SIMD");
        if (env && env[0] && env[0] != '0') s = 0;
#else
        s = 0;
#endif
        __atomic_store_n(&simd_state, s, __ATOMIC_RELAXED);
    }
    return s;
}

void csyn_dequantize_row(const void *w, int32_t wtype, int64_t count, float *out) {
#if CSYN_X86
    if (csyn_kernels_simd()) { dequant_row_avx2(w, wtype, count, out); return; }
#endif
    dequant_row_portable(w, wtype, count, out);
}

float csyn_dot(const float *x, const float *y, int64_t n) {
#if CSYN_X86
    if (csyn_kernels_simd()) return dot_avx2(x, y, n);
#endif
    return dot_portable(x, y, n);
}

void csyn_axpy(float a, const float *x, float *out, int64_t n) {
#if CSYN_X86
    if (csyn_kernels_simd()) { axpy_avx2(a, x, out, n); return; }
#endif
    for (int64_t i = 0; i < n; i++) {
        float prod = a * x[i];
        out[i] = out[i] + prod;
    }
}

enum { ROW_BLOCK = 64, PANEL = 3 };

void csyn_matmul_nt(const float *x, int64_t m, int64_t k, int64_t ldx,
                    const void *w, int32_t wtype, int64_t row_bytes, int64_t n0, int64_t n1,
                    float *y, int64_t ldy) {
    if (m <= 0 || n1 <= n0) return;
    if (csyn_q8_supports(wtype)) {
        // Quantized weights take the integer path (activations quantized to 8 bits, csynquant.h).
        void *xq = malloc((size_t)csyn_q8_bytes(m, k) + 1);
        if (!xq) abort();
        csyn_quantize_q8(x, m, k, ldx, xq);
        csyn_matmul_q8(xq, m, k, w, wtype, row_bytes, n0, n1, y, ldy);
        free(xq);
        return;
    }
    int simd = csyn_kernels_simd();
    (void)simd;
    int direct = wtype == CSYN_W_F32 && row_bytes % 4 == 0;
    float *panel = direct ? NULL : (float *)malloc(sizeof(float) * PANEL * (size_t)(k > 0 ? k : 1));
    if (!direct && !panel) abort();
    for (int64_t i0 = 0; i0 < m; i0 += ROW_BLOCK) {
        int64_t i1 = i0 + ROW_BLOCK < m ? i0 + ROW_BLOCK : m;
        for (int64_t j = n0; j < n1; j += PANEL) {
            int64_t nr = n1 - j < PANEL ? n1 - j : PANEL;
            const float *wp;
            int64_t ldw;
            if (direct) {
                wp = (const float *)((const uint8_t *)w + j * row_bytes);
                ldw = row_bytes / 4;
            } else {
                for (int64_t r = 0; r < nr; r++) csyn_dequantize_row((const uint8_t *)w + (j + r) * row_bytes, wtype, k, panel + r * k);
                wp = panel;
                ldw = k;
            }
            int64_t i = i0;
#if CSYN_X86
            if (simd) {
                if (nr == PANEL) {
                    for (; i + 4 <= i1; i += 4) tile_4x3(x + i * ldx, ldx, wp, ldw, k, y + i * ldy + j, ldy);
                    switch (i1 - i) {
                    case 3: tile_3x3(x + i * ldx, ldx, wp, ldw, k, y + i * ldy + j, ldy); i += 3; break;
                    case 2: tile_2x3(x + i * ldx, ldx, wp, ldw, k, y + i * ldy + j, ldy); i += 2; break;
                    case 1: tile_1x3(x + i * ldx, ldx, wp, ldw, k, y + i * ldy + j, ldy); i += 1; break;
                    default: break;
                    }
                }
                for (; i < i1; i++) {
                    for (int64_t r = 0; r < nr; r++) y[i * ldy + j + r] = dot_avx2(x + i * ldx, wp + r * ldw, k);
                }
                continue;
            }
#endif
            for (; i < i1; i++) {
                for (int64_t r = 0; r < nr; r++) y[i * ldy + j + r] = dot_portable(x + i * ldx, wp + r * ldw, k);
            }
        }
    }
    free(panel);
}

void csyn_attend(const float *q, const float *keys, const float *values, int64_t count, int64_t dim, float scale,
                 float *out, float *scores) {
    float mx = -INFINITY;
    for (int64_t j = 0; j < count; j++) {
        float s = csyn_dot(q, keys + j * dim, dim) * scale;
        scores[j] = s;
        if (s > mx) mx = s;
    }
    float sum = 0;
    for (int64_t j = 0; j < count; j++) {
        float e = expf(scores[j] - mx);
        scores[j] = e;
        sum = sum + e;
    }
    float inv = 1 / sum;
    for (int64_t i = 0; i < dim; i++) out[i] = 0;
    for (int64_t j = 0; j < count; j++) csyn_axpy(scores[j] * inv, values + j * dim, out, dim);
}

void csyn_malloc_trim(void) {
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}
