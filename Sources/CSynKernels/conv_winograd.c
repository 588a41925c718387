// Winograd F(2x2, 3x3) "same" 3x3 convolutions in the dense [N][C][H][W] layout (Lavin and Gray,
// "Fast Algorithms for Convolutional Neural Networks", CVPR 2016): each 2x2 block of outputs ("tile")
// is A^T [sum over c of (G g G^T) . (B^T d B)] A, where d is the tile's 4x4 input patch, so a tile
// costs 16 multiply-adds per channel pair instead of the direct convolution's 36. Sixteen tiles are one
// vector; a task transforms the inputs of two vectors into 16 x C x 32 floats, multiplies them by the
// transformed weights (16 small matrix products that stay in L1/L2), and transforms the products back,
// adding the bias, per-image shift and residual as it stores.
//
// Planes of width 32 (a vector is one row of tiles), 16 (two rows) and 8 (four rows), whose height
// holds whole vectors (a multiple of 2, 4 or 8); AVX-512 only (other CPUs and shapes keep the direct kernel). Outputs differ from the
// direct convolution's by rounding (the sums run in another order), and every output is summed in
// the same order whatever the split into tasks.
#include "csynconv.h"
#include <pthread.h>
#include <stdlib.h>

int csyn_conv_winograd_supported(int64_t h, int64_t w) {
#if defined(__x86_64__)
    return csyn_conv_avx512() && (w == 8 || w == 16 || w == 32) && h > 0 && h % 2 == 0 && (h * w) % 64 == 0;
#else
    (void)h;
    (void)w;
    return 0;
#endif
}

void csyn_conv_winograd_weights(const float *w, int64_t o_out, int64_t c_in, int flipped, float *u, int64_t c0,
                                int64_t c1) {
    // Output channel o and input channel c of the convolution: g[o][c] is w[o][c], or for the input
    // gradient the transposed kernel flipped in both directions (g[c'][o'] = w[o'][c'] rotated).
    const int64_t O = flipped ? c_in : o_out, C = flipped ? o_out : c_in, xs = C * O;
    for (int64_t c = c0; c < c1; c++)
        for (int64_t o0 = 0; o0 < O; o0 += 16) {
            // Sixteen output channels at a time, each of the 16 rows u[xi][c][o0..] written whole: the
            // rows lie C * O floats apart, often a multiple of 4 KiB, and single floats scattered over
            // them kept evicting each other from the same cache sets (4x slower).
            float blk[16][16];
            const int64_t ob = O - o0 < 16 ? O - o0 : 16;
            for (int64_t k = 0; k < ob; k++) {
                const int64_t o = o0 + k;
                float g[9];
                for (int q = 0; q < 9; q++) g[q] = flipped ? w[(c * c_in + o) * 9 + 8 - q] : w[(o * c_in + c) * 9 + q];
                // t = G g (rows of G: [1 0 0], [1/2 1/2 1/2], [1/2 -1/2 1/2], [0 0 1]), then U = t G^T.
                float t[4][3];
                for (int j = 0; j < 3; j++) {
                    t[0][j] = g[j];
                    t[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
                    t[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
                    t[3][j] = g[6 + j];
                }
                for (int i = 0; i < 4; i++) {
                    blk[i * 4 + 0][k] = t[i][0];
                    blk[i * 4 + 1][k] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
                    blk[i * 4 + 2][k] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
                    blk[i * 4 + 3][k] = t[i][2];
                }
            }
            for (int xi = 0; xi < 16; xi++)
                for (int64_t k = 0; k < ob; k++) u[xi * xs + c * O + o0 + k] = blk[xi][k];
        }
}

#if defined(__x86_64__)
#include <immintrin.h>

// One step of the 1-D input transform B^T d over four columns (or rows) d0..d3 of the patches.
#define BT(d0, d1, d2, d3, t0, t1, t2, t3)                                                                            \
    t0 = _mm512_sub_ps(d0, d2);                                                                                       \
    t1 = _mm512_add_ps(d1, d2);                                                                                       \
    t2 = _mm512_sub_ps(d2, d1);                                                                                       \
    t3 = _mm512_sub_ps(d1, d3);

// Where lane l of a vector finds column j of its patch row: an index into the two source vectors
// `a`, `b` that `input_vector` loads for that row, and whether the column lies inside the plane.
typedef struct {
    __m512i idx[4];
    __mmask16 keep[4];
} wino_cols_t;

// Tiles of a vector: width 32: one row of tiles (tx = l); 16: two rows (row l / 8, tx = l % 8);
// 8: four rows (row l / 4, tx = l % 4). Lane l's patch column j is plane column 2 tx - 1 + j.
__attribute__((target("avx512f")))
static wino_cols_t wino_cols(int64_t w) {
    wino_cols_t c;
    for (int j = 0; j < 4; j++) {
        int32_t idx[16];
        c.keep[j] = 0;
        for (int l = 0; l < 16; l++) {
            const int per = (int)(w / 2) < 16 ? (int)(w / 2) : 16, tx = l % per, row = l / per;
            const int col = 2 * tx - 1 + j;
            // Width 32: a = columns 0-15, b = 16-31. 16: a = the first tile row's patch row, b = the
            // second's. 8: a = rows of tile rows 0 and 1 (8 floats each), b = of tile rows 2 and 3.
            const int base = w == 32 ? 0 : w == 16 ? row * 16 : (row / 2) * 16 + (row % 2) * 8;
            idx[l] = col >= 0 && col < w ? base + col : 0;
            if (col >= 0 && col < w) c.keep[j] |= (__mmask16)(1u << l);
        }
        c.idx[j] = _mm512_loadu_si512(idx);
    }
    return c;
}

// Two 8-float halves as one vector, and the upper half of one (AVX-512F only, no DQ).
__attribute__((target("avx512f"), always_inline))
static inline __m512 join8(__m256 lo, __m256 hi) {
    return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(lo)), _mm256_castps_pd(hi), 1));
}
__attribute__((target("avx512f"), always_inline))
static inline __m256 upper8(__m512 v) { return _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)); }

