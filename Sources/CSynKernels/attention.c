// Tiled ("flash") scaled dot-product attention, forward and backward, one head per call.
//
// The forward visits keys in blocks with an online softmax (running row maximum and sum, the output
// rescaled when the maximum grows) and keeps only each query row's log-sum-exp; the backward recomputes
// the probabilities block by block from it (Dao et al. 2022, "FlashAttention", Algorithms 1 and 2;
// Milakov & Gimelshein 2018 for the online softmax). No nq x nk matrix is ever held, so a 64x64-latent
// Stable Diffusion layer (4,096 tokens) needs memory linear in tokens.
//
// The arithmetic is written once with clang/GCC vector extensions (16-float vectors) in always-inline
// functions and instantiated three times: AVX-512, AVX2+FMA (x86, chosen at run time from CPUID) and
// the portable baseline every target compiles.

#include "csynattention.h"
#include "simd16.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define CSYN_ATT_X86 1
#else
#define CSYN_ATT_X86 0
#endif

INLINE int64_t round16(int64_t n) { return (n + 15) & ~(int64_t)15; }

// C[i][0..16 NV) = sum_t A[i lda + t] Bt[t ldb + 0..16 NV) for i < MR.
INLINE void k1_tile(const int MR, const int NV, const float *A, int64_t lda, const float *Bt, int64_t ldb,
                    int64_t k, float *C, int64_t ldc) {
    v16 acc[4][4];
    for (int i = 0; i < MR; i++)
        for (int u = 0; u < NV; u++) acc[i][u] = splat(0);
    for (int64_t t = 0; t < k; t++) {
        v16 b[4];
        for (int u = 0; u < NV; u++) b[u] = ld(Bt + t * ldb + 16 * u);
        for (int i = 0; i < MR; i++) {
            v16 a = splat(A[i * lda + t]);
            for (int u = 0; u < NV; u++) acc[i][u] += a * b[u];
        }
    }
    for (int i = 0; i < MR; i++)
        for (int u = 0; u < NV; u++) st(C + i * ldc + 16 * u, acc[i][u]);
}

// C[i][0..16 NV) += sum_t A[i ars + t aks] B[t ldb + 0..16 NV) for i < MR.
INLINE void k2_tile(const int MR, const int NV, const float *A, int64_t ars, int64_t aks, const float *B,
                    int64_t ldb, int64_t k, float *C, int64_t ldc) {
    v16 acc[4][4];
    for (int i = 0; i < MR; i++)
        for (int u = 0; u < NV; u++) acc[i][u] = ld(C + i * ldc + 16 * u);
    for (int64_t t = 0; t < k; t++) {
        v16 b[4];
        for (int u = 0; u < NV; u++) b[u] = ld(B + t * ldb + 16 * u);
        for (int i = 0; i < MR; i++) {
            v16 a = splat(A[i * ars + t * aks]);
            for (int u = 0; u < NV; u++) acc[i][u] += a * b[u];
        }
    }
    for (int i = 0; i < MR; i++)
        for (int u = 0; u < NV; u++) st(C + i * ldc + 16 * u, acc[i][u]);
}

#define TILE_SWITCH(fn, MR, nv, ...)              \
    switch (nv) {                                 \
    case 4: fn(MR, 4, __VA_ARGS__); break;        \
    case 3: fn(MR, 3, __VA_ARGS__); break;        \
    case 2: fn(MR, 2, __VA_ARGS__); break;        \
    default: fn(MR, 1, __VA_ARGS__); break;       \
    }

// C[m][ncols] = A[m][k] Bt[k][ncols], ncols a multiple of 16; maxnv vectors per tile (register budget).
INLINE void k1(const int maxnv, int64_t m, int64_t ncols, const float *A, int64_t lda, const float *Bt,
               int64_t ldb, int64_t k, float *C, int64_t ldc) {
    for (int64_t j = 0; j < ncols; j += 16 * maxnv) {
        int nv = (int)((ncols - j) / 16);
        if (nv > maxnv) nv = maxnv;
        int64_t i = 0;
        for (; i + 4 <= m; i += 4) { TILE_SWITCH(k1_tile, 4, nv, A + i * lda, lda, Bt + j, ldb, k, C + i * ldc + j, ldc) }
        for (; i < m; i++) { TILE_SWITCH(k1_tile, 1, nv, A + i * lda, lda, Bt + j, ldb, k, C + i * ldc + j, ldc) }
    }
}

