#ifndef CSYNQUANT_H
#define CSYNQUANT_H

#include <stdint.h>

/// Bytes `csyn_quantize_q8` writes for `m` rows of `k` values (k a multiple of 32).
int64_t csyn_q8_bytes(int64_t m, int64_t k);

/// Quantizes `m` rows of `k` floats (`ldx` apart; k a multiple of 32) to 8-bit blocks of 32 for
/// `csyn_matmul_q8`: per block d = max|x| / 127, q = round-to-nearest-even(x / d) clamped to
/// [-127, 127], and s = d * sum(q) (the term Q4_1's offset multiplies). Row r's blocks depend only on
/// row r, and every code path gives the same bytes.
void csyn_quantize_q8(const float *x, int64_t m, int64_t k, int64_t ldx, void *xq);

/// y[i * ldy + j] = x_i . W_j for rows i in [0, m) of the quantized activations `xq` and weight rows
/// j in [n0, n1) stored as Q4_0, Q4_1 or Q8_0 (`row_bytes` apart), with integer products per block.
///
/// Every output element is computed with one fixed arithmetic whatever the tile, m, n0, n1 or code
/// path (AVX-512 VNNI, AVX2, portable C): per block b, dd = dw_b * dx_b; eight lane sums
/// I_l (each the exact integer dot of 4 consecutive elements) are added as acc_l = fma(I_l, dd, acc_l);
/// Q4_1 adds offs = fma(m_b, s_b, offs); at the end y = ((a0+a4)+(a2+a6)) + ((a1+a5)+(a3+a7)) (+ offs).
/// Returns 0, or -1 for a type this kernel does not read.
int csyn_matmul_q8(const void *xq, int64_t m, int64_t k, const void *w, int32_t wtype, int64_t row_bytes,
                   int64_t n0, int64_t n1, float *y, int64_t ldy);

/// The code path `csyn_matmul_q8` uses: 2 AVX-512 VNNI, 1 AVX2, 0 portable C.
int csyn_q8_path(void);

/// `csyn_matmul_q8` on a given code path (for tests); returns -1 when this CPU lacks it.
int csyn_matmul_q8_on(int path, const void *xq, int64_t m, int64_t k, const void *w, int32_t wtype, int64_t row_bytes,
                      int64_t n0, int64_t n1, float *y, int64_t ldy);

/// Whether `wtype` is one `csyn_matmul_q8` reads (Q4_0, Q4_1, Q8_0).
int csyn_q8_supports(int32_t wtype);

#endif
