import Foundation
import CSynKernels

/// A stride-1, ungrouped convolution computed directly over zero-padded planes (CSynKernels'
/// `csyn_conv_planes`), without im2col/col2im: the input is copied once into planes with a
/// `row`-float row pitch, and output position p = y * row + x reads input p + ki * row + kj.
/// The input gradient is the same kernel over the padded output gradient with flipped,
/// transposed weights; the weight gradient is `csyn_conv_wgrad3x3` for 3x3 kernels and one GEMM per
/// tap over all images' padded planes otherwise.
struct PlaneConv {
    let N: Int, C: Int, O: Int, H: Int, W: Int, kh: Int, kw: Int, ph: Int, pw: Int
    var Ho: Int { H + 2 * ph - kh + 1 }
    var Wo: Int { W + 2 * pw - kw + 1 }
    /// Row pitch and rows of the padded input planes.
    var row: Int { W + 2 * pw }
    var inPlane: Int { (H + 2 * ph) * row }
    var taps: Int { kh * kw }

    /// Whether the direct path covers a convolution with these settings.
    static func applies(stride: (Int, Int), dilation: (Int, Int), groups: Int, kh: Int, kw: Int, padding: (Int, Int)) -> Bool {
        stride == (1, 1) && dilation == (1, 1) && groups == 1 && padding.0 <= kh - 1 && padding.1 <= kw - 1
            && padding.0 >= 0 && padding.1 >= 0
    }

    /// Copies planes [count, h, w] into zero-padded planes of `rows` x `pitch` floats (top/left
    /// padding `top`, `left`), followed by zeroed slack for the kernel's block over-reads. With
    /// `channelMajor` = channels per image, planes [images][channels] are stored as [channels][images].
    static func pad(_ src: UnsafePointer<Float>, count: Int, h: Int, w: Int, top: Int, left: Int, rows: Int, pitch: Int,
                    channelMajor: Int? = nil) -> Tensor {
        let plane = rows * pitch
        let slack = Int(CSYN_CONV_PB) + 2 * pitch + 16
        let out = Tensor(uninitializedShape: [count * plane + slack])
        let s = UncheckedBox(src), d = SendablePointer(out.basePointer)
        parallelRows(rows: count, work: count * plane) { range in
            for i in range {
                let slot = channelMajor.map { (i % $0) * (count / $0) + i / $0 } ?? i
                let dst = d.p + slot * plane, from = s.value + i * h * w
                dst.update(repeating: 0, count: top * pitch)
                for y in 0..<h {
                    let r = dst + (top + y) * pitch
                    r.update(repeating: 0, count: left)
                    (r + left).update(from: from + y * w, count: w)
                    (r + left + w).update(repeating: 0, count: pitch - left - w)
                }
                (dst + (top + h) * pitch).update(repeating: 0, count: (rows - top - h) * pitch)
            }
        }
        (d.p + count * plane).update(repeating: 0, count: slack)
        return out
    }

    /// Packs weights [outer][inner][kh][kw] (read at `index(outer, inner, t)`) as [ceil(outer/8)][inner][taps][8].
    @inline(__always)
    static func pack(outer: Int, inner: Int, taps: Int, _ value: (Int, Int, Int) -> Float) -> [Float] {
        let ob = Int(CSYN_CONV_OB)
        let blocks = (outer + ob - 1) / ob
        // Written through a raw buffer: per-element array subscripts (bounds and uniqueness checks) made
        // this serial copy about 1% of a UNet training step.
        return [Float](unsafeUninitializedCapacity: blocks * inner * taps * ob) { buf, count in
            let p = buf.baseAddress.unsafelyUnwrapped
            p.initialize(repeating: 0, count: buf.count)
            for o in 0..<outer {
                for c in 0..<inner {
                    let row = p + (o / ob * inner + c) * taps * ob + o % ob
                    for t in 0..<taps { row[t * ob] = value(o, c, t) }
                }
            }
            count = buf.count
        }
    }