// C[m][ncols] += A(i, t) B[k][ncols] with A(i, t) = A[i ars + t aks], ncols a multiple of 16.
INLINE void k2(const int maxnv, int64_t m, int64_t ncols, const float *A, int64_t ars, int64_t aks,
               const float *B, int64_t ldb, int64_t k, float *C, int64_t ldc) {
    for (int64_t j = 0; j < ncols; j += 16 * maxnv) {
        int nv = (int)((ncols - j) / 16);
        if (nv > maxnv) nv = maxnv;
        int64_t i = 0;
        for (; i + 4 <= m; i += 4) { TILE_SWITCH(k2_tile, 4, nv, A + i * ars, ars, aks, B + j, ldb, k, C + i * ldc + j, ldc) }
        for (; i < m; i++) { TILE_SWITCH(k2_tile, 1, nv, A + i * ars, ars, aks, B + j, ldb, k, C + i * ldc + j, ldc) }
    }
}

// Block sizes: query blocks of at most 64 rows, key blocks of at most 128 (a multiple of 16), both
// split evenly so that e.g. 197 tokens make two blocks of 99 rather than 128 + 69.
static void block_sizes(int64_t nq, int64_t nk, int64_t *br, int64_t *bc, int64_t *nkp) {
    int64_t nbq = (nq + 63) / 64, nbk = (nk + 127) / 128;
    if (nbq < 1) nbq = 1;
    if (nbk < 1) nbk = 1;
    *br = (nq + nbq - 1) / nbq;
    *bc = round16((nk + nbk - 1) / nbk);
    *nkp = nbk * *bc;
}

// Per-thread scratch, kept between calls and grown to the largest head seen (freed when the thread
// exits): allocated per call, as before, it cost 10-35% of a small head's time (fresh pages each call).
typedef struct {
    size_t cap;
    float *p;
} att_arena;
static pthread_key_t att_key;
static pthread_once_t att_once = PTHREAD_ONCE_INIT;
static int att_key_ok = 0;
static void att_arena_free(void *a) {
    if (a) {
        free(((att_arena *)a)->p);
        free(a);
    }
}
static void att_key_init(void) { att_key_ok = pthread_key_create(&att_key, att_arena_free) == 0; }

// At least `floats` floats, 64-byte aligned; NULL when out of memory.
static float *scratch(size_t floats) {
    if (pthread_once(&att_once, att_key_init) != 0 || !att_key_ok) return NULL;
    att_arena *a = pthread_getspecific(att_key);
    if (!a) {
        a = calloc(1, sizeof *a);
        if (!a) return NULL;
        if (pthread_setspecific(att_key, a) != 0) {
            free(a);
            return NULL;
        }
    }
    if (a->cap < floats) {
        free(a->p);
        size_t bytes = (floats * sizeof(float) + 63) & ~(size_t)63;
        a->p = (float *)aligned_alloc(64, bytes ? bytes : 64);
        a->cap = a->p ? floats : 0;
    }
    return a->p;
}

// Carves consecutive 64-byte-aligned pieces of the given float counts out of one scratch block.
static int carve(float **out, const size_t *floats, int count) {
    size_t total = 0;
    for (int i = 0; i < count; i++) total += (floats[i] + 15) & ~(size_t)15;
    float *p = scratch(total);
    if (!p) return -1;
    for (int i = 0; i < count; i++) {
        out[i] = p;
        p += (floats[i] + 15) & ~(size_t)15;
    }
    return 0;
}

// One stage of a 16 x 16 in-register transpose: rows i and i + b (i with bit b clear) exchange
// their b-wide blocks, the lower row keeping even blocks and the upper odd ones.
#define TSTAGE(r, b, LO, HI)                                                   \
    for (int i = 0; i < 16; i++)                                               \
        if (!(i & (b))) {                                                      \
            v16 x = r[i], y = r[i + (b)];                                      \
            r[i] = __builtin_shufflevector(x, y, LO);                          \
            r[i + (b)] = __builtin_shufflevector(x, y, HI);                    \
        }
#define LO8 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23
#define HI8 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31
#define LO4 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27
#define HI4 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31
#define LO2 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29
#define HI2 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31
#define LO1 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30
#define HI1 1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31

