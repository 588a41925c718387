#ifndef CSYNCONV_H
#define CSYNCONV_H

#include <stdint.h>
#include "csyncpu.h"

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

/// Output channels per task of `csyn_conv_wgrad3x3` (tasks are blocks of this many channels x 16 inputs).
#define CSYN_WGRAD_OB 6
/// Input channels per task of `csyn_conv_wgrad3x3`.
#define CSYN_WGRAD_CB 16

/// Weight gradient of a 3x3 convolution over rows of padded planes, without packing either operand:
/// dw[o][c][t] = sum over k in [0, k_len) of dy[o * ld_dy + k] * x[c * ld_x + k + offsets[t]], t < 9.
///
/// dy [O][k_len] (zero wherever no output exists) and x [C][k_len + max offset + 16] are rows of planes
/// laid out in the same geometry; dw is [O][C][9]. Tasks [task0, task1) are (block of CSYN_WGRAD_OB
/// output channels, block of CSYN_WGRAD_CB input channels) pairs, output-block-major, so threads can
/// take disjoint ranges; each task writes only its own dw entries and sums every entry in the same
/// order whatever the split (16 lanes over k in chunks of 4096, then the lanes).
void csyn_conv_wgrad3x3(const float *dy, int64_t ld_dy, const float *x, int64_t ld_x, int64_t k_len,
                        const int64_t *offsets, int64_t o_out, int64_t c_in, float *dw,
                        int64_t task0, int64_t task1);

/// Lays planes out for a "same"-size convolution with shared zero padding ("stacked" planes).
///
/// src holds images x channels planes of h x w floats ([images][channels][h][w]). Channel c of the
/// result is one row of `ld` floats at dst + c * ld in which image n's pixel (y, x) sits at
/// lead + n * slot + y * pitch + x; every other float of the row is zero (the pitch - w columns after
/// each image row, the rows after each image up to `slot`, the lead and the tail), so a kernel tap
/// (dy, dx) reads its neighbour at offset dy * pitch + dx and finds zeros past every edge. Fills channel rows [c0, c1).
void csyn_stack_planes(const float *src, int64_t images, int64_t channels, int64_t h, int64_t w, int64_t pitch,
                       int64_t slot, int64_t lead, int64_t ld, float *dst, int64_t c0, int64_t c1);

/// The inverse of `csyn_stack_planes` for a convolution's output in `csyn_conv_planes_strided`'s layout:
/// images are processed `group` at a time, so output channel o of image n, pixel (y, x), is at
/// src[(n / group * channels + o) * out_plane + n % group * slot + y * pitch + x]. Writes planes
/// p = n * channels + o in [p0, p1) of dst [images][channels][h][w], each value plus bias[o], then
/// plus shift[p], then plus residual at the same index (each optional, in that order).
void csyn_unstack_planes(const float *src, int64_t channels, int64_t h, int64_t w, int64_t pitch, int64_t slot,
                         int64_t group, int64_t out_plane, const float *bias, const float *shift, const float *residual,
                         float *dst, int64_t p0, int64_t p1);

/// Largest kernel (taps = kh * kw) of the dense-layout convolutions.
#define CSYN_DENSE_MAX_TAPS 49

/// Tap masks and offsets of a "same" odd kh x kw convolution over h x w planes (h * w a multiple of 16)
/// for `csyn_conv_dense`: offsets[t] = (t / kw - kh / 2) * w + t % kw - kw / 2,
/// and bit l of masks[q * taps + t] is set when position q * 16 + l has its tap-t neighbour inside the
/// plane. masks holds h * w / 16 * kh * kw entries.
void csyn_conv_dense_masks(int64_t h, int64_t w, int64_t kh, int64_t kw, uint16_t *masks, int64_t *offsets);

/// Direct "same" convolution (odd kernel, padding half of it, stride 1) read and written in the dense
/// layout: in [images][c_in][hw] -> out [images][o_out][hw], hw = h * w a multiple of 16. A tap that falls
/// outside a plane is a masked-off lane (a zero) per `csyn_conv_dense_masks`, so no padded copy exists on
/// either side, and masked loads never touch those addresses. `wpk` is packed like `csyn_conv_planes`'
/// weights ([ceil(o_out / 8)][c_in][taps][8]). Each output is the sum over c, then taps, of w * x, plus
/// bias[o], then shift[n * o_out + o], then residual at the output's index (each optional, in that order).
/// The images' 16-position vectors, numbered n * hw / 16 + q, are computed three at a time; tasks
/// [task0, task1) are (run of `chunk` vectors, block of 8 output channels) pairs, run-major, and every
/// output is summed in the same order whatever the split.
void csyn_conv_dense(const float *in, int64_t images, int64_t c_in, int64_t hw, const float *wpk, int64_t o_out,
                     int64_t taps, const uint16_t *masks, const int64_t *offsets, const float *bias, const float *shift,
                     const float *residual, float *out, int64_t chunk, int64_t task0, int64_t task1);

/// Whether `csyn_conv_winograd` runs on this CPU for h x w planes: AVX-512, w = 8, 16 or 32, and h a
/// multiple of 2, 4 or 8 respectively.
int csyn_conv_winograd_supported(int64_t h, int64_t w);

/// Winograd-domain weights u [16][C][O] = G g G^T per (o, c) of a 3x3 kernel w [o_out][c_in][3][3], for
/// `csyn_conv_winograd`; with `flipped`, those of the input gradient (O = c_in, C = o_out: the kernel
/// transposed and rotated by 180 degrees). Fills the entries of input channels [c0, c1) of the result.
void csyn_conv_winograd_weights(const float *w, int64_t o_out, int64_t c_in, int flipped, float *u, int64_t c0,
                                int64_t c1);

