// "Same"-size convolutions read and written in the tensor's own dense [N][C][H][W] layout: a tap
// that would read past a plane's edge is a masked-off lane instead of a padded zero, so nothing is
// copied into or out of a padded layout. Per 16-position vector and tap, the mask says which lanes
// have their neighbour inside the plane (precomputed per plane position, since every plane has the
// same geometry); masked loads never touch the masked-off addresses.
#include "csynconv.h"

// Mask of the lanes of vector q (positions q * 16 ... q * 16 + 15 of an h x w plane) whose tap
// (dy, dx) neighbour lies inside the plane.
static uint16_t lane_mask(int64_t q, int64_t dy, int64_t dx, int64_t h, int64_t w) {
    uint16_t m = 0;
    for (int l = 0; l < 16; l++) {
        const int64_t p = q * 16 + l, y = p / w, x = p % w;
        if (y + dy >= 0 && y + dy < h && x + dx >= 0 && x + dx < w) m |= (uint16_t)(1u << l);
    }
    return m;
}

void csyn_conv_dense_masks(int64_t h, int64_t w, int64_t kh, int64_t kw, uint16_t *masks, int64_t *offsets) {
    const int64_t taps = kh * kw, vectors = h * w / 16;
    for (int64_t t = 0; t < taps; t++) {
        const int64_t dy = t / kw - kh / 2, dx = t % kw - kw / 2;
        offsets[t] = dy * w + dx;
        for (int64_t q = 0; q < vectors; q++) masks[q * taps + t] = lane_mask(q, dy, dx, h, w);
    }
}

// One block: 8 output channels x 3 vectors (each of its own image and plane position, given by its
// input base, mask row and output base); a vector that does not exist has an all-zero mask row and
// a null output.
typedef struct {
    const float *in[3];
    const uint16_t *mask[3];
    float *out[3];
    const float *res[3];
    const float *shift[3];
} dense_block;

static const uint16_t zero_masks[CSYN_DENSE_MAX_TAPS] = {0};

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx512f")))
static void dense_block_avx512(const dense_block *b, int64_t c_in, int64_t hw, const float *wb, const int64_t *offsets,
                               int64_t taps, int64_t ob_count, const float *bias) {
    __m512 a00 = _mm512_setzero_ps(), a01 = a00, a02 = a00, a10 = a00, a11 = a00, a12 = a00;
    __m512 a20 = a00, a21 = a00, a22 = a00, a30 = a00, a31 = a00, a32 = a00;
    __m512 a40 = a00, a41 = a00, a42 = a00, a50 = a00, a51 = a00, a52 = a00;
    __m512 a60 = a00, a61 = a00, a62 = a00, a70 = a00, a71 = a00, a72 = a00;
    const float *p0 = b->in[0], *p1 = b->in[1], *p2 = b->in[2];
    const uint16_t *m0 = b->mask[0], *m1 = b->mask[1], *m2 = b->mask[2];
    for (int64_t c = 0; c < c_in; c++) {
        const float *wc = wb + c * taps * CSYN_CONV_OB;
        for (int64_t t = 0; t < taps; t++) {
            const int64_t off = offsets[t];
            const float *wt = wc + t * CSYN_CONV_OB;
            const __m512 v0 = _mm512_maskz_loadu_ps((__mmask16)m0[t], p0 + off);
            const __m512 v1 = _mm512_maskz_loadu_ps((__mmask16)m1[t], p1 + off);
            const __m512 v2 = _mm512_maskz_loadu_ps((__mmask16)m2[t], p2 + off);
            __m512 s;
#define ROW(j, x0, x1, x2) s = _mm512_set1_ps(wt[j]); \
            x0 = _mm512_fmadd_ps(s, v0, x0); x1 = _mm512_fmadd_ps(s, v1, x1); x2 = _mm512_fmadd_ps(s, v2, x2);
            ROW(0, a00, a01, a02) ROW(1, a10, a11, a12) ROW(2, a20, a21, a22) ROW(3, a30, a31, a32)
            ROW(4, a40, a41, a42) ROW(5, a50, a51, a52) ROW(6, a60, a61, a62) ROW(7, a70, a71, a72)
#undef ROW
        }
        p0 += hw; p1 += hw; p2 += hw;
    }
    // Epilogue in the order of separate adds: + bias[o], + shift[n][o], + residual.
#define OUT1(j, acc, v) if (b->out[v]) { __m512 r = acc; \
        if (bias) r = _mm512_add_ps(r, _mm512_set1_ps(bias[j])); \
        if (b->shift[v]) r = _mm512_add_ps(r, _mm512_set1_ps(b->shift[v][j])); \
        if (b->res[v]) r = _mm512_add_ps(r, _mm512_loadu_ps(b->res[v] + (j) * hw)); \
        _mm512_storeu_ps(b->out[v] + (j) * hw, r); }