// Plane row r, or zeros outside the plane.
__attribute__((target("avx512f"), always_inline))
static inline __m256 row8(const float *plane, int64_t h, int64_t r) {
    return r >= 0 && r < h ? _mm256_loadu_ps(plane + r * 8) : _mm256_setzero_ps();
}
__attribute__((target("avx512f"), always_inline))
static inline __m512 row16(const float *plane, int64_t h, int64_t r) {
    return r >= 0 && r < h ? _mm512_loadu_ps(plane + r * 16) : _mm512_setzero_ps();
}

// The 16 transformed values of one channel's patches for vector `vec` of a plane, stored `stride`
// floats apart at v.
__attribute__((target("avx512f"), always_inline))
static inline void input_vector(const float *plane, int64_t h, int64_t w, int64_t vec, const wino_cols_t *cols,
                                float *v, int64_t stride) {
    __m512 t[4][4];
    for (int i = 0; i < 4; i++) {
        __m512 a, b;
        if (w == 32) {
            const int64_t r = 2 * vec - 1 + i;
            if (r < 0 || r >= h) a = b = _mm512_setzero_ps();
            else {
                a = _mm512_loadu_ps(plane + r * 32);
                b = _mm512_loadu_ps(plane + r * 32 + 16);
            }
        } else if (w == 16) {
            const int64_t r = 4 * vec - 1 + i;
            a = row16(plane, h, r);
            b = row16(plane, h, r + 2);
        } else {
            const int64_t r = 8 * vec - 1 + i;
            a = join8(row8(plane, h, r), row8(plane, h, r + 2));
            b = join8(row8(plane, h, r + 4), row8(plane, h, r + 6));
        }
        const __m512 d0 = _mm512_maskz_permutex2var_ps(cols->keep[0], a, cols->idx[0], b);
        const __m512 d1 = _mm512_maskz_permutex2var_ps(cols->keep[1], a, cols->idx[1], b);
        const __m512 d2 = _mm512_maskz_permutex2var_ps(cols->keep[2], a, cols->idx[2], b);
        const __m512 d3 = _mm512_maskz_permutex2var_ps(cols->keep[3], a, cols->idx[3], b);
        BT(d0, d1, d2, d3, t[i][0], t[i][1], t[i][2], t[i][3])
    }
    for (int j = 0; j < 4; j++) {
        __m512 v0, v1, v2, v3;
        BT(t[0][j], t[1][j], t[2][j], t[3][j], v0, v1, v2, v3)
        _mm512_store_ps(v + (0 * 4 + j) * stride, v0);
        _mm512_store_ps(v + (1 * 4 + j) * stride, v1);
        _mm512_store_ps(v + (2 * 4 + j) * stride, v2);
        _mm512_store_ps(v + (3 * 4 + j) * stride, v3);
    }
}