    /// Runs the kernel over all images: planes of `inner` channels -> `outer` channels, `positions` per plane.
    /// Input channel c of image n is read at input + c * channelStride + n * imageStride.
    static func run(_ input: UnsafePointer<Float>, inner: Int, channelStride: Int, imageStride: Int, packed: [Float], outer: Int,
                    offsets: [Int64], images: Int, positions: Int) -> (Tensor, Int) {
        let pb = Int(CSYN_CONV_PB)
        let outPlane = (positions + pb - 1) / pb * pb
        let out = Tensor(uninitializedShape: [images * outer * outPlane])
        let blocks = (outer + Int(CSYN_CONV_OB) - 1) / Int(CSYN_CONV_OB)
        let tasks = images * blocks
        let inp = UncheckedBox(input), o = SendablePointer(out.basePointer)
        packed.withUnsafeBufferPointer { w in
            offsets.withUnsafeBufferPointer { off in
                let wb = UncheckedBox(w.baseAddress!), ob = UncheckedBox(off.baseAddress!)
                parallelRows(rows: tasks, work: tasks * inner * offsets.count * outPlane) { r in
                    csyn_conv_planes_strided(inp.value, Int64(inner), Int64(channelStride), Int64(imageStride), wb.value, Int64(outer),
                                             ob.value, Int64(offsets.count), o.p, Int64(outPlane), Int64(positions),
                                             Int64(r.lowerBound), Int64(r.upperBound))
                }
            }
        }
        return (out, outPlane)
    }

    /// Copies rows of `w` valid values from planes of pitch `pitch` into dense [count, h, w], adding
    /// bias[plane % channels] + shift[plane] (each optional) to every value of a plane and then the
    /// dense `residual` [count, h, w] (the order of the separate adds, so results are identical).
    static func extract(_ src: UnsafePointer<Float>, srcPlane: Int, pitch: Int, count: Int, h: Int, w: Int,
                        channels: Int, bias: UnsafePointer<Float>?, shift: UnsafePointer<Float>? = nil,
                        residual: UnsafePointer<Float>? = nil, into dst: UnsafeMutablePointer<Float>) {
        let s = UncheckedBox(src), d = SendablePointer(dst), b = UncheckedBox(bias), sh = UncheckedBox(shift)
        let res = UncheckedBox(residual)
        parallelRows(rows: count, work: count * h * w) { range in
            for i in range {
                let from = s.value + i * srcPlane, to = d.p + i * h * w
                if b.value == nil && sh.value == nil && res.value == nil {
                    for y in 0..<h { (to + y * w).update(from: from + y * pitch, count: w) }
                    continue
                }
                for y in 0..<h {
                    let f = from + y * pitch, t = to + y * w
                    for x in 0..<w { t[x] = f[x] }
                    if let bp = b.value {
                        let v = bp[i % channels]
                        for x in 0..<w { t[x] += v }
                    }
                    if let sp = sh.value {
                        let v = sp[i]
                        for x in 0..<w { t[x] += v }
                    }
                    if let rp = res.value {
                        let r = rp + i * h * w + y * w
                        for x in 0..<w { t[x] += r[x] }
                    }
                }
            }
        }
    }

    /// Whether the output keeps the input's size (padding (k - 1) / 2), so neighbouring rows and
    /// images can share their zero padding (`csyn_stack_planes`): one zero column per row and one zero
    /// row per image instead of two of each, which matters most for the small planes (a 4x4 image
    /// computes 25 positions instead of 48).
    var stacked: Bool { Self.stackedEnabled && kh == 2 * ph + 1 && kw == 2 * pw + 1 }
    static let stackedEnabled = ProcessInfo.processInfo.environment["SYNCLR_CONV_STACKED"] != "0"
    /// Row pitch, floats per image and leading zeros of stacked planes.
    var pitch: Int { W + pw }
    var slot: Int { (H + ph) * pitch }
    var lead: Int { ph * pitch + pw }
    /// Offsets of the taps in stacked planes (negative above and left of the output position).
    var stackedOffsets: [Int64] { (0..<taps).map { Int64(($0 / kw - ph) * pitch + ($0 % kw - pw)) } }

