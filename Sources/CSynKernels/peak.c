// A register-only FMA loop that measures the machine's FP32 peak for synclr-bench's "% of peak".
// Independent accumulator chains hide the FMA latency (4 cycles on Zen 4/5 and Intel cores), and
// 24 chains (12 with AVX2) keep two FMA pipes busy on any of them; the operands never leave the registers.
#include "csynpeak.h"

#if defined(__x86_64__)
#include <immintrin.h>

// Twelve named accumulators per block, written out so they stay in registers at any optimization level.
#define DECL12(T, init) T a0 = init(0), a1 = init(1), a2 = init(2), a3 = init(3), a4 = init(4), a5 = init(5), \
    a6 = init(6), a7 = init(7), a8 = init(8), a9 = init(9), a10 = init(10), a11 = init(11)
#define STEP12(f) a0 = f(a0, m, c); a1 = f(a1, m, c); a2 = f(a2, m, c); a3 = f(a3, m, c); a4 = f(a4, m, c); \
    a5 = f(a5, m, c); a6 = f(a6, m, c); a7 = f(a7, m, c); a8 = f(a8, m, c); a9 = f(a9, m, c); a10 = f(a10, m, c); \
    a11 = f(a11, m, c)
#define KEEP12(r) __asm__ volatile("" : "+" r(a0), "+" r(a1), "+" r(a2), "+" r(a3), "+" r(a4), "+" r(a5), "+" r(a6), \
    "+" r(a7), "+" r(a8), "+" r(a9), "+" r(a10), "+" r(a11))
#define SUM12(add) add(add(add(add(a0, a1), add(a2, a3)), add(add(a4, a5), add(a6, a7))), add(add(a8, a9), add(a10, a11)))

#define I512(i) _mm512_set1_ps((float)(i) * 1e-3f)
#define I256(i) _mm256_set1_ps((float)(i) * 1e-3f)

// 24 chains: two blocks of 12 per round (FMA latency 4 x 2 pipes needs at least 8 in flight).
__attribute__((target("avx512f")))
static double peak_avx512(int64_t iterations) {
    DECL12(__m512, I512);
    __m512 b0 = I512(12), b1 = I512(13), b2 = I512(14), b3 = I512(15), b4 = I512(16), b5 = I512(17);
    __m512 b6 = I512(18), b7 = I512(19), b8 = I512(20), b9 = I512(21), b10 = I512(22), b11 = I512(23);
    const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    for (int64_t it = 0; it < iterations; it++) {
        STEP12(_mm512_fmadd_ps);
        b0 = _mm512_fmadd_ps(b0, m, c); b1 = _mm512_fmadd_ps(b1, m, c); b2 = _mm512_fmadd_ps(b2, m, c);
        b3 = _mm512_fmadd_ps(b3, m, c); b4 = _mm512_fmadd_ps(b4, m, c); b5 = _mm512_fmadd_ps(b5, m, c);
        b6 = _mm512_fmadd_ps(b6, m, c); b7 = _mm512_fmadd_ps(b7, m, c); b8 = _mm512_fmadd_ps(b8, m, c);
        b9 = _mm512_fmadd_ps(b9, m, c); b10 = _mm512_fmadd_ps(b10, m, c); b11 = _mm512_fmadd_ps(b11, m, c);
        // Empty asm that claims to change the accumulators: the compiler cannot fold or drop rounds.
        KEEP12("v");
        __asm__ volatile("" : "+v"(b0), "+v"(b1), "+v"(b2), "+v"(b3), "+v"(b4), "+v"(b5), "+v"(b6), "+v"(b7),
                              "+v"(b8), "+v"(b9), "+v"(b10), "+v"(b11));
    }
    __m512 s = _mm512_add_ps(SUM12(_mm512_add_ps), _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(b0, b1), _mm512_add_ps(b2, b3)),
        _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(b4, b5), _mm512_add_ps(b6, b7)),
                      _mm512_add_ps(_mm512_add_ps(b8, b9), _mm512_add_ps(b10, b11)))));
    volatile float sink = _mm512_reduce_add_ps(s);
    (void)sink;
    return (double)iterations * 24 * 16 * 2;
}

