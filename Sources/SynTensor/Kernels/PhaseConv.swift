import Foundation
import CSynKernels

/// A strided convolution whose kernel overlaps itself (kh > sh or kw > sw, such as the UNet's 3x3
/// stride-2 downsampling) computed directly, without im2col/col2im.
///
/// The zero-padded input is split once into sh * sw phase planes, phase (a, b) holding padded pixels
/// (sh * u + a, sw * v + b) at (u, v). Tap (ki, kj) then reads phase (ki % sh, kj % sw) at the stride-1
/// shift (ki / sh, kj / sw), so the forward pass is `csyn_conv_planes_strided` with one offset per tap
/// (every tap read once, no unfolded matrix), and the weight gradient `csyn_conv_wgrad3x3` (3x3) or
/// one GEMM per tap over the same offsets. The input gradient of each phase is a stride-1 correlation
/// of the padded output gradient with that phase's taps, written back interleaved.
///
/// Layout of the split input: [phase][C][N][R][Q] floats, R = Ho + (kh - 1) / sh rows and Q = Wo +
/// (kw - 1) / sw columns per plane (every position a valid output reads), then zeroed slack for the
/// kernels' over-reads. Convolutions whose kernel does not overlap (a ViT's patch embedding, k = s)
/// keep im2col, which is then only a rearrangement of the input.
struct PhaseConv {
    let N: Int, C: Int, O: Int, H: Int, W: Int, kh: Int, kw: Int, sh: Int, sw: Int, ph: Int, pw: Int
    var Ho: Int { (H + 2 * ph - kh) / sh + 1 }
    var Wo: Int { (W + 2 * pw - kw) / sw + 1 }
    /// Rows and columns of a phase plane.
    var R: Int { Ho + (kh - 1) / sh }
    var Q: Int { Wo + (kw - 1) / sw }
    var phases: Int { sh * sw }
    var taps: Int { kh * kw }

    /// Whether the phase path covers a convolution with these settings.
    static func applies(stride: (Int, Int), dilation: (Int, Int), groups: Int, kh: Int, kw: Int, padding: (Int, Int)) -> Bool {
        enabled && stride != (1, 1) && stride.0 >= 1 && stride.1 >= 1 && (kh > stride.0 || kw > stride.1)
            && dilation == (1, 1) && groups == 1 && padding.0 >= 0 && padding.1 >= 0
    }

    /// Off with SYNCLR_CONV_PHASED=0 (im2col instead), so benchmarks can compare the two.
    static let enabled = ProcessInfo.processInfo.environment["SYNCLR_CONV_PHASED"] != "0"

    /// Offset in the split input of each tap (its phase's planes, then its shift within them).
    func forwardOffsets() -> [Int64] {
        let plane = R * Q
        return (0..<taps).map { t in
            let ki = t / kw, kj = t % kw
            return Int64(((ki % sh) * sw + kj % sw) * C * N * plane + (ki / sh) * Q + kj / sw)
        }
    }

    /// Floats after the split input that the kernels may read (blocks past the last position, and the largest shift).
    var slack: Int { Int(CSYN_CONV_PB) + ((kh - 1) / sh + 1) * Q + (kw - 1) / sw + 16 }

    /// x [N, C, H, W] -> the phase planes (see the type's comment).
    func split(_ x: UnsafePointer<Float>) -> Tensor {
        let plane = R * Q
        let out = Tensor(uninitializedShape: [phases * C * N * plane + slack])
        let s = UncheckedBox(x), d = SendablePointer(out.basePointer)
        let (n, c, h, w, r, q, ssh, ssw, pph, ppw) = (N, C, H, W, R, Q, sh, sw, ph, pw)
        parallelRows(rows: n * c, work: phases * n * c * plane) { range in
            for i in range {
                let img = i / c, ch = i % c
                let src = s.value + i * h * w
                for a in 0..<ssh {
                    for b in 0..<ssw {
                        let dst = d.p + (((a * ssw + b) * c + ch) * n + img) * plane
                        for u in 0..<r {
                            let y = ssh * u + a - pph
                            let row = dst + u * q
                            guard y >= 0 && y < h else {
                                row.update(repeating: 0, count: q)
                                continue
                            }
                            let line = src + y * w
                            for v in 0..<q {
                                let xx = ssw * v + b - ppw
                                row[v] = xx >= 0 && xx < w ? line[xx] : 0
                            }
                        }
                    }
                }
            }
        }
        (d.p + phases * C * N * plane).update(repeating: 0, count: slack)
        return out
    }

