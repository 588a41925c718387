// "Same"-size convolutions read and written in the tensor's own dense [N][C][H][W] layout: a tap
// that would read past a plane's edge is a masked-off lane instead of a padded zero, so nothing is
// copied into or out of a padded layout. Per 16-position vector and tap, the mask says which lanes
// have their neighbour inside the plane (precomputed per plane position, since every plane has the
// same geometry). A masked-off lane is skipped by a masked FMA rather than zeroed by a masked load:
// zero-masking loads cost an extra vector uop on the FMA ports of Intel cores (10% of the kernel on
// a 5th-generation Xeon), so the loads are full-width wherever every address they touch lies inside
// the input, and masked only for the vectors near its two ends.
#include "conv_internal.h"

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

static const uint16_t zero_masks[CSYN_DENSE_MAX_TAPS] = {0};

#if defined(__x86_64__)
#include <immintrin.h>

// `full_loads`: every tap's 16 floats of every vector lie inside the caller's input, so loads need no
// mask; lanes outside the plane are then read but never used. Skipping a lane equals adding w * 0
// for finite w, because an accumulator that starts at +0 never becomes -0 under round-to-nearest.
// `shared`: the three vectors use one row of masks (the same positions of three images), so a tap
// whose mask is full runs plain FMAs and one whose mask is empty is skipped; only the taps along an
// edge carry masks, which measured slower than plain FMAs when all of a tap's FMAs carry one.
__attribute__((target("avx512f"), always_inline))
static inline void block_avx512_body(const csyn_conv_block_t *b, int64_t c_in, int64_t in_stride, int64_t out_stride,
                                     const float *wb, const int64_t *offsets, int64_t taps, int64_t ob_count,
                                     const float *bias, const int full_loads, const int shared) {
    __m512 a00 = _mm512_setzero_ps(), a01 = a00, a02 = a00, a10 = a00, a11 = a00, a12 = a00;
    __m512 a20 = a00, a21 = a00, a22 = a00, a30 = a00, a31 = a00, a32 = a00;
    __m512 a40 = a00, a41 = a00, a42 = a00, a50 = a00, a51 = a00, a52 = a00;
    __m512 a60 = a00, a61 = a00, a62 = a00, a70 = a00, a71 = a00, a72 = a00;
    const float *p0 = b->in[0], *p1 = b->in[1], *p2 = b->in[2];
    const uint16_t *m0 = b->mask[0], *m1 = b->mask[1], *m2 = b->mask[2];
    for (int64_t c = 0; c < c_in; c++) {
        const float *wc = wb + c * taps * CSYN_CONV_OB;
        for (int64_t t = 0; t < taps; t++) {
            if (shared && m0[t] == 0) continue;
            const int64_t off = offsets[t];
            const float *wt = wc + t * CSYN_CONV_OB;
            __m512 s;
            if (shared && m0[t] == 0xffff) {
                const __m512 v0 = _mm512_loadu_ps(p0 + off), v1 = _mm512_loadu_ps(p1 + off), v2 = _mm512_loadu_ps(p2 + off);
#define ROW(j, x0, x1, x2) s = _mm512_set1_ps(wt[j]); \
                x0 = _mm512_fmadd_ps(s, v0, x0); x1 = _mm512_fmadd_ps(s, v1, x1); x2 = _mm512_fmadd_ps(s, v2, x2);
                ROW(0, a00, a01, a02) ROW(1, a10, a11, a12) ROW(2, a20, a21, a22) ROW(3, a30, a31, a32)
                ROW(4, a40, a41, a42) ROW(5, a50, a51, a52) ROW(6, a60, a61, a62) ROW(7, a70, a71, a72)
#undef ROW
            } else {
                // Masks straight from memory (kmovw m16): through a general register they would take a
                // slot on an FMA port.
                const __mmask16 k0 = _load_mask16((__mmask16 *)(uintptr_t)(m0 + t));
                const __mmask16 k1 = shared ? k0 : _load_mask16((__mmask16 *)(uintptr_t)(m1 + t));
                const __mmask16 k2 = shared ? k0 : _load_mask16((__mmask16 *)(uintptr_t)(m2 + t));
                const __m512 v0 = full_loads ? _mm512_loadu_ps(p0 + off) : _mm512_maskz_loadu_ps(k0, p0 + off);
                const __m512 v1 = full_loads ? _mm512_loadu_ps(p1 + off) : _mm512_maskz_loadu_ps(k1, p1 + off);
                const __m512 v2 = full_loads ? _mm512_loadu_ps(p2 + off) : _mm512_maskz_loadu_ps(k2, p2 + off);
#define ROW(j, x0, x1, x2) s = _mm512_set1_ps(wt[j]); \
                x0 = _mm512_mask3_fmadd_ps(s, v0, x0, k0); x1 = _mm512_mask3_fmadd_ps(s, v1, x1, k1); \
                x2 = _mm512_mask3_fmadd_ps(s, v2, x2, k2);
                ROW(0, a00, a01, a02) ROW(1, a10, a11, a12) ROW(2, a20, a21, a22) ROW(3, a30, a31, a32)
                ROW(4, a40, a41, a42) ROW(5, a50, a51, a52) ROW(6, a60, a61, a62) ROW(7, a70, a71, a72)
#undef ROW
            }
        }
        p0 += in_stride; p1 += in_stride; p2 += in_stride;
    }
    // Epilogue in the order of separate adds: + bias[o], + shift[n][o], + residual.
#define OUT1(j, acc, v) if (b->out[v]) { __m512 r = acc; \
        if (bias) r = _mm512_add_ps(r, _mm512_set1_ps(bias[j])); \
        if (b->shift[v]) r = _mm512_add_ps(r, _mm512_set1_ps(b->shift[v][j])); \
        if (b->res[v]) r = _mm512_add_ps(r, _mm512_loadu_ps(b->res[v] + (j) * out_stride)); \
        _mm512_storeu_ps(b->out[v] + (j) * out_stride, r); }