__attribute__((target("avx2,fma")))
static double peak_avx2(int64_t iterations) {
    DECL12(__m256, I256);
    const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    for (int64_t it = 0; it < iterations; it++) {
        STEP12(_mm256_fmadd_ps);
        KEEP12("x");
    }
    __m256 s = SUM12(_mm256_add_ps);
    float out[8];
    _mm256_storeu_ps(out, s);
    volatile float sink = out[0];
    (void)sink;
    return (double)iterations * 12 * 8 * 2;
}

// The two 16-bit paths a CPU may offer beside FP32, measured the same way so the bench can say
// whether lower precision would raise the ceiling: VDPBF16PS (pairs of bfloat16 products summed into
// FP32 lanes, what mixed-precision training's GEMMs accumulate in) and VFMADDPH (FP16 products and
// sums, 32 lanes). 24 chains each.
#define R24(S) S(0) S(1) S(2) S(3) S(4) S(5) S(6) S(7) S(8) S(9) S(10) S(11) S(12) S(13) S(14) S(15) S(16) \
    S(17) S(18) S(19) S(20) S(21) S(22) S(23)

__attribute__((target("avx512f,avx512bf16")))
static double peak_bf16(int64_t iterations) {
    __m512 a[24];
    for (int i = 0; i < 24; i++) a[i] = _mm512_set1_ps((float)i * 1e-3f);
    __m512bh x = (__m512bh)_mm512_set1_epi32(0x3a833a83), y = (__m512bh)_mm512_set1_epi32(0x3f803f80);
    for (int64_t it = 0; it < iterations; it++) {
#define DOT(j) a[j] = _mm512_dpbf16_ps(a[j], x, y);
        R24(DOT)
#undef DOT
        __asm__ volatile("" : "+v"(x), "+v"(y));
    }
    __m512 s = a[0];
    for (int i = 1; i < 24; i++) s = _mm512_add_ps(s, a[i]);
    volatile float sink = _mm512_reduce_add_ps(s);
    (void)sink;
    return (double)iterations * 24 * 32 * 2;
}

__attribute__((target("avx512f,avx512fp16")))
static double peak_fp16(int64_t iterations) {
    __m512h a[24];
    for (int i = 0; i < 24; i++) a[i] = _mm512_set1_ph((_Float16)((float)i * 1e-3f));
    __m512h x = _mm512_set1_ph((_Float16)1e-3f), y = _mm512_set1_ph((_Float16)0.999f);
    for (int64_t it = 0; it < iterations; it++) {
#define FMA(j) a[j] = _mm512_fmadd_ph(x, y, a[j]);
        R24(FMA)
#undef FMA
        __asm__ volatile("" : "+v"(x), "+v"(y));
    }
    __m512h s = a[0];
    for (int i = 1; i < 24; i++) s = _mm512_add_ph(s, a[i]);
    volatile float sink = (float)_mm512_reduce_add_ph(s);
    (void)sink;
    return (double)iterations * 24 * 32 * 2;
}
#undef R24
#endif

static double peak_scalar(int64_t iterations) {
    float acc[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    for (int64_t it = 0; it < iterations; it++) {
        for (int i = 0; i < 8; i++) acc[i] = acc[i] * 0.999999f + 1e-7f;
    }
    volatile float sink = acc[0] + acc[7];
    (void)sink;
    return (double)iterations * 8 * 2;
}

int csyn_fma_peak_lanes(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return 16;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 8;
#endif
    return 1;
}

double csyn_fma_peak_flops(int64_t iterations) {
#if defined(__x86_64__)
    switch (csyn_fma_peak_lanes()) {
    case 16: return peak_avx512(iterations);
    case 8: return peak_avx2(iterations);
    default: break;
    }
#endif
    return peak_scalar(iterations);
}

double csyn_bf16_dot_peak_flops(int64_t iterations) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512bf16")) return peak_bf16(iterations);
#endif
    (void)iterations;
    return 0;
}

double csyn_fp16_fma_peak_flops(int64_t iterations) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512fp16")) return peak_fp16(iterations);
#endif
    (void)iterations;
    return 0;
}
