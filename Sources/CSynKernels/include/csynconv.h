#ifndef CSYNCONV_H
#define CSYNCONV_H

#include <stdint.h>

/// Output channels per block of the packed weights of `csyn_conv_planes`.
#define CSYN_CONV_OB 8
/// Positions per block (three 16-float vectors); output planes must hold a multiple of this.
#define CSYN_CONV_PB 48

/// Direct stride-1 convolution over zero-padded planes, without an unfolded (im2col) matrix.
///
/// `in` holds, for each image n and input channel c, a plane at in + (n * c_in + c) * in_plane in which
/// row r starts at r * row; out position p (= y * row + x) of output channel o is
/// sum over c, taps t: w[o][c][t] * plane_c[p + offsets[t]]. `w` is packed as
/// [ceil(o_out / 8)][c_in][taps][8] (zeros for missing channels). Positions [0, positions) are
/// computed in blocks of CSYN_CONV_PB (so out planes, out_plane floats apart, must hold positions
/// rounded up to that, and the input must be readable CSYN_CONV_PB + max offset floats past the
/// last plane's position `positions`). Positions with x outside the valid width are computed too
/// and are the caller's to ignore. Work items are (n, output block) pairs [task0, task1) in
/// n-major order, so threads can take disjoint ranges. Every output element is summed in the same
/// order (c, then t) whatever the split.
void csyn_conv_planes(const float *in, int64_t c_in, int64_t in_plane,
                      const float *w, int64_t o_out, const int64_t *offsets, int64_t taps,
                      float *out, int64_t out_plane, int64_t positions,
                      int64_t task0, int64_t task1);

/// `csyn_conv_planes` with input channel c of image n at in + c * channel_stride + n * image_stride
/// (e.g. planes stored channel-major, [c_in][N][plane], so a weight gradient can treat all images
/// of a channel as one row).
void csyn_conv_planes_strided(const float *in, int64_t c_in, int64_t channel_stride, int64_t image_stride,
                              const float *w, int64_t o_out, const int64_t *offsets, int64_t taps,
                              float *out, int64_t out_plane, int64_t positions,
                              int64_t task0, int64_t task1);

/// Whether `csyn_conv_planes` runs its AVX-512 path on this CPU (1) or portable C (0).
int csyn_conv_avx512(void);

#endif