#define STORE(j, x0, x1, x2) if (j < ob_count) { OUT1(j, x0, 0) OUT1(j, x1, 1) OUT1(j, x2, 2) }
    STORE(0, a00, a01, a02) STORE(1, a10, a11, a12) STORE(2, a20, a21, a22) STORE(3, a30, a31, a32)
    STORE(4, a40, a41, a42) STORE(5, a50, a51, a52) STORE(6, a60, a61, a62) STORE(7, a70, a71, a72)
#undef STORE
#undef OUT1
}

__attribute__((target("avx512f")))
static void block_avx512(const csyn_conv_block_t *b, int64_t c_in, int64_t in_stride, int64_t out_stride, const float *wb,
                         const int64_t *offsets, int64_t taps, int64_t ob_count, const float *bias, int flags) {
    if ((flags & CSYN_BLOCK_FULL_LOADS) && (flags & CSYN_BLOCK_SHARED_MASK))
        block_avx512_body(b, c_in, in_stride, out_stride, wb, offsets, taps, ob_count, bias, 1, 1);
    else if (flags & CSYN_BLOCK_FULL_LOADS)
        block_avx512_body(b, c_in, in_stride, out_stride, wb, offsets, taps, ob_count, bias, 1, 0);
    else block_avx512_body(b, c_in, in_stride, out_stride, wb, offsets, taps, ob_count, bias, 0, 0);
}
#endif

// Portable path: the same sums in the same order, in plain C (products rounded before each add where
// the compiler has no FMA, so the two paths agree to rounding, not bit for bit).
static void block_portable(const csyn_conv_block_t *b, int64_t c_in, int64_t in_stride, int64_t out_stride,
                           const float *wb, const int64_t *offsets, int64_t taps, int64_t ob_count, const float *bias) {
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
                const float *s = b->in[v] + c * in_stride + offsets[t];
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
                if (b->res[v]) r += b->res[v][j * out_stride + l];
                b->out[v][j * out_stride + l] = r;
            }
        }
}

void csyn_conv_block(const csyn_conv_block_t *b, int64_t c_in, int64_t in_stride, int64_t out_stride, const float *wb,
                     const int64_t *offsets, int64_t taps, int64_t ob_count, const float *bias, int wide, int flags) {
#if defined(__x86_64__)
    if (wide) {
        block_avx512(b, c_in, in_stride, out_stride, wb, offsets, taps, ob_count, bias, flags);
        return;
    }
#endif
    (void)wide;
    (void)flags;
    block_portable(b, c_in, in_stride, out_stride, wb, offsets, taps, ob_count, bias);
}