    /// Whether the convolution runs on the dense layout itself (`csyn_conv_dense`): a "same"-size
    /// convolution whose planes hold a multiple of 16 positions (every level of a power-of-two UNet
    /// from 4x4 up). Taps past a plane's edge are masked lanes, so neither the input nor the output
    /// is copied in the forward pass or the input gradient, and the backward pass keeps the input
    /// tensor itself instead of a padded copy.
    var dense: Bool { Self.denseEnabled && kh == 2 * ph + 1 && kw == 2 * pw + 1 && (H * W) % 16 == 0 && taps <= Int(CSYN_DENSE_MAX_TAPS) }
    static let denseEnabled = ProcessInfo.processInfo.environment["SYNCLR_CONV_DENSE"] != "0"

    /// Whether the convolution runs as Winograd F(2x2, 3x3) (`csyn_conv_winograd`): a dense 3x3
    /// convolution over planes 8, 16 or 32 wide on a CPU with AVX-512. Each 2x2 block of outputs costs
    /// 16 multiply-adds per channel pair instead of 36; at the UNet's shapes it runs 1.25-1.6x the direct
    /// kernel's speed (Docs/benchmarks.md), and its outputs differ from the direct kernel's by rounding.
    /// `SYNCLR_CONV_WINOGRAD=0` keeps the direct kernel.
    var winograd: Bool {
        Self.winogradEnabled && dense && kh == 3 && kw == 3 && csyn_conv_winograd_supported(Int64(H), Int64(W)) != 0
    }
    static let winogradEnabled = ProcessInfo.processInfo.environment["SYNCLR_CONV_WINOGRAD"] != "0"

    /// [N, inner, H, W] -> [N, outer, H, W] by `csyn_conv_winograd` from the 3x3 weights w [O, C, 3, 3]
    /// (with `flipped`, the input gradient's: inner = O, outer = C), plus the optional epilogue adds.
    /// Tasks are runs of pairs of 16-tile vectors, about eight per thread.
    func winogradRun(_ x: UnsafePointer<Float>, inner: Int, outer: Int, weight w: UnsafePointer<Float>, flipped: Bool,
                     bias: UnsafePointer<Float>? = nil, shift: UnsafePointer<Float>? = nil,
                     residual: UnsafePointer<Float>? = nil) -> Tensor {
        let u = [Float](unsafeUninitializedCapacity: 16 * inner * outer) { buf, count in
            let up = SendablePointer(buf.baseAddress.unsafelyUnwrapped), wb = UncheckedBox(w)
            let (o, c, f) = (Int64(O), Int64(C), Int32(flipped ? 1 : 0))
            parallelRows(rows: inner, work: 16 * inner * outer * 4) { r in
                csyn_conv_winograd_weights(wb.value, o, c, f, up.p, Int64(r.lowerBound), Int64(r.upperBound))
            }
            count = buf.count
        }
        let y = Tensor(uninitializedShape: [N, outer, H, W])
        let pairs = (N * H * W / 64 + 1) / 2
        let chunk = Swift.max(1, pairs / (8 * Threading.count)), tasks = (pairs + chunk - 1) / chunk
        let xb = UncheckedBox(x), d = SendablePointer(y.basePointer)
        let b = UncheckedBox(bias), sh = UncheckedBox(shift), res = UncheckedBox(residual)
        let (n, h, wd) = (N, H, W)
        u.withUnsafeBufferPointer { ub in
            let up = UncheckedBox(ub.baseAddress.unsafelyUnwrapped)
            parallelTasks(tasks, work: n * h * wd * inner * outer * 4) { r in
                let rc = csyn_conv_winograd(xb.value, Int64(n), Int64(inner), Int64(h), Int64(wd), up.value, Int64(outer), b.value,
                                            sh.value, res.value, d.p, Int64(r.lowerBound * chunk),
                                            Int64(Swift.min(r.upperBound * chunk, pairs)))
                precondition(rc == 0, "convolution: out of memory for the Winograd scratch of \(inner) and \(outer) channels")
            }
        }
        return y
    }