#define STORE(j, x0, x1, x2) if (j < ob_count) { OUT1(j, x0, 0) OUT1(j, x1, 1) OUT1(j, x2, 2) }
    STORE(0, a00, a01, a02) STORE(1, a10, a11, a12) STORE(2, a20, a21, a22) STORE(3, a30, a31, a32)
    STORE(4, a40, a41, a42) STORE(5, a50, a51, a52) STORE(6, a60, a61, a62) STORE(7, a70, a71, a72)
#undef STORE
#undef OUT1
}
#endif

// Portable path: the same sums in the same order, in plain C.
static void dense_block_portable(const dense_block *b, int64_t c_in, int64_t hw, const float *wb, const int64_t *offsets,
                                 int64_t taps, int64_t ob_count, const float *bias) {
    float acc[CSYN_CONV_OB][3][16];
    for (int j = 0; j < CSYN_CONV_OB; j++)
        for (int v = 0; v < 3; v++)
            for (int l = 0; l < 16; l++) acc[j][v][l] = 0;
    for (int64_t c = 0; c < c_in; c++) {
        const float *wc = wb + c * taps * CSYN_CONV_OB;
        for (int64_t t = 0; t < taps; t++) {
            const float *wt = wc + t * CSYN_CONV_OB;
            for (int v = 0; v < 3; v++) {
                const uint16_t m = b->mask[v][t];
                if (!m) continue;
                const float *s = b->in[v] + c * hw + offsets[t];
                for (int j = 0; j < CSYN_CONV_OB; j++)
                    for (int l = 0; l < 16; l++)
                        if (m >> l & 1) acc[j][v][l] += wt[j] * s[l];
            }
        }
    }
    for (int64_t j = 0; j < ob_count; j++)
        for (int v = 0; v < 3; v++) {
            if (!b->out[v]) continue;
            for (int l = 0; l < 16; l++) {
                float r = acc[j][v][l];
                if (bias) r += bias[j];
                if (b->shift[v]) r += b->shift[v][j];
                if (b->res[v]) r += b->res[v][j * hw + l];
                b->out[v][j * hw + l] = r;
            }
        }
}

void csyn_conv_dense(const float *in, int64_t images, int64_t c_in, int64_t hw, const float *wpk, int64_t o_out,
                     int64_t taps, const uint16_t *masks, const int64_t *offsets, const float *bias, const float *shift,
                     const float *residual, float *out, int64_t chunk, int64_t task0, int64_t task1) {
    const int64_t vpp = hw / 16, vectors = images * vpp;
    const int wide = csyn_conv_avx512();
    const int64_t blocks = (o_out + CSYN_CONV_OB - 1) / CSYN_CONV_OB;
    for (int64_t task = task0; task < task1; task++) {
        const int64_t i_begin = task / blocks * chunk, ob = task % blocks;
        const int64_t i_end = i_begin + chunk < vectors ? i_begin + chunk : vectors;
        const int64_t o0 = ob * CSYN_CONV_OB;
        const int64_t count = o_out - o0 < CSYN_CONV_OB ? o_out - o0 : CSYN_CONV_OB;
        const float *wb = wpk + ob * c_in * taps * CSYN_CONV_OB;
        const float *bb = bias ? bias + o0 : NULL;
        for (int64_t i0 = i_begin; i0 < i_end; i0 += 3) {
            dense_block b;
            for (int v = 0; v < 3; v++) {
                const int64_t i = i0 + v;
                if (i >= i_end) {
                    b.in[v] = in;
                    b.mask[v] = zero_masks;
                    b.out[v] = NULL;
                    b.res[v] = NULL;
                    b.shift[v] = NULL;
                    continue;
                }
                const int64_t n = i / vpp, q = i % vpp;
                b.in[v] = in + n * c_in * hw + q * 16;
                b.mask[v] = masks + q * taps;
                b.out[v] = out + (n * o_out + o0) * hw + q * 16;
                b.res[v] = residual ? residual + (n * o_out + o0) * hw + q * 16 : NULL;
                b.shift[v] = shift ? shift + n * o_out + o0 : NULL;
            }
#if defined(__x86_64__)
            if (wide) {
                dense_block_avx512(&b, c_in, hw, wb, offsets, taps, count, bb);
                continue;
            }
#endif
            dense_block_portable(&b, c_in, hw, wb, offsets, taps, count, bb);
        }
    }
}