// Stores `row` (16 floats) at plane row r, column c0, plus the residual at the same place.
__attribute__((target("avx512f"), always_inline))
static inline void store16(float *plane, const float *res, int64_t w, int64_t r, int64_t c0, __m512 row) {
    if (res) row = _mm512_add_ps(row, _mm512_loadu_ps(res + r * w + c0));
    _mm512_storeu_ps(plane + r * w + c0, row);
}
__attribute__((target("avx512f"), always_inline))
static inline void store8(float *plane, const float *res, int64_t r, __m256 row) {
    if (res) row = _mm256_add_ps(row, _mm256_loadu_ps(res + r * 8));
    _mm256_storeu_ps(plane + r * 8, row);
}

// Output transform of one vector of tiles for one output channel: A^T M A from the 16 products at
// m (`stride` floats apart), plus `add` (bias and shift), plus the residual, stored into the plane.
__attribute__((target("avx512f"), always_inline))
static inline void output_vector(const float *m, int64_t stride, __m512 add, int64_t w, int64_t vec, float *plane,
                                 const float *res) {
    __m512 s[4], r[4];
    for (int j = 0; j < 4; j++) {
        const __m512 m0 = _mm512_load_ps(m + j * stride), m1 = _mm512_load_ps(m + (4 + j) * stride);
        const __m512 m2 = _mm512_load_ps(m + (8 + j) * stride), m3 = _mm512_load_ps(m + (12 + j) * stride);
        s[j] = _mm512_add_ps(_mm512_add_ps(m0, m1), m2);
        r[j] = _mm512_sub_ps(_mm512_sub_ps(m1, m2), m3);
    }
    const __m512 y00 = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(s[0], s[1]), s[2]), add);
    const __m512 y01 = _mm512_add_ps(_mm512_sub_ps(_mm512_sub_ps(s[1], s[2]), s[3]), add);
    const __m512 y10 = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(r[0], r[1]), r[2]), add);
    const __m512 y11 = _mm512_add_ps(_mm512_sub_ps(_mm512_sub_ps(r[1], r[2]), r[3]), add);
    // Interleave the two output columns of each tile: lanes 0-7 of a tile row pair, then lanes 8-15.
    const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    const __m512 t0 = _mm512_permutex2var_ps(y00, lo, y01), t1 = _mm512_permutex2var_ps(y00, hi, y01);
    const __m512 b0 = _mm512_permutex2var_ps(y10, lo, y11), b1 = _mm512_permutex2var_ps(y10, hi, y11);
    if (w == 32) {
        store16(plane, res, 32, 2 * vec, 0, t0);
        store16(plane, res, 32, 2 * vec, 16, t1);
        store16(plane, res, 32, 2 * vec + 1, 0, b0);
        store16(plane, res, 32, 2 * vec + 1, 16, b1);
    } else if (w == 16) {
        store16(plane, res, 16, 4 * vec, 0, t0);
        store16(plane, res, 16, 4 * vec + 1, 0, b0);
        store16(plane, res, 16, 4 * vec + 2, 0, t1);
        store16(plane, res, 16, 4 * vec + 3, 0, b1);
    } else {
        const int64_t r0 = 8 * vec;
        store8(plane, res, r0 + 0, _mm512_castps512_ps256(t0));
        store8(plane, res, r0 + 1, _mm512_castps512_ps256(b0));
        store8(plane, res, r0 + 2, upper8(t0));
        store8(plane, res, r0 + 3, upper8(b0));
        store8(plane, res, r0 + 4, _mm512_castps512_ps256(t1));
        store8(plane, res, r0 + 5, _mm512_castps512_ps256(b1));
        store8(plane, res, r0 + 6, upper8(t1));
        store8(plane, res, r0 + 7, upper8(b1));
    }
}