    /// y [N, O, Ho, Wo] plus the optional epilogue adds (bias[o], then shift[n * O + o], then residual).
    func forward(x: UnsafePointer<Float>, weight w: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                 shift: UnsafePointer<Float>? = nil, residual: UnsafePointer<Float>? = nil) -> Tensor {
        let xs = split(x)
        let plane = R * Q
        let packed = PlaneConv.pack(outer: O, inner: C, taps: taps) { o, c, t in w[(o * C + c) * taps + t] }
        let (out, outPlane) = PlaneConv.run(xs.basePointer, inner: C, channelStride: N * plane, imageStride: plane, packed: packed,
                                            outer: O, offsets: forwardOffsets(), images: N, positions: Ho * Q)
        let y = Tensor(uninitializedShape: [N, O, Ho, Wo])
        PlaneConv.extract(out.basePointer, srcPlane: outPlane, pitch: Q, count: N * O, h: Ho, w: Wo, channels: O, bias: bias,
                          shift: shift, residual: residual, into: y.basePointer)
        return withExtendedLifetime((xs, out)) { y }
    }

    /// dx [N, C, H, W] from dy [N, O, Ho, Wo]: for each phase, the stride-1 correlation of dy (padded by
    /// the largest shift on top and left) with that phase's taps, written to the pixels of that phase.
    func inputGradient(dy: UnsafePointer<Float>, weight w: UnsafePointer<Float>) -> Tensor {
        let mh = (kh - 1) / sh, mw = (kw - 1) / sw
        let pitch = Q + mw, rows = R + mh
        let dyp = PlaneConv.pad(dy, count: N * O, h: Ho, w: Wo, top: mh, left: mw, rows: rows, pitch: pitch)
        let dx = Tensor.zeros([N, C, H, W])
        for a in 0..<sh {
            for b in 0..<sw {
                let phaseTaps = (0..<taps).filter { ($0 / kw) % sh == a && ($0 % kw) % sw == b }
                guard !phaseTaps.isEmpty else { continue }
                let packed = PlaneConv.pack(outer: C, inner: O, taps: phaseTaps.count) { c, o, t in w[(o * C + c) * taps + phaseTaps[t]] }
                let offsets = phaseTaps.map { Int64((mh - ($0 / kw) / sh) * pitch + (mw - ($0 % kw) / sw)) }
                let (out, outPlane) = PlaneConv.run(dyp.basePointer, inner: O, channelStride: rows * pitch, imageStride: O * rows * pitch,
                                                    packed: packed, outer: C, offsets: offsets, images: N, positions: R * pitch)
                // Pixel (y, x) of this phase is padded pixel (y + ph, x + pw) = (sh * u + a, sw * v + b).
                let s = UncheckedBox(UnsafePointer(out.basePointer)), d = SendablePointer(dx.basePointer)
                let (h, wd, r, q, ssh, ssw, pph, ppw) = (H, W, R, Q, sh, sw, ph, pw)
                let y0 = ((a - ph) % sh + sh) % sh, x0 = ((b - pw) % sw + sw) % sw
                withExtendedLifetime(out) {
                    parallelRows(rows: N * C, work: N * C * H * W / phases) { range in
                        for i in range {
                            let src = s.value + i * outPlane, dst = d.p + i * h * wd
                            for y in stride(from: y0, to: h, by: ssh) {
                                let u = (y + pph) / ssh
                                guard u < r else { break }
                                let from = src + u * pitch, to = dst + y * wd
                                for x in stride(from: x0, to: wd, by: ssw) {
                                    let v = (x + ppw) / ssw
                                    guard v < q else { break }
                                    to[x] = from[v]
                                }
                            }
                        }
                    }
                }
            }
        }
        return withExtendedLifetime(dyp) { dx }
    }

    /// dW [O, C, kh, kw] from dy [N, O, Ho, Wo] and the split input: dy is laid out channel-major in the
    /// phase planes' geometry (zero past Ho and Wo), so tap t is the sum over k of dy[o][k] * xs[c][k + offset t].
    func weightGradient(dy: UnsafePointer<Float>, split xs: Tensor) -> Tensor {
        let K = N * R * Q
        let dyq = PlaneConv.pad(dy, count: N * O, h: Ho, w: Wo, top: 0, left: 0, rows: R, pitch: Q, channelMajor: O)
        let dw = PlaneConv.weightGradient(O: O, C: C, kh: kh, kw: kw, dy: dyq.basePointer, ldDy: K, x: xs.basePointer, ldX: K,
                                          length: K, offsets: forwardOffsets())
        return withExtendedLifetime((dyq, xs)) { dw }
    }
}