    /// Whether the weight gradient runs as Winograd F(2x2, 3x3) too (`csyn_conv_winograd_wgrad`): a
    /// `winograd` convolution with at least 8 input and 8 output channels (fewer leave most of its 4 x 4
    /// channel blocks empty, and the stacked kernel is faster there).
    var winogradWeights: Bool { winograd && O >= 8 && C >= 8 }

    /// dW [O, C, 3, 3] from dy [N, O, H, W] and the input x [N, C, H, W] by `csyn_conv_winograd_wgrad`, which
    /// reads both in the dense layout (no stacked copies) and spends 16 multiply-adds per 2x2 outputs and
    /// channel pair instead of 36: 1.6-1.9x the stacked kernel with its copies at the UNet's shapes
    /// (Docs/benchmarks.md). Slices of the sum are fixed by the shape, so the result does not depend on
    /// the thread count.
    func winogradWeightGradient(dy: UnsafePointer<Float>, x: UnsafePointer<Float>) -> Tensor {
        let (n, c, o, h, wd) = (Int64(N), Int64(C), Int64(O), Int64(H), Int64(W))
        let tasks = Int(csyn_conv_winograd_wgrad_tasks(n, c, h, wd, o))
        let slices = Int(csyn_conv_winograd_wgrad_slices(n, h, wd))
        let partial = Tensor(uninitializedShape: [slices, 16, O, C])
        let dyB = UncheckedBox(dy), xB = UncheckedBox(x), pp = SendablePointer(partial.basePointer)
        parallelTasks(tasks, work: N * H * W * O * C * 4) { r in
            let rc = csyn_conv_winograd_wgrad(dyB.value, xB.value, n, c, h, wd, o, pp.p, Int64(r.lowerBound), Int64(r.upperBound))
            precondition(rc == 0, "convolution: out of memory for the Winograd weight gradient's scratch")
        }
        let dw = Tensor(uninitializedShape: [O, C, 3, 3])
        let d = SendablePointer(dw.basePointer), sl = Int64(slices)
        parallelRows(rows: O, work: slices * 16 * O * C) { r in
            csyn_conv_winograd_wgrad_finish(pp.p, sl, o, c, d.p, Int64(r.lowerBound), Int64(r.upperBound))
        }
        return withExtendedLifetime(partial) { dw }
    }

    /// Tap masks and offsets of the dense kernels (`csyn_conv_dense_masks`).
    func denseMasks() -> ([UInt16], [Int64]) {
        var masks = [UInt16](repeating: 0, count: H * W / 16 * taps)
        var offsets = [Int64](repeating: 0, count: taps)
        masks.withUnsafeMutableBufferPointer { m in
            offsets.withUnsafeMutableBufferPointer { o in
                csyn_conv_dense_masks(Int64(H), Int64(W), Int64(kh), Int64(kw), m.baseAddress.unsafelyUnwrapped,
                                      o.baseAddress.unsafelyUnwrapped)
            }
        }
        return (masks, offsets)
    }