// Kt[t][j] = k[j][t] for t < d, j < nk; zero for nk <= j < nkp. Whole 16 x 16 blocks are transposed
// in registers (64 two-source shuffles instead of 256 scalar moves: a tenth of a small head's time).
INLINE void pack_transposed(const float *k, int64_t ldk, int64_t nk, int64_t d, int64_t nkp, float *kt) {
    memset(kt, 0, (size_t)(d * nkp) * sizeof(float));
    int64_t j0 = 0;
    for (; j0 + 16 <= nk; j0 += 16) {
        int64_t t0 = 0;
        for (; t0 + 16 <= d; t0 += 16) {
            v16 r[16];
            for (int i = 0; i < 16; i++) r[i] = ld(k + (j0 + i) * ldk + t0);
            TSTAGE(r, 8, LO8, HI8)
            TSTAGE(r, 4, LO4, HI4)
            TSTAGE(r, 2, LO2, HI2)
            TSTAGE(r, 1, LO1, HI1)
            for (int i = 0; i < 16; i++) st(kt + (t0 + i) * nkp + j0, r[i]);
        }
        for (int64_t j = j0; j < j0 + 16; j++)
            for (int64_t t = t0; t < d; t++) kt[t * nkp + j] = k[j * ldk + t];
    }
    for (int64_t j = j0; j < nk; j++)
        for (int64_t t = 0; t < d; t++) kt[t * nkp + j] = k[j * ldk + t];
}

// Rows of n floats copied to rows of np (>= n) floats, zero-padded.
static void pack_rows(const float *x, int64_t ldx, int64_t rows, int64_t n, int64_t np, float *out) {
    for (int64_t r = 0; r < rows; r++) {
        memcpy(out + r * np, x + r * ldx, (size_t)n * sizeof(float));
        memset(out + r * np + n, 0, (size_t)(np - n) * sizeof(float));
    }
}

INLINE int forward_impl(const int maxnv, const float *q, int64_t ldq, const float *k, int64_t ldk, const float *v,
                        int64_t ldv, float *o, int64_t ldo, float *lse, int64_t nq, int64_t nk, int64_t d,
                        int64_t dv, float scale) {
    int64_t BR, BC, nkp;
    block_sizes(nq, nk, &BR, &BC, &nkp);
    int64_t dvp = round16(dv);
    float *buf[5];
    const size_t sizes[5] = {(size_t)(d * nkp), (size_t)(nk * dvp), (size_t)(BR * BC), (size_t)(BR * dvp), (size_t)(2 * BR)};
    if (carve(buf, sizes, 5) != 0) return -1;
    float *kt = buf[0], *vp = buf[1], *s = buf[2], *acc = buf[3], *ml = buf[4];
    pack_transposed(k, ldk, nk, d, nkp, kt);
    pack_rows(v, ldv, nk, dv, dvp, vp);
    float *mrow = ml, *lrow = ml + BR;
    for (int64_t i0 = 0; i0 < nq; i0 += BR) {
        int64_t br = nq - i0 < BR ? nq - i0 : BR;
        for (int64_t r = 0; r < br; r++) { mrow[r] = -INFINITY; lrow[r] = 0; }
        memset(acc, 0, (size_t)(br * dvp) * sizeof(float));
        for (int64_t j0 = 0; j0 < nk; j0 += BC) {
            int64_t bc = nk - j0 < BC ? nk - j0 : BC, bcp = round16(bc);
            k1(maxnv, br, bcp, q + i0 * ldq, ldq, kt + j0, nkp, d, s, BC);
            for (int64_t r = 0; r < br; r++) {
                float *row = s + r * BC;
                for (int64_t j = bc; j < bcp; j++) row[j] = -INFINITY;
                v16 mx = splat(-INFINITY);
                for (int64_t j = 0; j < bcp; j += 16) {
                    v16 x = ld(row + j) * splat(scale);
                    st(row + j, x);
                    mx = vmax(mx, x);
                }
                float mnew = hmax16(mx);
                if (mrow[r] > mnew) mnew = mrow[r];
                float alpha = expf(mrow[r] - mnew);
                v16 sum = splat(0), m = splat(mnew);
                for (int64_t j = 0; j < bcp; j += 16) {
                    v16 p = vexp_nonpos(ld(row + j) - m);
                    st(row + j, p);
                    sum += p;
                }
                lrow[r] = lrow[r] * alpha + hsum16(sum);
                mrow[r] = mnew;
                float *a = acc + r * dvp;
                for (int64_t c = 0; c < dvp; c += 16) st(a + c, ld(a + c) * splat(alpha));
            }
            k2(maxnv, br, dvp, s, BC, 1, vp + j0 * dvp, dvp, bc, acc, dvp);
        }
        for (int64_t r = 0; r < br; r++) {
            float inv = 1.0f / lrow[r];
            float *orow = o + (i0 + r) * ldo;
            const float *a = acc + r * dvp;
            for (int64_t c = 0; c < dv; c++) orow[c] = a[c] * inv;
            if (lse) lse[i0 + r] = mrow[r] + logf(lrow[r]);
        }
    }
    return 0;
}