// The 16 products of two vectors of tiles: m[xi][o][32] = sum over c, in order, of u[xi][c][o] v[xi][c][32],
// eight output channels x two vectors in registers.
__attribute__((target("avx512f")))
static void products(const float *u, const float *v, int64_t vs, float *m, int64_t ms, int64_t c_in, int64_t o_out) {
    for (int xi = 0; xi < 16; xi++) {
        const float *ux = u + xi * c_in * o_out, *vx = v + xi * vs;
        float *mx = m + xi * ms;
        for (int64_t o0 = 0; o0 < o_out; o0 += 8) {
            const int64_t ob = o_out - o0 < 8 ? o_out - o0 : 8;
            __m512 a[8][2];
            for (int k = 0; k < 8; k++) a[k][0] = a[k][1] = _mm512_setzero_ps();
            if (ob == 8) {
                for (int64_t c = 0; c < c_in; c++) {
                    const __m512 v0 = _mm512_load_ps(vx + c * 32), v1 = _mm512_load_ps(vx + c * 32 + 16);
                    const float *uc = ux + c * o_out + o0;
                    for (int k = 0; k < 8; k++) {
                        const __m512 s = _mm512_set1_ps(uc[k]);
                        a[k][0] = _mm512_fmadd_ps(s, v0, a[k][0]);
                        a[k][1] = _mm512_fmadd_ps(s, v1, a[k][1]);
                    }
                }
            } else {
                for (int64_t c = 0; c < c_in; c++) {
                    const __m512 v0 = _mm512_load_ps(vx + c * 32), v1 = _mm512_load_ps(vx + c * 32 + 16);
                    const float *uc = ux + c * o_out + o0;
                    for (int k = 0; k < ob; k++) {
                        const __m512 s = _mm512_set1_ps(uc[k]);
                        a[k][0] = _mm512_fmadd_ps(s, v0, a[k][0]);
                        a[k][1] = _mm512_fmadd_ps(s, v1, a[k][1]);
                    }
                }
            }
            for (int k = 0; k < ob; k++) {
                _mm512_store_ps(mx + (o0 + k) * 32, a[k][0]);
                _mm512_store_ps(mx + (o0 + k) * 32 + 16, a[k][1]);
            }
        }
    }
}

__attribute__((target("avx512f")))
static int winograd_avx512(const float *in, int64_t images, int64_t c_in, int64_t h, int64_t w, const float *u,
                           int64_t o_out, const float *bias, const float *shift, const float *residual, float *out,
                           int64_t task0, int64_t task1) {
    const int64_t hw = h * w, per_image = hw / 64, vectors = images * per_image;
    // Scratch: v [16][c_in][32] (two vectors of 16 tiles per channel), m [16][o_out][32].
    const int64_t vs = c_in * 32 + 16, ms = o_out * 32 + 16;
    float *v = aligned_alloc(64, (size_t)(16 * vs) * sizeof(float));
    float *m = aligned_alloc(64, (size_t)(16 * ms) * sizeof(float));
    if (!v || !m) {
        free(v);
        free(m);
        return -1;
    }
    const wino_cols_t cols = wino_cols(w);
    for (int64_t task = task0; task < task1; task++) {
        const int64_t first = 2 * task, count = first + 1 < vectors ? 2 : 1;
        for (int64_t k = 0; k < 2; k++) {
            const int64_t vec = first + k, n = vec / per_image, q = vec % per_image;
            for (int64_t c = 0; c < c_in; c++) {
                float *vc = v + c * 32 + k * 16;
                if (k < count) {
                    const float *plane = in + (n * c_in + c) * hw;
                    // A constant width per call, so each inlined copy keeps only its own gather and store.
                    if (w == 32) input_vector(plane, h, 32, q, &cols, vc, vs);
                    else if (w == 16) input_vector(plane, h, 16, q, &cols, vc, vs);
                    else input_vector(plane, h, 8, q, &cols, vc, vs);
                } else {
                    // No second vector: zeros keep the products finite; they are never stored.
                    for (int xi = 0; xi < 16; xi++) _mm512_store_ps(vc + xi * vs, _mm512_setzero_ps());
                }
            }
        }
        products(u, v, vs, m, ms, c_in, o_out);
        for (int64_t k = 0; k < count; k++) {
            const int64_t vec = first + k, n = vec / per_image, q = vec % per_image;
            for (int64_t o = 0; o < o_out; o++) {
                float add = bias ? bias[o] : 0.0f;
                if (shift) add += shift[n * o_out + o];
                const int64_t p = (n * o_out + o) * hw;
                const float *res = residual ? residual + p : NULL;
                const float *mo = m + o * 32 + k * 16;
                if (w == 32) output_vector(mo, ms, _mm512_set1_ps(add), 32, q, out + p, res);
                else if (w == 16) output_vector(mo, ms, _mm512_set1_ps(add), 16, q, out + p, res);
                else output_vector(mo, ms, _mm512_set1_ps(add), 8, q, out + p, res);
            }
        }
    }
    free(v);
    free(m);
    return 0;
}