    /// [N, inner, H, W] -> [N, outer, H, W] by `csyn_conv_dense` with weights packed for `outer`, plus the
    /// optional epilogue adds. Tasks are runs of 16-position vectors (a multiple of 3, about 512 KiB of
    /// input each, at least four per thread) times blocks of 8 output channels. Runs are whole groups of
    /// three images where that leaves enough tasks, because the kernel's fastest blocks are the same
    /// position of three images (one row of tap masks).
    func denseRun(_ x: UnsafePointer<Float>, inner: Int, packed: [Float], outer: Int, bias: UnsafePointer<Float>? = nil,
                  shift: UnsafePointer<Float>? = nil, residual: UnsafePointer<Float>? = nil) -> Tensor {
        let y = Tensor(uninitializedShape: [N, outer, H, W])
        let hw = H * W, vectors = N * hw / 16, triple = 3 * (hw / 16)
        let blocks = (outer + Int(CSYN_CONV_OB) - 1) / Int(CSYN_CONV_OB)
        var chunk = Swift.max(3, (1 << 17) / Swift.max(1, inner * 16) / 3 * 3)
        if chunk >= triple { chunk = chunk / triple * triple }
        while chunk > 3 && (vectors + chunk - 1) / chunk * blocks < 4 * Threading.count {
            chunk = chunk > triple && chunk % triple == 0 ? Swift.max(triple, chunk / triple / 2 * triple) : Swift.max(3, chunk / 6 * 3)
        }
        let tasks = (vectors + chunk - 1) / chunk * blocks
        let (masks, offsets) = denseMasks()
        let xb = UncheckedBox(x), d = SendablePointer(y.basePointer)
        let b = UncheckedBox(bias), sh = UncheckedBox(shift), res = UncheckedBox(residual)
        let (n, t) = (N, taps)
        packed.withUnsafeBufferPointer { w in
            masks.withUnsafeBufferPointer { m in
                offsets.withUnsafeBufferPointer { o in
                    let wb = UncheckedBox(w.baseAddress.unsafelyUnwrapped), mb = UncheckedBox(m.baseAddress.unsafelyUnwrapped)
                    let ob = UncheckedBox(o.baseAddress.unsafelyUnwrapped)
                    parallelTasks(tasks, work: vectors * 16 * inner * t * outer) { r in
                        csyn_conv_dense(xb.value, Int64(n), Int64(inner), Int64(hw), wb.value, Int64(outer), Int64(t), mb.value, ob.value,
                                        b.value, sh.value, res.value, d.p, Int64(chunk), Int64(r.lowerBound), Int64(r.upperBound))
                    }
                }
            }
        }
        return y
    }

    /// dW of a dense convolution from dy [N, O, H, W] and the input x [N, C, H, W]: both are stacked
    /// first (`weightGradient`), because the stacked 3x3 kernel, copies included, measured faster than a
    /// masked one reading the dense layout (Docs/benchmarks.md).
    func denseWeightGradient(dy: UnsafePointer<Float>, x: UnsafePointer<Float>) -> Tensor {
        let g = group(inner: O, outer: C)
        let ld = stackLength(group: g)
        let dys = stack(dy, channels: O, ld: ld), xs = stack(x, channels: C, ld: ld)
        let dw = weightGradient(dy: dys.basePointer + lead, ldDy: ld, x: xs.basePointer + lead, ldX: ld, length: N * slot,
                                offsets: stackedOffsets)
        return withExtendedLifetime((dys, xs)) { dw }
    }

    /// Images per kernel task when reading `inner` channels: up to about 512 KiB of input (so the
    /// other output blocks find it in L2), halved until there are four tasks per thread.
    func group(inner: Int, outer: Int) -> Int {
        // A power of two, so a batch of 2^k images fills its last group (no over-allocated slots).
        let target = Swift.max(1, Swift.min(N, (1 << 17) / Swift.max(1, inner * slot)))
        var g = 1
        while g * 2 <= target { g *= 2 }
        let blocks = (outer + Int(CSYN_CONV_OB) - 1) / Int(CSYN_CONV_OB)
        while g > 1 && (N + g - 1) / g * blocks < 4 * Threading.count { g /= 2 }
        return g
    }

    /// Floats per channel row of stacked planes read `g` images at a time: the lead, whole groups,
    /// and the kernel's over-read past the last position.
    func stackLength(group g: Int) -> Int { lead + (N + g - 1) / g * g * slot + Int(CSYN_CONV_PB) + lead + 16 }

