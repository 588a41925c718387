#ifndef CSYNATTENTION_H
#define CSYNATTENTION_H

#include <stdint.h>
#include "csyncpu.h"

/// Which code path the tiled attention kernels run on this CPU: 2 = AVX-512, 1 = AVX2+FMA, 0 = portable C.
int csyn_attention_simd(void);

/// Tiled ("flash") scaled dot-product attention forward for one head, without a mask.
///
/// q: nq rows of d floats, ldq apart; k: nk rows of d floats, ldk apart; v: nk rows of dv floats, ldv apart.
/// o: nq rows of dv floats, ldo apart, receives softmax(scale q k^T) v. lse (nq floats, or NULL) receives
/// each query row's log-sum-exp of its scaled scores, all the backward needs besides q, k, v, o.
/// Keys are visited in blocks with an online softmax, so memory is linear in nq + nk.
/// Returns 0, or -1 when scratch memory could not be allocated.
int csyn_flash_attention_forward(const float *q, int64_t ldq, const float *k, int64_t ldk,
                                 const float *v, int64_t ldv, float *o, int64_t ldo, float *lse,
                                 int64_t nq, int64_t nk, int64_t d, int64_t dv, float scale);

/// Backward of `csyn_flash_attention_forward` for one head: from q, k, v, the forward's o and lse, and
/// the output gradient dout (nq rows of dv floats, lddo apart), writes dq (nq x d, lddq), dk (nk x d,
/// lddk) and dv_out (nk x dv, lddv), overwriting them. Scores are recomputed block by block.
/// Returns 0, or -1 when scratch memory could not be allocated.
int csyn_flash_attention_backward(const float *q, int64_t ldq, const float *k, int64_t ldk,
                                  const float *v, int64_t ldv, const float *o, int64_t ldo, const float *lse,
                                  const float *dout, int64_t lddo,
                                  float *dq, int64_t lddq, float *dk, int64_t lddk, float *dv_out, int64_t lddv,
                                  int64_t nq, int64_t nk, int64_t d, int64_t dv, float scale);

/// The attention kernels on a given path (CSYN_PATH_*, for tests); -1 also when this CPU lacks it.
int csyn_flash_attention_forward_on(int path, const float *q, int64_t ldq, const float *k, int64_t ldk,
                                    const float *v, int64_t ldv, float *o, int64_t ldo, float *lse,
                                    int64_t nq, int64_t nk, int64_t d, int64_t dv, float scale);
int csyn_flash_attention_backward_on(int path, const float *q, int64_t ldq, const float *k, int64_t ldk,
                                     const float *v, int64_t ldv, const float *o, int64_t ldo, const float *lse,
                                     const float *dout, int64_t lddo,
                                     float *dq, int64_t lddq, float *dk, int64_t lddk, float *dv_out, int64_t lddv,
                                     int64_t nq, int64_t nk, int64_t d, int64_t dv, float scale);

#endif