// ---- Weight gradient: dg = G^T [sum over tiles of (A dy A^T) . (B^T d B)] G, the transpose of the
// forward's chain for the weights (16 multiply-adds per tile and channel pair instead of 36). A task
// transforms the x and dy of a chunk of WG_KV vectors for its WG_CB input and WG_OB output channels
// into L2, then for each of the 16 transformed positions multiplies the two as dot products over the
// chunk's tiles, 4 x 4 channel pairs in registers, whose lanes are summed at the end of the chunk.

// Vectors of tiles per chunk (16 ran faster than 8 or 32: fewer lane sums against a scratch that stays in L2).
#define WG_KV 16
// Output and input channels per task.
#define WG_OB CSYN_WINO_WGRAD_OB
#define WG_CB CSYN_WINO_WGRAD_CB

// Where lane l of a vector of tiles finds column j (0: a tile's left output column, 1: its right) of one
// of its output rows, as an index into the two vectors `dy_vector` loads for that row (w = 32: the row's
// columns 0-15 and 16-31; 16: the rows of the vector's two tile rows; 8: of its four, 8 floats each).
__attribute__((target("avx512f")))
static void dy_cols(int64_t w, __m512i idx[2]) {
    for (int j = 0; j < 2; j++) {
        int32_t v[16];
        for (int l = 0; l < 16; l++) {
            const int per = (int)(w / 2) < 16 ? (int)(w / 2) : 16, tx = l % per, row = l / per;
            v[l] = (int)(w == 32 ? 0 : row * w) + 2 * tx + j;
        }
        idx[j] = _mm512_loadu_si512(v);
    }
}

// The 16 values A y A^T of one channel's output gradients y for vector `vec` of a plane (the transpose
// of `output_vector`'s transform), stored `stride` floats apart at d.
__attribute__((target("avx512f"), always_inline))
static inline void dy_vector(const float *plane, int64_t w, int64_t vec, const __m512i idx[2], float *d,
                             int64_t stride) {
    __m512 y[2][2];
    for (int i = 0; i < 2; i++) {
        __m512 a, b;
        if (w == 32) {
            a = _mm512_loadu_ps(plane + (2 * vec + i) * 32);
            b = _mm512_loadu_ps(plane + (2 * vec + i) * 32 + 16);
        } else if (w == 16) {
            a = _mm512_loadu_ps(plane + (4 * vec + i) * 16);
            b = _mm512_loadu_ps(plane + (4 * vec + 2 + i) * 16);
        } else {
            const float *r = plane + (8 * vec + i) * 8;
            a = join8(_mm256_loadu_ps(r), _mm256_loadu_ps(r + 16));
            b = join8(_mm256_loadu_ps(r + 32), _mm256_loadu_ps(r + 48));
        }
        y[i][0] = _mm512_permutex2var_ps(a, idx[0], b);
        y[i][1] = _mm512_permutex2var_ps(a, idx[1], b);
    }
    // Rows of A y (y0, y0 + y1, y0 - y1, -y1), then the same over the two columns of each row.
    const __m512 zero = _mm512_setzero_ps();
    __m512 r[4][2];
    for (int j = 0; j < 2; j++) {
        r[0][j] = y[0][j];
        r[1][j] = _mm512_add_ps(y[0][j], y[1][j]);
        r[2][j] = _mm512_sub_ps(y[0][j], y[1][j]);
        r[3][j] = _mm512_sub_ps(zero, y[1][j]);
    }
    for (int i = 0; i < 4; i++) {
        _mm512_store_ps(d + (i * 4 + 0) * stride, r[i][0]);
        _mm512_store_ps(d + (i * 4 + 1) * stride, _mm512_add_ps(r[i][0], r[i][1]));
        _mm512_store_ps(d + (i * 4 + 2) * stride, _mm512_sub_ps(r[i][0], r[i][1]));
        _mm512_store_ps(d + (i * 4 + 3) * stride, _mm512_sub_ps(zero, r[i][1]));
    }
}