    /// Stacks [N, channels, H, W] planes into channel rows of `ld` floats.
    func stack(_ src: UnsafePointer<Float>, channels: Int, ld: Int) -> Tensor {
        let out = Tensor(uninitializedShape: [channels * ld])
        let s = UncheckedBox(src), d = SendablePointer(out.basePointer)
        let (n, h, w, p, sl, le) = (N, H, W, pitch, slot, lead)
        parallelRows(rows: channels, work: channels * ld) { r in
            csyn_stack_planes(s.value, Int64(n), Int64(channels), Int64(h), Int64(w), Int64(p), Int64(sl), Int64(le), Int64(ld),
                              d.p, Int64(r.lowerBound), Int64(r.upperBound))
        }
        return out
    }

    /// Runs the kernel over stacked planes (`inner` channel rows of `ld` floats) and unstacks the
    /// result into dense [N, outer, H, W] with the optional epilogue adds.
    func stackedRun(_ input: Tensor, inner: Int, ld: Int, group g: Int, packed: [Float], outer: Int,
                    bias: UnsafePointer<Float>? = nil, shift: UnsafePointer<Float>? = nil,
                    residual: UnsafePointer<Float>? = nil) -> Tensor {
        let chunks = (N + g - 1) / g
        let (out, outPlane) = Self.run(input.basePointer + lead, inner: inner, channelStride: ld, imageStride: g * slot,
                                       packed: packed, outer: outer, offsets: stackedOffsets, images: chunks, positions: g * slot)
        let y = Tensor(uninitializedShape: [N, outer, H, W])
        let s = UncheckedBox(UnsafePointer(out.basePointer)), d = SendablePointer(y.basePointer)
        let b = UncheckedBox(bias), sh = UncheckedBox(shift), res = UncheckedBox(residual)
        let (h, w, p, sl) = (H, W, pitch, slot)
        parallelRows(rows: N * outer, work: N * outer * h * w) { r in
            csyn_unstack_planes(s.value, Int64(outer), Int64(h), Int64(w), Int64(p), Int64(sl), Int64(g), Int64(outPlane),
                                b.value, sh.value, res.value, d.p, Int64(r.lowerBound), Int64(r.upperBound))
        }
        return withExtendedLifetime((out, input)) { y }
    }

    /// Input and weight gradients of a stacked convolution from one stacked copy of dy; `xp` is
    /// the stacked input `forward` returned.
    func stackedBackward(dy: UnsafePointer<Float>, weight w: UnsafePointer<Float>, stackedInput xp: Tensor,
                         input: Bool, weight needWeight: Bool) -> (Tensor?, Tensor?) {
        let g = group(inner: O, outer: C)
        let ld = stackLength(group: g)
        let dys = stack(dy, channels: O, ld: ld)
        let dx = input ? stackedRun(dys, inner: O, ld: ld, group: g, packed: flippedWeights(w), outer: C) : nil
        guard needWeight else { return (dx, nil) }
        let dw = weightGradient(dy: dys.basePointer + lead, ldDy: ld, x: xp.basePointer + lead, ldX: xp.count / C, length: N * slot,
                                offsets: stackedOffsets)
        return withExtendedLifetime((dys, xp)) { (dx, dw) }
    }

    /// y [N, O, Ho, Wo] and the padded input, stored channel-major ([C][N][plane], so the weight
    /// gradient reads each channel of all images as one row).
    func forward(x: UnsafePointer<Float>, weight w: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                 shift: UnsafePointer<Float>? = nil, residual: UnsafePointer<Float>? = nil) -> (Tensor, Tensor) {
        if stacked {
            let g = group(inner: C, outer: O)
            let ld = stackLength(group: g)
            let xs = stack(x, channels: C, ld: ld)
            return (stackedRun(xs, inner: C, ld: ld, group: g, packed: packedWeights(w), outer: O, bias: bias, shift: shift, residual: residual), xs)
        }
        let xp = Self.pad(x, count: N * C, h: H, w: W, top: ph, left: pw, rows: H + 2 * ph, pitch: row, channelMajor: C)
        let offsets = (0..<taps).map { Int64(($0 / kw) * row + $0 % kw) }
        let (out, outPlane) = Self.run(xp.basePointer, inner: C, channelStride: N * inPlane, imageStride: inPlane, packed: packedWeights(w),
                                       outer: O, offsets: offsets, images: N, positions: Ho * row)
        let y = Tensor(uninitializedShape: [N, O, Ho, Wo])
        Self.extract(out.basePointer, srcPlane: outPlane, pitch: row, count: N * O, h: Ho, w: Wo, channels: O, bias: bias,
                     shift: shift, residual: residual, into: y.basePointer)
        return (y, xp)
    }