// One block of csyn_conv_dense: vectors `idx[0..count)` (count <= 3) of output block o0.
static void dense_block(const float *in, int64_t c_in, int64_t hw, int64_t vpp, const int64_t *idx, int count,
                        const uint16_t *masks, int64_t taps, int64_t lo, int64_t hi, int64_t total, const float *wb,
                        const int64_t *offsets, int64_t o_out, int64_t o0, int64_t ob_count, const float *bias,
                        const float *shift, const float *residual, float *out, int wide) {
    csyn_conv_block_t b;
    int flags = CSYN_BLOCK_FULL_LOADS | CSYN_BLOCK_SHARED_MASK;
    for (int v = 0; v < 3; v++) {
        if (v >= count) {
            flags = 0;
            b.in[v] = in;
            b.mask[v] = zero_masks;
            b.out[v] = NULL;
            b.res[v] = NULL;
            b.shift[v] = NULL;
            continue;
        }
        const int64_t n = idx[v] / vpp, q = idx[v] % vpp, first = n * c_in * hw + q * 16;
        if (first + lo < 0 || first + (c_in - 1) * hw + 16 + hi > total) flags &= ~CSYN_BLOCK_FULL_LOADS;
        if (v > 0 && q != idx[0] % vpp) flags &= ~CSYN_BLOCK_SHARED_MASK;
        b.in[v] = in + first;
        b.mask[v] = masks + q * taps;
        b.out[v] = out + (n * o_out + o0) * hw + q * 16;
        b.res[v] = residual ? residual + (n * o_out + o0) * hw + q * 16 : NULL;
        b.shift[v] = shift ? shift + n * o_out + o0 : NULL;
    }
    csyn_conv_block(&b, c_in, hw, hw, wb, offsets, taps, ob_count, bias, wide, flags);
}

void csyn_conv_dense(const float *in, int64_t images, int64_t c_in, int64_t hw, const float *wpk, int64_t o_out,
                     int64_t taps, const uint16_t *masks, const int64_t *offsets, const float *bias, const float *shift,
                     const float *residual, float *out, int64_t chunk, int64_t task0, int64_t task1) {
    (void)csyn_conv_dense_on(csyn_conv_path(), in, images, c_in, hw, wpk, o_out, taps, masks, offsets, bias, shift, residual,
                       out, chunk, task0, task1);
}

int csyn_conv_dense_on(int path, const float *in, int64_t images, int64_t c_in, int64_t hw, const float *wpk,
                        int64_t o_out, int64_t taps, const uint16_t *masks, const int64_t *offsets, const float *bias,
                        const float *shift, const float *residual, float *out, int64_t chunk, int64_t task0,
                        int64_t task1) {
    const int64_t vpp = hw / 16, vectors = images * vpp;
    const int wide = csyn_conv_wide(path);
    if (wide < 0) return -1;
    const int64_t blocks = (o_out + CSYN_CONV_OB - 1) / CSYN_CONV_OB;
    // Vector (n, q) reads from n * c_in * hw + q * 16 + lo to (n * c_in + c_in - 1) * hw + q * 16 + 16 + hi
    // floats into `in`; full-width loads are safe where that lies inside the images * c_in * hw floats.
    int64_t lo = 0, hi = 0;
    for (int64_t t = 0; t < taps; t++) {
        if (offsets[t] < lo) lo = offsets[t];
        if (offsets[t] > hi) hi = offsets[t];
    }
    const int64_t total = images * c_in * hw;
    for (int64_t task = task0; task < task1; task++) {
        const int64_t i_begin = task / blocks * chunk, ob = task % blocks;
        const int64_t i_end = i_begin + chunk < vectors ? i_begin + chunk : vectors;
        const int64_t o0 = ob * CSYN_CONV_OB;
        const int64_t count = o_out - o0 < CSYN_CONV_OB ? o_out - o0 : CSYN_CONV_OB;
        const float *wb = wpk + ob * c_in * taps * CSYN_CONV_OB;
        const float *bb = bias ? bias + o0 : NULL;
        // Whole images of the range go three at a time, position by position, so a block's vectors share
        // their masks; the rest (partial images at either end, one or two images left over) go as runs
        // of consecutive vectors. Every output is summed in the same order either way.
        const int64_t n_first = (i_begin + vpp - 1) / vpp, n_end = i_end / vpp;
        const int64_t triples = n_end > n_first ? (n_end - n_first) / 3 : 0;
        const int64_t grouped_begin = n_first * vpp, grouped_end = (n_first + 3 * triples) * vpp;
        int64_t idx[3];
        for (int64_t g = 0; g < triples; g++)
            for (int64_t q = 0; q < vpp; q++) {
                for (int v = 0; v < 3; v++) idx[v] = (n_first + 3 * g + v) * vpp + q;
                dense_block(in, c_in, hw, vpp, idx, 3, masks, taps, lo, hi, total, wb, offsets, o_out, o0, count, bb,
                            shift, residual, out, wide);
            }
        int have = 0;
        for (int64_t i = i_begin; i < i_end; i++) {
            if (triples > 0 && i >= grouped_begin && i < grouped_end) continue;
            idx[have++] = i;
            if (have == 3) {
                dense_block(in, c_in, hw, vpp, idx, 3, masks, taps, lo, hi, total, wb, offsets, o_out, o0, count, bb,
                            shift, residual, out, wide);
                have = 0;
            }
        }
        if (have > 0)
            dense_block(in, c_in, hw, vpp, idx, have, masks, taps, lo, hi, total, wb, offsets, o_out, o0, count, bb,
                        shift, residual, out, wide);
    }
    return 0;
}