// The lane sums of 16 vectors as one vector: lane 4 q + e holds the sum of v[4 e + q].
__attribute__((target("avx512f"), always_inline))
static inline __m512 lane_sums16(const __m512 v[16]) {
    __m512 s[8], u[4], t[2];
    for (int i = 0; i < 8; i++)
        s[i] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], 0x44),
                             _mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], 0xEE));
    for (int i = 0; i < 4; i++)
        u[i] = _mm512_add_ps(_mm512_shuffle_f32x4(s[2 * i], s[2 * i + 1], 0x88),
                             _mm512_shuffle_f32x4(s[2 * i], s[2 * i + 1], 0xDD));
    for (int i = 0; i < 2; i++)
        t[i] = _mm512_add_ps(_mm512_shuffle_ps(u[2 * i], u[2 * i + 1], 0x44),
                             _mm512_shuffle_ps(u[2 * i], u[2 * i + 1], 0xEE));
    return _mm512_add_ps(_mm512_shuffle_ps(t[0], t[1], 0x88), _mm512_shuffle_ps(t[0], t[1], 0xDD));
}

// For one transformed position: m[o4][c4][oi * 4 + ci] += sum over k < len of dt[o][k] xt[c][k]
// (o = 4 o4 + oi, c = 4 c4 + ci), rows `ld` floats apart; each block's sum runs lanewise over k, then
// over the lanes, in a fixed order.
__attribute__((target("avx512f")))
static void wgrad_products(const float *dt, const float *xt, int64_t ob4, int64_t cb4, int64_t ld, int64_t len,
                           float *m) {
    for (int64_t o4 = 0; o4 < ob4; o4++)
        for (int64_t c4 = 0; c4 < cb4; c4++) {
            const float *d = dt + o4 * 4 * ld, *x = xt + c4 * 4 * ld;
            __m512 acc[16];
            for (int i = 0; i < 16; i++) acc[i] = _mm512_setzero_ps();
            for (int64_t k = 0; k < len; k += 16) {
                __m512 dv[4], xv[4];
                for (int i = 0; i < 4; i++) {
                    dv[i] = _mm512_load_ps(d + i * ld + k);
                    xv[i] = _mm512_load_ps(x + i * ld + k);
                }
                // Accumulator ci * 4 + oi, so the lane sums come out as oi * 4 + ci.
                for (int ci = 0; ci < 4; ci++)
                    for (int oi = 0; oi < 4; oi++) acc[ci * 4 + oi] = _mm512_fmadd_ps(dv[oi], xv[ci], acc[ci * 4 + oi]);
            }
            float *mb = m + (o4 * cb4 + c4) * 16;
            _mm512_store_ps(mb, _mm512_add_ps(_mm512_load_ps(mb), lane_sums16(acc)));
        }
}

// The weight gradient's scratch (always the same size, about 1.1 MB), kept per thread and freed when
// the thread exits: allocated per call, its pages were faulted in anew each time (1% of a UNet
// training step).
static pthread_key_t wgrad_key;
static pthread_once_t wgrad_once = PTHREAD_ONCE_INIT;
static int wgrad_key_ok = 0;
static void wgrad_key_init(void) { wgrad_key_ok = pthread_key_create(&wgrad_key, free) == 0; }
static float *wgrad_scratch(size_t bytes) {
    if (pthread_once(&wgrad_once, wgrad_key_init) != 0 || !wgrad_key_ok) return NULL;
    float *p = pthread_getspecific(wgrad_key);
    if (!p) {
        p = aligned_alloc(64, bytes);
        if (p && pthread_setspecific(wgrad_key, p) != 0) {
            free(p);
            return NULL;
        }
    }
    return p;
}