    /// dx [N, C, H, W] from dy [N, O, Ho, Wo]: the full correlation of dy with the flipped kernel.
    func inputGradient(dy: UnsafePointer<Float>, weight w: UnsafePointer<Float>) -> Tensor {
        let top = kh - 1 - ph, left = kw - 1 - pw
        let pitch = Wo + 2 * left, rows = Ho + 2 * top
        let dyp = Self.pad(dy, count: N * O, h: Ho, w: Wo, top: top, left: left, rows: rows, pitch: pitch)
        let offsets = (0..<taps).map { Int64(($0 / kw) * pitch + $0 % kw) }
        let (out, outPlane) = Self.run(dyp.basePointer, inner: O, channelStride: rows * pitch, imageStride: O * rows * pitch,
                                       packed: flippedWeights(w), outer: C, offsets: offsets, images: N, positions: H * pitch)
        let dx = Tensor(uninitializedShape: [N, C, H, W])
        Self.extract(out.basePointer, srcPlane: outPlane, pitch: pitch, count: N * C, h: H, w: W, channels: C, bias: nil,
                     into: dx.basePointer)
        return withExtendedLifetime(dyp) { dx }
    }

    /// dW [O, C, kh, kw] = sum over images and positions of dy x shifted input: per tap one GEMM
    /// [O, K] x [C, K]^T with K running over all images' padded planes (dy is laid out channel-major in
    /// the input's plane geometry, zero past Wo and Ho, so the shifted input reads of one image never
    /// meet a nonzero dy of another). The threads split K and sum their partials.
    func weightGradient(dy: UnsafePointer<Float>, paddedInput xp: Tensor) -> Tensor {
        let K = N * inPlane
        let dyq = Self.pad(dy, count: N * O, h: Ho, w: Wo, top: 0, left: 0, rows: H + 2 * ph, pitch: row, channelMajor: O)
        let dw = weightGradient(dy: dyq.basePointer, ldDy: K, x: xp.basePointer, ldX: K, length: K,
                                offsets: (0..<taps).map { Int64(($0 / kw) * row + $0 % kw) })
        return withExtendedLifetime((dyq, xp)) { dw }
    }

    /// Weights [O, C, kh, kw] packed for `run` (O outer).
    func packedWeights(_ w: UnsafePointer<Float>) -> [Float] {
        Self.pack(outer: O, inner: C, taps: taps) { o, c, t in w[(o * C + c) * taps + t] }
    }

    /// The same weights flipped in both spatial directions and transposed (C outer), for the input gradient.
    func flippedWeights(_ w: UnsafePointer<Float>) -> [Float] {
        Self.pack(outer: C, inner: O, taps: taps) { c, o, t in
            let ki = t / kw, kj = t % kw
            return w[((o * C + c) * kh + (kh - 1 - ki)) * kw + (kw - 1 - kj)]
        }
    }