INLINE int backward_impl(const int maxnv, const float *q, int64_t ldq, const float *k, int64_t ldk, const float *v,
                         int64_t ldv, const float *o, int64_t ldo, const float *lse, const float *dout, int64_t lddo,
                         float *dq, int64_t lddq, float *dk, int64_t lddk, float *dvo, int64_t lddv, int64_t nq,
                         int64_t nk, int64_t d, int64_t dv, float scale) {
    int64_t BR, BC, nkp;
    block_sizes(nq, nk, &BR, &BC, &nkp);
    int64_t dp = round16(d), dvp = round16(dv);
    float *all[11];
    const size_t sizes[11] = {(size_t)(d * nkp),  (size_t)(dv * nkp), (size_t)(nk * dp), (size_t)(nq * dp),
                              (size_t)(nq * dvp), (size_t)nq,         (size_t)(nq * dp), (size_t)(BC * dp),
                              (size_t)(BC * dvp), (size_t)(BR * BC),  (size_t)(BR * BC)};
    if (carve(all, sizes, 11) != 0) return -1;
    float *kt = all[0], *vt = all[1], *kp = all[2], *qp = all[3], *dop = all[4], *delta = all[5], *dqa = all[6];
    float *dka = all[7], *dva = all[8], *p = all[9], *ds = all[10];
    pack_transposed(k, ldk, nk, d, nkp, kt);
    pack_transposed(v, ldv, nk, dv, nkp, vt);
    pack_rows(k, ldk, nk, d, dp, kp);
    pack_rows(q, ldq, nq, d, dp, qp);
    pack_rows(dout, lddo, nq, dv, dvp, dop);
    // delta_i = rowsum(dO * O) = rowsum(dP * P), the softmax backward's correction term.
    // (16 lanes: a scalar sum is a chain of dependent adds, 3 us per 65 x 32 head.)
    for (int64_t r = 0; r < nq; r++) {
        const float *gr = dout + r * lddo, *orow = o + r * ldo;
        v16 vacc = splat(0);
        int64_t c = 0;
        for (; c + 16 <= dv; c += 16) vacc += ld(gr + c) * ld(orow + c);
        float sacc = hsum16(vacc);
        for (; c < dv; c++) sacc += gr[c] * orow[c];
        delta[r] = sacc;
    }
    memset(dqa, 0, (size_t)(nq * dp) * sizeof(float));
    for (int64_t j0 = 0; j0 < nk; j0 += BC) {
        int64_t bc = nk - j0 < BC ? nk - j0 : BC, bcp = round16(bc);
        memset(dka, 0, (size_t)(BC * dp) * sizeof(float));
        memset(dva, 0, (size_t)(BC * dvp) * sizeof(float));
        for (int64_t i0 = 0; i0 < nq; i0 += BR) {
            int64_t br = nq - i0 < BR ? nq - i0 : BR;
            // P = exp(scale q k^T - lse), padding columns zero
            k1(maxnv, br, bcp, q + i0 * ldq, ldq, kt + j0, nkp, d, p, BC);
            for (int64_t r = 0; r < br; r++) {
                float *row = p + r * BC;
                v16 l = splat(lse[i0 + r]);
                for (int64_t j = 0; j < bcp; j += 16) st(row + j, vexp_nonpos(ld(row + j) * splat(scale) - l));
                for (int64_t j = bc; j < bcp; j++) row[j] = 0;
            }
            // dV += P^T dO
            k2(maxnv, bc, dvp, p, 1, BC, dop + i0 * dvp, dvp, br, dva, dvp);
            // dP = dO V^T, then dS = scale P (dP - delta)
            k1(maxnv, br, bcp, dout + i0 * lddo, lddo, vt + j0, nkp, dv, ds, BC);
            for (int64_t r = 0; r < br; r++) {
                float *g = ds + r * BC;
                const float *pr = p + r * BC;
                v16 dl = splat(delta[i0 + r]);
                for (int64_t j = 0; j < bcp; j += 16) st(g + j, ld(pr + j) * (ld(g + j) - dl) * splat(scale));
            }
            // dQ += dS K;  dK += dS^T Q
            k2(maxnv, br, dp, ds, BC, 1, kp + j0 * dp, dp, bc, dqa + i0 * dp, dp);
            k2(maxnv, bc, dp, ds, 1, BC, qp + i0 * dp, dp, br, dka, dp);
        }
        for (int64_t r = 0; r < bc; r++) {
            memcpy(dk + (j0 + r) * lddk, dka + r * dp, (size_t)d * sizeof(float));
            memcpy(dvo + (j0 + r) * lddv, dva + r * dvp, (size_t)dv * sizeof(float));
        }
    }
    for (int64_t r = 0; r < nq; r++) memcpy(dq + r * lddq, dqa + r * dp, (size_t)d * sizeof(float));
    return 0;
}