/// "Same" 3x3 convolution (padding 1, stride 1) by Winograd F(2x2, 3x3) in the dense layout:
/// in [images][c_in][h][w] -> out [images][o_out][h][w], each output plus (bias[o] + shift[n * o_out + o]),
/// then plus the residual at the output's index (each optional). u is `csyn_conv_winograd_weights`' for this
/// c_in, o_out. Every 64 outputs of a plane (h * w / 64 per plane) are one vector of 16 tiles; tasks
/// [task0, task1) are pairs of consecutive vectors (ceil(images * h * w / 128) in all), and each output
/// is summed in the same order whatever the split. Returns 0, or -1 when unsupported (see
/// `csyn_conv_winograd_supported`) or out of memory.
int csyn_conv_winograd(const float *in, int64_t images, int64_t c_in, int64_t h, int64_t w, const float *u,
                       int64_t o_out, const float *bias, const float *shift, const float *residual, float *out,
                       int64_t task0, int64_t task1);

/// Vectors of 16 tiles per slice of `csyn_conv_winograd_wgrad`'s sum (each slice sums into its own partial).
#define CSYN_WINO_WGRAD_SLICE 64
/// Output channels per task of `csyn_conv_winograd_wgrad`.
#define CSYN_WINO_WGRAD_OB 32
/// Input channels per task of `csyn_conv_winograd_wgrad`.
#define CSYN_WINO_WGRAD_CB 32

/// Slices of `csyn_conv_winograd_wgrad`'s sum (the partials it writes): ceil(images * h * w / 64 / CSYN_WINO_WGRAD_SLICE).
int64_t csyn_conv_winograd_wgrad_slices(int64_t images, int64_t h, int64_t w);

/// Tasks of `csyn_conv_winograd_wgrad`: slices x blocks of CSYN_WINO_WGRAD_OB output channels x blocks of
/// CSYN_WINO_WGRAD_CB input channels.
int64_t csyn_conv_winograd_wgrad_tasks(int64_t images, int64_t c_in, int64_t h, int64_t w, int64_t o_out);

/// Weight gradient of a "same" 3x3 convolution (padding 1, stride 1) by Winograd F(2x2, 3x3), in two steps.
/// This one sums, per slice of CSYN_WINO_WGRAD_SLICE vectors of 16 tiles (numbered like `csyn_conv_winograd`'s),
/// partial[slice][xi][o][c] = sum over the slice's tiles of (A dy A^T)[xi] (B^T d B)[xi], from dy [images][o_out][h][w]
/// and the input x [images][c_in][h][w]. Tasks [task0, task1) are (slice, block of CSYN_WINO_WGRAD_OB output channels,
/// block of CSYN_WINO_WGRAD_CB input channels), slice-major then output-block-major; each writes only its own entries, summed in the same
/// order whatever the split. Returns 0, or -1 when unsupported (`csyn_conv_winograd_supported`) or out of memory.
int csyn_conv_winograd_wgrad(const float *dy, const float *x, int64_t images, int64_t c_in, int64_t h, int64_t w,
                             int64_t o_out, float *partial, int64_t task0, int64_t task1);

/// The second step: dw[o][c] [3][3] = G^T (sum over slices, in order, of partial[slice][.][o][c]) G for output
/// channels [o0, o1).
void csyn_conv_winograd_wgrad_finish(const float *partial, int64_t slices, int64_t o_out, int64_t c_in, float *dw,
                                     int64_t o0, int64_t o1);

/// Whether `csyn_conv_planes` runs its AVX-512 path on this CPU (1) or portable C (0).
int csyn_conv_avx512(void);

/// The path (CSYN_PATH_*) the convolution kernels run on this CPU.
int csyn_conv_path(void);

/// The convolution kernels above on a given path (CSYN_PATH_*, for tests); 0, or -1 when this CPU lacks it.
int csyn_conv_planes_strided_on(int path, const float *in, int64_t c_in, int64_t channel_stride, int64_t image_stride,
                                const float *w, int64_t o_out, const int64_t *offsets, int64_t taps,
                                float *out, int64_t out_plane, int64_t positions, int64_t task0, int64_t task1);
int csyn_conv_wgrad3x3_on(int path, const float *dy, int64_t ld_dy, const float *x, int64_t ld_x, int64_t k_len,
                          const int64_t *offsets, int64_t o_out, int64_t c_in, float *dw, int64_t task0, int64_t task1);
int csyn_stack_planes_on(int path, const float *src, int64_t images, int64_t channels, int64_t h, int64_t w,
                         int64_t pitch, int64_t slot, int64_t lead, int64_t ld, float *dst, int64_t c0, int64_t c1);
int csyn_unstack_planes_on(int path, const float *src, int64_t channels, int64_t h, int64_t w, int64_t pitch,
                           int64_t slot, int64_t group, int64_t out_plane, const float *bias, const float *shift,
                           const float *residual, float *dst, int64_t p0, int64_t p1);
int csyn_conv_dense_on(int path, const float *in, int64_t images, int64_t c_in, int64_t hw, const float *wpk,
                       int64_t o_out, int64_t taps, const uint16_t *masks, const int64_t *offsets, const float *bias,
                       const float *shift, const float *residual, float *out, int64_t chunk, int64_t task0,
                       int64_t task1);

#endif