__attribute__((target("avx512f")))
static int winograd_wgrad_avx512(const float *dy, const float *x, int64_t images, int64_t c_in, int64_t h, int64_t w,
                                 int64_t o_out, float *partial, int64_t task0, int64_t task1) {
    const int64_t hw = h * w, per_image = hw / 64, vectors = images * per_image;
    // Scratch: xt [16][WG_CB][ld], dt [16][WG_OB][ld] (rows and positions one cache line longer than their
    // contents: at powers of two the transforms' 16 stores per vector fell into one cache set), and
    // m [16][WG_OB / 4][WG_CB / 4][16].
    const int64_t ob_blocks = (o_out + WG_OB - 1) / WG_OB, cb_blocks = (c_in + WG_CB - 1) / WG_CB, ld = WG_KV * 16 + 16;
    const int64_t xs = WG_CB * ld + 16, ds = WG_OB * ld + 16;
    float *scratch = wgrad_scratch((size_t)(16 * xs + 16 * ds + 16 * WG_OB * WG_CB) * sizeof(float));
    if (!scratch) return -1;
    float *xt = scratch, *dt = xt + 16 * xs, *m = dt + 16 * ds;
    const wino_cols_t cols = wino_cols(w);
    __m512i didx[2];
    dy_cols(w, didx);
    for (int64_t task = task0; task < task1; task++) {
        const int64_t slice = task / (ob_blocks * cb_blocks), ob_i = task / cb_blocks % ob_blocks, cb_i = task % cb_blocks;
        const int64_t o0 = ob_i * WG_OB, c0 = cb_i * WG_CB;
        const int64_t ob = o_out - o0 < WG_OB ? o_out - o0 : WG_OB, cb = c_in - c0 < WG_CB ? c_in - c0 : WG_CB;
        const int64_t ob4 = (ob + 3) / 4, cb4 = (cb + 3) / 4;
        const int64_t v_end = (slice + 1) * CSYN_WINO_WGRAD_SLICE < vectors ? (slice + 1) * CSYN_WINO_WGRAD_SLICE : vectors;
        for (int64_t i = 0; i < 16 * ob4 * cb4 * 16; i++) m[i] = 0.0f;
        for (int64_t v0 = slice * CSYN_WINO_WGRAD_SLICE; v0 < v_end; v0 += WG_KV) {
            const int64_t kv = v_end - v0 < WG_KV ? v_end - v0 : WG_KV;
            for (int64_t k = 0; k < kv; k++) {
                const int64_t vec = v0 + k, n = vec / per_image, q = vec % per_image;
                for (int64_t c = 0; c < cb4 * 4; c++) {
                    float *xc = xt + c * ld + k * 16;
                    if (c < cb) {
                        const float *plane = x + (n * c_in + c0 + c) * hw;
                        if (w == 32) input_vector(plane, h, 32, q, &cols, xc, xs);
                        else if (w == 16) input_vector(plane, h, 16, q, &cols, xc, xs);
                        else input_vector(plane, h, 8, q, &cols, xc, xs);
                    } else {
                        for (int xi = 0; xi < 16; xi++) _mm512_store_ps(xc + xi * xs, _mm512_setzero_ps());
                    }
                }
                for (int64_t o = 0; o < ob4 * 4; o++) {
                    float *dc = dt + o * ld + k * 16;
                    if (o < ob) {
                        const float *plane = dy + (n * o_out + o0 + o) * hw;
                        if (w == 32) dy_vector(plane, 32, q, didx, dc, ds);
                        else if (w == 16) dy_vector(plane, 16, q, didx, dc, ds);
                        else dy_vector(plane, 8, q, didx, dc, ds);
                    } else {
                        for (int xi = 0; xi < 16; xi++) _mm512_store_ps(dc + xi * ds, _mm512_setzero_ps());
                    }
                }
            }
            for (int xi = 0; xi < 16; xi++)
                wgrad_products(dt + xi * ds, xt + xi * xs, ob4, cb4, ld, kv * 16, m + xi * ob4 * cb4 * 16);
        }
        for (int xi = 0; xi < 16; xi++) {
            float *p = partial + (slice * 16 + xi) * o_out * c_in;
            const float *mx = m + xi * ob4 * cb4 * 16;
            for (int64_t o = 0; o < ob; o++)
                for (int64_t c = 0; c < cb; c++) p[(o0 + o) * c_in + c0 + c] = mx[(o / 4 * cb4 + c / 4) * 16 + o % 4 * 4 + c % 4];
        }
    }
    return 0;
}
#endif