#define FWD_ARGS q, ldq, k, ldk, v, ldv, o, ldo, lse, nq, nk, d, dv, scale
#define FWD_PARAMS const float *q, int64_t ldq, const float *k, int64_t ldk, const float *v, int64_t ldv, float *o, \
                   int64_t ldo, float *lse, int64_t nq, int64_t nk, int64_t d, int64_t dv, float scale
#define BWD_ARGS q, ldq, k, ldk, v, ldv, o, ldo, lse, dout, lddo, dq, lddq, dk, lddk, dv_out, lddv, nq, nk, d, dv, scale
#define BWD_PARAMS const float *q, int64_t ldq, const float *k, int64_t ldk, const float *v, int64_t ldv,       \
                   const float *o, int64_t ldo, const float *lse, const float *dout, int64_t lddo, float *dq,    \
                   int64_t lddq, float *dk, int64_t lddk, float *dv_out, int64_t lddv, int64_t nq, int64_t nk, \
                   int64_t d, int64_t dv, float scale

static int att_forward_portable(FWD_PARAMS) { return forward_impl(1, FWD_ARGS); }
static int att_backward_portable(BWD_PARAMS) { return backward_impl(1, BWD_ARGS); }

#if CSYN_ATT_X86
__attribute__((target("avx2,fma"))) static int att_forward_avx2(FWD_PARAMS) { return forward_impl(2, FWD_ARGS); }
__attribute__((target("avx2,fma"))) static int att_backward_avx2(BWD_PARAMS) { return backward_impl(2, BWD_ARGS); }
__attribute__((target("avx512f,avx2,fma"))) static int att_forward_avx512(FWD_PARAMS) { return forward_impl(4, FWD_ARGS); }
__attribute__((target("avx512f,avx2,fma"))) static int att_backward_avx512(BWD_PARAMS) { return backward_impl(4, BWD_ARGS); }
#endif

int csyn_attention_simd(void) {
    static int level = -1;
    int s = __atomic_load_n(&level, __ATOMIC_RELAXED);
    if (s < 0) {
        s = 0;
#if CSYN_ATT_X86
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) s = 2;
        else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) s = 1;
#endif
        __atomic_store_n(&level, s, __ATOMIC_RELAXED);
    }
    return s;
}

int csyn_flash_attention_forward(FWD_PARAMS) { return csyn_flash_attention_forward_on(csyn_attention_simd(), FWD_ARGS); }

int csyn_flash_attention_backward(BWD_PARAMS) { return csyn_flash_attention_backward_on(csyn_attention_simd(), BWD_ARGS); }

int csyn_flash_attention_forward_on(int path, FWD_PARAMS) {
    if (path < 0 || path > csyn_attention_simd()) return -1;
#if CSYN_ATT_X86
    switch (path) {
    case 2: return att_forward_avx512(FWD_ARGS);
    case 1: return att_forward_avx2(FWD_ARGS);
    default: break;
    }
#endif
    return att_forward_portable(FWD_ARGS);
}

int csyn_flash_attention_backward_on(int path, BWD_PARAMS) {
    if (path < 0 || path > csyn_attention_simd()) return -1;
#if CSYN_ATT_X86
    switch (path) {
    case 2: return att_backward_avx512(BWD_ARGS);
    case 1: return att_backward_avx2(BWD_ARGS);
    default: break;
    }
#endif
    return att_backward_portable(BWD_ARGS);
}