    /// dW [O, C, kh, kw] = sum over k < length of dy[o][k] * x[c][k + offsets[tap]], dy and x given as
    /// channel rows `ldDy` and `ldX` floats apart (either plane geometry). 3x3 kernels use
    /// `csyn_conv_wgrad3x3`, which reads both operands in place (GEMMs per tap would pack dy and the
    /// shifted input again for each of the nine taps); other sizes one GEMM [O, K] x [C, K]^T per tap,
    /// the threads splitting K and summing their partials.
    func weightGradient(dy: UnsafePointer<Float>, ldDy: Int, x: UnsafePointer<Float>, ldX: Int, length K: Int,
                        offsets: [Int64]) -> Tensor {
        Self.weightGradient(O: O, C: C, kh: kh, kw: kw, dy: dy, ldDy: ldDy, x: x, ldX: ldX, length: K, offsets: offsets)
    }

    /// `weightGradient(dy:ldDy:x:ldX:length:offsets:)` for any geometry whose taps `offsets` encodes
    /// (`PhaseConv` passes its phase planes' offsets).
    static func weightGradient(O: Int, C: Int, kh: Int, kw: Int, dy: UnsafePointer<Float>, ldDy: Int, x: UnsafePointer<Float>,
                               ldX: Int, length K: Int, offsets: [Int64]) -> Tensor {
        let taps = kh * kw
        let dw = Tensor(uninitializedShape: [O, C, kh, kw])
        let dyB = UncheckedBox(dy), xB = UncheckedBox(x)
        let (o, c, t) = (O, C, taps)
        if kh == 3 && kw == 3 {
            let cblocks = (C + Int(CSYN_WGRAD_CB) - 1) / Int(CSYN_WGRAD_CB)
            let tasks = (O + Int(CSYN_WGRAD_OB) - 1) / Int(CSYN_WGRAD_OB) * cblocks
            let out = SendablePointer(dw.basePointer)
            offsets.withUnsafeBufferPointer { off in
                let ob = UncheckedBox(off.baseAddress.unsafelyUnwrapped)
                if tasks >= 4 * Threading.count {
                    parallelFor(tasks) { task in
                        csyn_conv_wgrad3x3(dyB.value, Int64(ldDy), xB.value, Int64(ldX), Int64(K), ob.value, Int64(o), Int64(c),
                                           out.p, Int64(task), Int64(task + 1))
                    }
                    return
                }
                // Few output channels (16 gave 3 tasks for 2 threads): three output channels per task, each
                // its own subproblem. The kernel sums three channels at a time either way, so every entry
                // keeps its order and bits.
                parallelFor((O + 2) / 3 * cblocks) { task in
                    let o0 = task / cblocks * 3, cb = task % cblocks
                    csyn_conv_wgrad3x3(dyB.value + o0 * ldDy, Int64(ldDy), xB.value, Int64(ldX), Int64(K), ob.value,
                                       Int64(Swift.min(3, o - o0)), Int64(c), out.p + o0 * c * 9, Int64(cb), Int64(cb + 1))
                }
            }
            return dw
        }
        let threads = Swift.max(1, Swift.min(Threading.count, K / 4096))
        let partial = Tensor(uninitializedShape: [threads, taps, O, C])
        let pp = SendablePointer(partial.basePointer)
        parallelFor(threads) { th in
            let k0 = K * th / threads, k1 = K * (th + 1) / threads
            let a = GEMMOperand(pointer: UnsafeMutablePointer(mutating: dyB.value + k0), ld: Int32(ldDy), trans: false)
            for tap in 0..<t {
                let b = GEMMOperand(pointer: UnsafeMutablePointer(mutating: xB.value + Int(offsets[tap]) + k0), ld: Int32(ldX), trans: true)
                sgemm(a, b, pp.p + (th * t + tap) * o * c, m: o, n: c, k: k1 - k0, split: false)
            }
        }
        // Sum the threads' partials and reorder [taps, O, C] -> [O, C, taps].
        let d = dw.basePointer, p = partial.basePointer
        for oi in 0..<O {
            for ci in 0..<C {
                for tap in 0..<taps {
                    var s: Float = 0
                    for th in 0..<threads { s += p[((th * taps + tap) * O + oi) * C + ci] }
                    d[(oi * C + ci) * taps + tap] = s
                }
            }
        }
        return dw
    }
}