int csyn_conv_winograd(const float *in, int64_t images, int64_t c_in, int64_t h, int64_t w, const float *u,
                       int64_t o_out, const float *bias, const float *shift, const float *residual, float *out,
                       int64_t task0, int64_t task1) {
    if (!csyn_conv_winograd_supported(h, w) || images < 0 || c_in <= 0 || o_out <= 0) return -1;
#if defined(__x86_64__)
    return winograd_avx512(in, images, c_in, h, w, u, o_out, bias, shift, residual, out, task0, task1);
#else
    (void)in; (void)u; (void)bias; (void)shift; (void)residual; (void)out; (void)task0; (void)task1;
    return -1;
#endif
}

int64_t csyn_conv_winograd_wgrad_slices(int64_t images, int64_t h, int64_t w) {
    return (images * (h * w / 64) + CSYN_WINO_WGRAD_SLICE - 1) / CSYN_WINO_WGRAD_SLICE;
}

int64_t csyn_conv_winograd_wgrad_tasks(int64_t images, int64_t c_in, int64_t h, int64_t w, int64_t o_out) {
    return csyn_conv_winograd_wgrad_slices(images, h, w) * ((o_out + WG_OB - 1) / WG_OB) * ((c_in + WG_CB - 1) / WG_CB);
}

int csyn_conv_winograd_wgrad(const float *dy, const float *x, int64_t images, int64_t c_in, int64_t h, int64_t w,
                             int64_t o_out, float *partial, int64_t task0, int64_t task1) {
    if (!csyn_conv_winograd_supported(h, w) || images < 0 || c_in <= 0 || o_out <= 0) return -1;
#if defined(__x86_64__)
    return winograd_wgrad_avx512(dy, x, images, c_in, h, w, o_out, partial, task0, task1);
#else
    (void)dy; (void)x; (void)partial; (void)task0; (void)task1;
    return -1;
#endif
}

void csyn_conv_winograd_wgrad_finish(const float *partial, int64_t slices, int64_t o_out, int64_t c_in, float *dw,
                                     int64_t o0, int64_t o1) {
    const int64_t oc = o_out * c_in;
    for (int64_t o = o0; o < o1; o++)
        for (int64_t c = 0; c < c_in; c++) {
            float mm[16];
            for (int xi = 0; xi < 16; xi++) {
                float s = 0.0f;
                for (int64_t sl = 0; sl < slices; sl++) s += partial[(sl * 16 + xi) * oc + o * c_in + c];
                mm[xi] = s;
            }
            // P = G^T M (rows of G: [1 0 0], [1/2 1/2 1/2], [1/2 -1/2 1/2], [0 0 1]), then dg = P G.
            float pm[3][4];
            for (int j = 0; j < 4; j++) {
                pm[0][j] = mm[j] + 0.5f * (mm[4 + j] + mm[8 + j]);
                pm[1][j] = 0.5f * (mm[4 + j] - mm[8 + j]);
                pm[2][j] = 0.5f * (mm[4 + j] + mm[8 + j]) + mm[12 + j];
            }
            float *g = dw + (o * c_in + c) * 9;
            for (int a = 0; a < 3; a++) {
                g[a * 3 + 0] = pm[a][0] + 0.5f * (pm[a][1] + pm[a][2]);
                g[a * 3 + 1] = 0.5f * (pm[a][1] - pm[a][2]);
                g[a * 3 + 2] = 0.5f * (pm[a][1] + pm[a][2]) + pm[a][3];
            }
        }
}