// Weight gradient: three output channels x nine taps in 27 accumulators over the 16-position vectors
// of a run of images, then summed into dw (see csyn_conv_dense_wgrad3x3).
#define DWG_CHUNK 4096

#if defined(__x86_64__)
__attribute__((target("avx512f")))
static void dense_wgrad_triple_avx512(const float *d0, const float *d1, const float *d2, int64_t ld_dy, const float *xc,
                                      int64_t ld_x, const int64_t *off, const uint16_t *masks, int64_t vpp,
                                      int64_t n0, int64_t n1, float *s0, float *s1, float *s2) {
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0;
    __m512 b0 = a0, b1 = a0, b2 = a0, b3 = a0, b4 = a0, b5 = a0, b6 = a0, b7 = a0, b8 = a0;
    __m512 c0 = a0, c1 = a0, c2 = a0, c3 = a0, c4 = a0, c5 = a0, c6 = a0, c7 = a0, c8 = a0;
    for (int64_t n = n0; n < n1; n++) {
        const float *e0 = d0 + n * ld_dy, *e1 = d1 + n * ld_dy, *e2 = d2 + n * ld_dy, *xn = xc + n * ld_x;
        for (int64_t q = 0; q < vpp; q++) {
            const uint16_t *m = masks + q * 9;
            const int64_t k = q * 16;
            const __m512 u = _mm512_loadu_ps(e0 + k), v = _mm512_loadu_ps(e1 + k), w = _mm512_loadu_ps(e2 + k);
            __m512 x;
#define TAP(t, A, B, C) x = _mm512_maskz_loadu_ps((__mmask16)m[t], xn + k + off[t]); \
            A = _mm512_fmadd_ps(u, x, A); B = _mm512_fmadd_ps(v, x, B); C = _mm512_fmadd_ps(w, x, C);
            TAP(0, a0, b0, c0) TAP(1, a1, b1, c1) TAP(2, a2, b2, c2) TAP(3, a3, b3, c3) TAP(4, a4, b4, c4)
            TAP(5, a5, b5, c5) TAP(6, a6, b6, c6) TAP(7, a7, b7, c7) TAP(8, a8, b8, c8)
#undef TAP
        }
    }
#define SUM9(s, a) s[0] += _mm512_reduce_add_ps(a##0); s[1] += _mm512_reduce_add_ps(a##1); \
    s[2] += _mm512_reduce_add_ps(a##2); s[3] += _mm512_reduce_add_ps(a##3); s[4] += _mm512_reduce_add_ps(a##4); \
    s[5] += _mm512_reduce_add_ps(a##5); s[6] += _mm512_reduce_add_ps(a##6); s[7] += _mm512_reduce_add_ps(a##7); \
    s[8] += _mm512_reduce_add_ps(a##8);
    SUM9(s0, a) SUM9(s1, b) SUM9(s2, c)
#undef SUM9
}
#endif

// Portable path: the same lanes, runs of images and order of sums, in plain C.
static void dense_wgrad_triple_portable(const float *d0, const float *d1, const float *d2, int64_t ld_dy, const float *xc,
                                        int64_t ld_x, const int64_t *off, const uint16_t *masks, int64_t vpp,
                                        int64_t n0, int64_t n1, float *s0, float *s1, float *s2) {
    float a[9][16], b[9][16], c[9][16];
    for (int t = 0; t < 9; t++)
        for (int l = 0; l < 16; l++) a[t][l] = b[t][l] = c[t][l] = 0;
    for (int64_t n = n0; n < n1; n++)
        for (int64_t q = 0; q < vpp; q++) {
            const int64_t k = q * 16;
            for (int t = 0; t < 9; t++) {
                const uint16_t m = masks[q * 9 + t];
                const float *xp = xc + n * ld_x + k + off[t];
                for (int l = 0; l < 16; l++) {
                    const float xv = (m >> l & 1) ? xp[l] : 0.0f;
                    a[t][l] += d0[n * ld_dy + k + l] * xv;
                    b[t][l] += d1[n * ld_dy + k + l] * xv;
                    c[t][l] += d2[n * ld_dy + k + l] * xv;
                }
            }
        }
    for (int t = 0; t < 9; t++) {
        for (int w = 8; w >= 1; w /= 2)
            for (int l = 0; l < w; l++) {
                a[t][l] += a[t][l + w];
                b[t][l] += b[t][l + w];
                c[t][l] += c[t][l + w];
            }
        s0[t] += a[t][0];
        s1[t] += b[t][0];
        s2[t] += c[t][0];
    }
}

void csyn_conv_dense_wgrad3x3(const float *dy, const float *x, int64_t images, int64_t o_out, int64_t c_in, int64_t hw,
                              const uint16_t *masks, const int64_t *offsets, float *dw, int64_t task0, int64_t task1) {
    const int64_t vpp = hw / 16;
    // Images per run: about DWG_CHUNK positions, so the 16 lanes are summed into dw every run.
    const int64_t run = DWG_CHUNK / hw > 1 ? DWG_CHUNK / hw : 1;
    const int64_t cblocks = (c_in + CSYN_WGRAD_CB - 1) / CSYN_WGRAD_CB;
    const int wide = csyn_conv_avx512();
    float scratch[2][9] = {{0}};
    for (int64_t task = task0; task < task1; task++) {
        const int64_t o0 = task / cblocks * CSYN_WGRAD_OB, cb0 = task % cblocks * CSYN_WGRAD_CB;
        const int64_t o1 = o0 + CSYN_WGRAD_OB < o_out ? o0 + CSYN_WGRAD_OB : o_out;
        const int64_t cb1 = cb0 + CSYN_WGRAD_CB < c_in ? cb0 + CSYN_WGRAD_CB : c_in;
        for (int64_t o = o0; o < o1; o++)
            for (int64_t c = cb0; c < cb1; c++)
                for (int t = 0; t < 9; t++) dw[(o * c_in + c) * 9 + t] = 0;
        for (int64_t n0 = 0; n0 < images; n0 += run) {
            const int64_t n1 = n0 + run < images ? n0 + run : images;
            for (int64_t c = cb0; c < cb1; c++) {
                const float *xc = x + c * hw;
                for (int64_t o = o0; o < o1; o += 3) {
                    const int64_t left = o1 - o;
                    const float *d0 = dy + o * hw;
                    const float *d1 = left > 1 ? d0 + hw : d0, *d2 = left > 2 ? d0 + 2 * hw : d0;
                    float *s0 = dw + (o * c_in + c) * 9;
                    float *s1 = left > 1 ? s0 + c_in * 9 : scratch[0];
                    float *s2 = left > 2 ? s0 + 2 * c_in * 9 : scratch[1];
#if defined(__x86_64__)
                    if (wide) {
                        dense_wgrad_triple_avx512(d0, d1, d2, o_out * hw, xc, c_in * hw, offsets, masks, vpp, n0, n1, s0, s1, s2);
                        continue;
                    }
#endif
                    dense_wgrad_triple_portable(d0, d1, d2, o_out * hw, xc, c_in * hw, offsets, masks, vpp, n0, n1, s0, s1, s2);
                }
            }
        }
    }
}
