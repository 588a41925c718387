import CSynKernels
import Foundation
import SynTensor
import Testing

/// Every code path of the C kernels this CPU can run (portable C, AVX2, AVX-512), each held to a
/// double-precision reference computed here from the headers' definitions. The product runs only the
/// widest path, so without these a CPU without AVX-512 would run kernels no test on this machine saw.
/// The `_on` entry points choose the path per call, so nothing process-wide changes under the
/// concurrently running tests.
@Suite struct KernelPathTests {
    /// The paths (CSYN_PATH_*) this CPU has.
    static let paths: [Int32] = [CSYN_PATH_PORTABLE, CSYN_PATH_AVX2, CSYN_PATH_AVX512].filter { p in
        switch p {
        case CSYN_PATH_AVX512: return csyn_conv_avx512() != 0 && csyn_attention_simd() >= 2
        case CSYN_PATH_AVX2: return csyn_attention_simd() >= 1
        default: return true
        }
    }

    static func randoms(_ count: Int, _ rng: inout RandomGenerator, scale: Float = 1) -> [Float] {
        (0..<count).map { _ in rng.normal() * scale }
    }

    static func withOptional<R>(_ a: [Float]?, _ body: (UnsafePointer<Float>?) -> R) -> R {
        guard let a else { return body(nil) }
        return a.withUnsafeBufferPointer { body($0.baseAddress) }
    }

    /// |got - exact| within `rel` of the magnitude of the summed terms (plus a floor for exact zeros).
    static func close(_ got: Float, _ exact: Double, magnitude: Double, rel: Double = 2e-6) -> Bool {
        abs(Double(got) - exact) <= rel * magnitude + 1e-7
    }

    /// Packs w [o][c][taps] as the convolution kernels read it: [ceil(o / 8)][c][taps][8], zeros past o.
    static func pack(_ w: [Float], o: Int, c: Int, taps: Int) -> [Float] {
        let ob = Int(CSYN_CONV_OB), blocks = (o + ob - 1) / ob
        var p = [Float](repeating: 0, count: blocks * c * taps * ob)
        for oo in 0..<o {
            for cc in 0..<c {
                for t in 0..<taps { p[((oo / ob * c + cc) * taps + t) * ob + oo % ob] = w[(oo * c + cc) * taps + t] }
            }
        }
        return p
    }

    // MARK: convolutions

    /// A "same" odd kh x kw convolution of x [images][inner][h][w] in double precision, with the
    /// magnitude of each output's summed terms for the tolerance: weight(o, c, t) for tap t, and the
    /// epilogue terms when given.
    static func sameConvolution(_ x: [Float], images: Int, inner: Int, outer: Int, h: Int, w: Int, kh: Int, kw: Int,
                                weight: (Int, Int, Int) -> Float, bias: [Float]? = nil, shift: [Float]? = nil,
                                residual: [Float]? = nil) -> (exact: [Double], magnitude: [Double]) {
        let hw = h * w
        var exact = [Double](repeating: 0, count: images * outer * hw), magnitude = exact
        for n in 0..<images {
            for o in 0..<outer {
                for y in 0..<h {
                    for xx in 0..<w {
                        var s = 0.0, m = 0.0
                        for c in 0..<inner {
                            for t in 0..<(kh * kw) {
                                let yy = y + t / kw - kh / 2, xs = xx + t % kw - kw / 2
                                guard yy >= 0, yy < h, xs >= 0, xs < w else { continue }
                                let term = Double(weight(o, c, t)) * Double(x[(n * inner + c) * hw + yy * w + xs])
                                s += term
                                m += abs(term)
                            }
                        }
                        let i = (n * outer + o) * hw + y * w + xx
                        for extra in [bias?[o], shift?[n * outer + o], residual?[i]].compactMap({ $0 }) {
                            s += Double(extra)
                            m += abs(Double(extra))
                        }
                        exact[i] = s
                        magnitude[i] = m
                    }
                }
            }
        }
        return (exact, magnitude)
    }

    /// Dense-layout "same" convolution with every optional term, odd kernels 1x1, 3x3 and 5x3, planes
    /// whose vectors cross rows, and a run length that splits images between tasks.
    @Test(arguments: [(5, 3, 4, 4, 3, 3, 11, 2), (4, 6, 6, 8, 3, 3, 16, 5), (7, 2, 2, 8, 1, 1, 9, 3), (3, 5, 4, 12, 5, 3, 8, 1)])
    func denseConvolution(images: Int, cIn: Int, h: Int, w: Int, kh: Int, kw: Int, oOut: Int, chunk: Int) throws {
        var rng = RandomGenerator(seed: 71, stream: UInt64(images * 1000 + cIn * 100 + oOut))
        let hw = h * w, taps = kh * kw
        let x = Self.randoms(images * cIn * hw, &rng), wt = Self.randoms(oOut * cIn * taps, &rng, scale: 0.3)
        let bias = Self.randoms(oOut, &rng), shift = Self.randoms(images * oOut, &rng)
        let residual = Self.randoms(images * oOut * hw, &rng)
        var masks = [UInt16](repeating: 0, count: hw / 16 * taps), offsets = [Int64](repeating: 0, count: taps)
        csyn_conv_dense_masks(Int64(h), Int64(w), Int64(kh), Int64(kw), &masks, &offsets)
        let wpk = Self.pack(wt, o: oOut, c: cIn, taps: taps)
        let vectors = images * hw / 16, blocks = (oOut + 7) / 8, tasks = (vectors + chunk - 1) / chunk * blocks
        for withTerms in [false, true] {
            let (exact, size) = Self.sameConvolution(x, images: images, inner: cIn, outer: oOut, h: h, w: w, kh: kh, kw: kw,
                                                     weight: { wt[($0 * cIn + $1) * taps + $2] }, bias: withTerms ? bias : nil,
                                                     shift: withTerms ? shift : nil, residual: withTerms ? residual : nil)
            for path in Self.paths {
                var out = [Float](repeating: .nan, count: images * oOut * hw)
                let rc = Self.withOptional(withTerms ? bias : nil) { b in
                    Self.withOptional(withTerms ? shift : nil) { s in
                        Self.withOptional(withTerms ? residual : nil) { r in
                            csyn_conv_dense_on(path, x, Int64(images), Int64(cIn), Int64(hw), wpk, Int64(oOut), Int64(taps), masks,
                                               offsets, b, s, r, &out, Int64(chunk), 0, Int64(tasks))
                        }
                    }
                }
                #expect(rc == 0)
                let bad = (0..<out.count).filter { !Self.close(out[$0], exact[$0], magnitude: size[$0]) }
                #expect(bad.isEmpty, "path \(path), terms \(withTerms): \(bad.count) of \(out.count) wrong, first \(bad.first.map { "\($0): \(out[$0]) vs \(exact[$0])" } ?? "")")
            }
        }
    }

    /// Winograd F(2x2, 3x3) on the dense layout (AVX-512 CPUs): every supported width, heights with
    /// several vectors per plane, the input gradient's flipped weights, every epilogue term, and an odd
    /// number of vectors (a last task with one); any split into tasks gives the same bits.
    @Test(arguments: [(3, 5, 2, 32, 7, false), (5, 4, 8, 16, 9, true), (2, 6, 4, 16, 16, false), (3, 3, 16, 8, 5, true),
                      (1, 2, 8, 8, 3, false)])
    func winogradConvolution(images: Int, cIn: Int, h: Int, w: Int, oOut: Int, flipped: Bool) throws {
        guard csyn_conv_winograd_supported(Int64(h), Int64(w)) != 0 else { return }
        var rng = RandomGenerator(seed: 78, stream: UInt64(h * 100 + w))
        let hw = h * w
        // With `flipped` the weights are [inner][outer][3][3] (the forward convolution's), read rotated.
        let (inner, outer) = (cIn, oOut)
        let x = Self.randoms(images * inner * hw, &rng), wt = Self.randoms(outer * inner * 9, &rng, scale: 0.3)
        let bias = Self.randoms(outer, &rng), shift = Self.randoms(images * outer, &rng)
        let residual = Self.randoms(images * outer * hw, &rng)
        func weight(_ o: Int, _ c: Int, _ t: Int) -> Float { flipped ? wt[(c * outer + o) * 9 + 8 - t] : wt[(o * inner + c) * 9 + t] }
        var u = [Float](repeating: .nan, count: 16 * inner * outer)
        // Filled in two ranges of input channels, as threads would.
        let half = Int64(inner / 2)
        for (c0, c1) in [(half, Int64(inner)), (0, half)] {
            if flipped { csyn_conv_winograd_weights(wt, Int64(inner), Int64(outer), 1, &u, c0, c1) }
            else { csyn_conv_winograd_weights(wt, Int64(outer), Int64(inner), 0, &u, c0, c1) }
        }
        let pairs = (images * hw / 64 + 1) / 2
        var out = [Float](repeating: .nan, count: images * outer * hw)
        #expect(csyn_conv_winograd(x, Int64(images), Int64(inner), Int64(h), Int64(w), u, Int64(outer), bias, shift, residual, &out, 0,
                                   Int64(pairs)) == 0)
        let (exact, size) = Self.sameConvolution(x, images: images, inner: inner, outer: outer, h: h, w: w, kh: 3, kw: 3,
                                                 weight: weight, bias: bias, shift: shift, residual: residual)
        // The transforms add and halve sums of up to 16 products: a few more roundings than a direct
        // sum, so twice the direct kernels' tolerance.
        let wrong = (0..<out.count).filter { !Self.close(out[$0], exact[$0], magnitude: size[$0], rel: 4e-6) }
            .map { "\($0): \(out[$0]) vs \(exact[$0])" }
        #expect(wrong.isEmpty, "\(wrong.count) of \(out.count) wrong, first \(wrong.first ?? "")")
        // One task per call, in reverse order: the same bits.
        var split = [Float](repeating: .nan, count: out.count)
        for t in (0..<pairs).reversed() {
            #expect(csyn_conv_winograd(x, Int64(images), Int64(inner), Int64(h), Int64(w), u, Int64(outer), bias, shift, residual, &split,
                                       Int64(t), Int64(t + 1)) == 0)
        }
        #expect(split.map(\.bitPattern) == out.map(\.bitPattern))
    }

    /// The Winograd weight gradient against dw[o][c][t] = sum over images and positions of dy x the
    /// input at tap t's neighbour (zero past the edges): every width, channel counts that leave partial
    /// 4-channel and 32-channel blocks, several slices with a short last one, and any task split and
    /// any split of the second step give the same bits.
    @Test(arguments: [(3, 5, 2, 32, 7), (5, 37, 32, 32, 9), (4, 13, 8, 16, 34), (9, 8, 16, 8, 8)])
    func winogradWeightGradient(images: Int, cIn: Int, h: Int, w: Int, oOut: Int) throws {
        guard csyn_conv_winograd_supported(Int64(h), Int64(w)) != 0 else { return }
        var rng = RandomGenerator(seed: 79, stream: UInt64(h * 100 + w))
        let hw = h * w
        let x = Self.randoms(images * cIn * hw, &rng), dy = Self.randoms(images * oOut * hw, &rng)
        let (n, c, o, hh, ww) = (Int64(images), Int64(cIn), Int64(oOut), Int64(h), Int64(w))
        let tasks = csyn_conv_winograd_wgrad_tasks(n, c, hh, ww, o)
        let slices = Int(csyn_conv_winograd_wgrad_slices(n, hh, ww))
        var partial = [Float](repeating: .nan, count: slices * 16 * oOut * cIn)
        #expect(csyn_conv_winograd_wgrad(dy, x, n, c, hh, ww, o, &partial, 0, tasks) == 0)
        var dw = [Float](repeating: .nan, count: oOut * cIn * 9)
        csyn_conv_winograd_wgrad_finish(partial, Int64(slices), o, c, &dw, 0, o)
        var wrong: [String] = []
        for oo in 0..<oOut {
            for cc in 0..<cIn {
                for t in 0..<9 {
                    let (dy0, dx0) = (t / 3 - 1, t % 3 - 1)
                    var sum = 0.0, size = 0.0
                    for img in 0..<images {
                        for y in 0..<h where (0..<h).contains(y + dy0) {
                            for xx in 0..<w where (0..<w).contains(xx + dx0) {
                                let term = Double(dy[(img * oOut + oo) * hw + y * w + xx])
                                    * Double(x[(img * cIn + cc) * hw + (y + dy0) * w + xx + dx0])
                                sum += term
                                size += abs(term)
                            }
                        }
                    }
                    let got = dw[(oo * cIn + cc) * 9 + t]
                    // The transforms add and halve sums of up to 16 products, as in the forward pass.
                    if !Self.close(got, sum, magnitude: size, rel: 4e-6) { wrong.append("[\(oo), \(cc), \(t)] \(got) vs \(sum)") }
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.count) of \(dw.count) wrong, first \(wrong.first ?? "")")
        // One task per call, in reverse order, and the second step in two ranges: the same bits.
        var split = [Float](repeating: .nan, count: partial.count)
        for t in (0..<tasks).reversed() { #expect(csyn_conv_winograd_wgrad(dy, x, n, c, hh, ww, o, &split, t, t + 1) == 0) }
        #expect(split.map(\.bitPattern) == partial.map(\.bitPattern))
        var dw2 = [Float](repeating: .nan, count: dw.count)
        csyn_conv_winograd_wgrad_finish(split, Int64(slices), o, c, &dw2, o / 2, o)
        csyn_conv_winograd_wgrad_finish(split, Int64(slices), o, c, &dw2, 0, o / 2)
        #expect(dw2.map(\.bitPattern) == dw.map(\.bitPattern))
    }

    /// Shapes and CPUs outside the Winograd kernel's are refused, not computed.
    @Test func winogradRefusesUnsupportedShapes() {
        for (h, w) in [(2, 12), (3, 32), (6, 16), (4, 8), (0, 8), (8, 64)] {
            #expect(csyn_conv_winograd_supported(Int64(h), Int64(w)) == 0, "\(h)x\(w)")
            var out = [Float](repeating: 0, count: 64)
            #expect(csyn_conv_winograd([Float](repeating: 1, count: max(1, h * w)), 1, 1, Int64(h), Int64(w), [Float](repeating: 0, count: 16), 1,
                                       nil, nil, nil, &out, 0, 0) == -1)
            #expect(csyn_conv_winograd_wgrad([Float](repeating: 1, count: max(1, h * w)), [Float](repeating: 1, count: max(1, h * w)), 1, 1,
                                             Int64(h), Int64(w), 1, &out, 0, 0) == -1)
        }
    }

    /// Padded planes (one zero border, rows `pitch` apart) in both of the layouts SynTensor uses:
    /// image-major and channel-major; a 3x3 and a 1x1 kernel, output channels not a multiple of 8.
    @Test(arguments: [(3, 5, 7, 13, 3, false), (2, 4, 6, 9, 3, true), (3, 3, 5, 10, 1, false)])
    func paddedPlaneConvolution(images: Int, cIn: Int, side: Int, oOut: Int, k: Int, channelMajor: Bool) throws {
        var rng = RandomGenerator(seed: 72, stream: UInt64(images * 100 + oOut))
        let h = side, w = side + 1, pitch = w + 2, taps = k * k
        let positions = h * pitch, rounded = (positions + 47) / 48 * 48
        let offsets: [Int64] = k == 3 ? (0..<9).map { Int64($0 / 3 * pitch + $0 % 3) } : [Int64(pitch + 1)]
        let inPlane = rounded + 2 * pitch + 2 + 48
        var x = [Float](repeating: 0, count: images * cIn * inPlane)
        let channelStride = channelMajor ? images * inPlane : inPlane, imageStride = channelMajor ? inPlane : cIn * inPlane
        for n in 0..<images {
            for c in 0..<cIn {
                for y in 0..<h { for xx in 0..<w { x[n * imageStride + c * channelStride + (y + 1) * pitch + xx + 1] = rng.normal() } }
            }
        }
        let wt = Self.randoms(oOut * cIn * taps, &rng, scale: 0.3), wpk = Self.pack(wt, o: oOut, c: cIn, taps: taps)
        let tasks = images * ((oOut + 7) / 8)
        for path in Self.paths {
            var out = [Float](repeating: .nan, count: images * oOut * rounded)
            let rc = csyn_conv_planes_strided_on(path, x, Int64(cIn), Int64(channelStride), Int64(imageStride), wpk, Int64(oOut),
                                                 offsets, Int64(taps), &out, Int64(rounded), Int64(positions), 0, Int64(tasks))
            #expect(rc == 0)
            var wrong = 0
            for n in 0..<images {
                for o in 0..<oOut {
                    for y in 0..<h {
                        for xx in 0..<w {
                            var s = 0.0, m = 0.0
                            for c in 0..<cIn {
                                for t in 0..<taps {
                                    let term = Double(wt[(o * cIn + c) * taps + t])
                                        * Double(x[n * imageStride + c * channelStride + y * pitch + xx + Int(offsets[t])])
                                    s += term
                                    m += abs(term)
                                }
                            }
                            if !Self.close(out[(n * oOut + o) * rounded + y * pitch + xx], s, magnitude: m) { wrong += 1 }
                        }
                    }
                }
            }
            #expect(wrong == 0, "path \(path): \(wrong) outputs wrong")
        }
    }

    /// The 3x3 weight gradient over more than one chunk of k (4096) with a ragged tail, and blocks of
    /// output and input channels that do not divide the counts.
    @Test func weightGradient3x3() throws {
        var rng = RandomGenerator(seed: 73)
        let oOut = 7, cIn = 19, kLen = 5003, pitch = 11
        let offsets = (0..<9).map { Int64($0 / 3 * pitch + $0 % 3) }
        let ldDy = kLen + 5, ldX = kLen + 2 * pitch + 2 + 16 + 3
        let dy = Self.randoms(oOut * ldDy, &rng), x = Self.randoms(cIn * ldX, &rng)
        let ob = Int(CSYN_WGRAD_OB), cb = Int(CSYN_WGRAD_CB)
        let tasks = (oOut + ob - 1) / ob * ((cIn + cb - 1) / cb)
        for path in Self.paths {
            var dw = [Float](repeating: .nan, count: oOut * cIn * 9)
            let rc = csyn_conv_wgrad3x3_on(path, dy, Int64(ldDy), x, Int64(ldX), Int64(kLen), offsets, Int64(oOut), Int64(cIn),
                                           &dw, 0, Int64(tasks))
            #expect(rc == 0)
            var wrong: [String] = []
            for o in 0..<oOut {
                for c in 0..<cIn {
                    for t in 0..<9 {
                        var s = 0.0, m = 0.0
                        for k in 0..<kLen {
                            let term = Double(dy[o * ldDy + k]) * Double(x[c * ldX + k + Int(offsets[t])])
                            s += term
                            m += abs(term)
                        }
                        let got = dw[(o * cIn + c) * 9 + t]
                        if !Self.close(got, s, magnitude: m) { wrong.append("[\(o), \(c), \(t)] \(got) vs \(s)") }
                    }
                }
            }
            #expect(wrong.isEmpty, "path \(path): \(wrong.count) wrong, first \(wrong.first ?? "")")
        }
    }

    /// Stacking and unstacking are copies and separate adds: every path gives the reference's bits.
    @Test func stackAndUnstackPlanes() throws {
        var rng = RandomGenerator(seed: 74)
        let images = 5, channels = 3, h = 5, w = 7, pitch = 9, slot = 6 * pitch + 2, lead = 2 * pitch + 3
        let ld = lead + images * slot + 37
        let src = Self.randoms(images * channels * h * w, &rng)
        var expected = [Float](repeating: 0, count: channels * ld)
        for c in 0..<channels {
            for n in 0..<images {
                for y in 0..<h { for x in 0..<w { expected[c * ld + lead + n * slot + y * pitch + x] = src[(n * channels + c) * h * w + y * w + x] } }
            }
        }
        // The output layout of a convolution over stacked planes, `group` images per output plane.
        let group = 2, outPlane = group * slot + 20
        let conv = Self.randoms((images + group - 1) / group * channels * outPlane, &rng)
        let bias = Self.randoms(channels, &rng), shift = Self.randoms(images * channels, &rng)
        let residual = Self.randoms(images * channels * h * w, &rng)
        var unstacked = [Float](repeating: 0, count: images * channels * h * w)
        for p in 0..<(images * channels) {
            let n = p / channels, o = p % channels
            for y in 0..<h {
                for x in 0..<w {
                    var v = conv[(n / group * channels + o) * outPlane + n % group * slot + y * pitch + x] + bias[o]
                    v += shift[p]
                    v += residual[p * h * w + y * w + x]
                    unstacked[p * h * w + y * w + x] = v
                }
            }
        }
        for path in Self.paths {
            var dst = [Float](repeating: .nan, count: channels * ld)
            #expect(csyn_stack_planes_on(path, src, Int64(images), Int64(channels), Int64(h), Int64(w), Int64(pitch), Int64(slot),
                                         Int64(lead), Int64(ld), &dst, 0, Int64(channels)) == 0)
            #expect(dst.map(\.bitPattern) == expected.map(\.bitPattern), "stack, path \(path)")
            var out = [Float](repeating: .nan, count: unstacked.count)
            #expect(csyn_unstack_planes_on(path, conv, Int64(channels), Int64(h), Int64(w), Int64(pitch), Int64(slot), Int64(group),
                                           Int64(outPlane), bias, shift, residual, &out, 0, Int64(images * channels)) == 0)
            #expect(out.map(\.bitPattern) == unstacked.map(\.bitPattern), "unstack, path \(path)")
        }
    }

    // MARK: GroupNorm + SiLU

    /// Forward and backward, with and without the fused SiLU, over groups whose size is not a multiple
    /// of 16, against the formulas of csynnorm.h in double precision.
    @Test(arguments: [false, true])
    func groupNorm(silu: Bool) throws {
        var rng = RandomGenerator(seed: 75, stream: silu ? 1 : 0)
        let n = 3, c = 12, s = 37, g = 4, eps: Float = 1e-5, cg = c / g, groups = n * g
        let x = (0..<(n * c * s)).map { _ in rng.normal() * 2 + 0.5 }, dy = Self.randoms(n * c * s, &rng)
        let w = Self.randoms(c, &rng), b = Self.randoms(c, &rng)
        // Reference: statistics, z, y, then the backward's dz, partial sums and dx.
        var mean = [Double](repeating: 0, count: groups), rstd = mean
        var y = [Double](repeating: 0, count: x.count), dx = y, dz = y, norm = y
        var dwPart = [Double](repeating: 0, count: n * c), dbPart = dwPart
        for i in 0..<groups {
            let base = i * cg * s, vals = (0..<(cg * s)).map { Double(x[base + $0]) }
            let mu = vals.reduce(0, +) / Double(vals.count)
            let v = vals.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / Double(vals.count)
            mean[i] = mu
            rstd[i] = 1 / (v + Double(eps)).squareRoot()
            var sumD = 0.0, sumDN = 0.0
            for j in 0..<(cg * s) {
                let ch = (i % g) * cg + j / s, idx = base + j
                norm[idx] = (vals[j] - mu) * rstd[i]
                let z = norm[idx] * Double(w[ch]) + Double(b[ch]), sg = 1 / (1 + exp(-z))
                y[idx] = silu ? z * sg : z
                dz[idx] = silu ? Double(dy[idx]) * sg * (1 + z * (1 - sg)) : Double(dy[idx])
                dwPart[i / g * c + ch] += dz[idx] * norm[idx]
                dbPart[i / g * c + ch] += dz[idx]
                sumD += dz[idx] * Double(w[ch])
                sumDN += dz[idx] * Double(w[ch]) * norm[idx]
            }
            let m = Double(cg * s)
            for j in 0..<(cg * s) {
                let ch = (i % g) * cg + j / s, idx = base + j
                dx[idx] = rstd[i] * (dz[idx] * Double(w[ch]) - sumD / m - norm[idx] * sumDN / m)
            }
        }
        for path in Self.paths {
            var yo = [Float](repeating: .nan, count: x.count), mo = [Float](repeating: .nan, count: groups), ro = mo
            #expect(csyn_groupnorm_forward_on(path, x, w, b, &yo, &mo, &ro, Int64(c), Int64(s), Int64(g), eps, silu ? 1 : 0, 0,
                                              Int64(groups)) == 0)
            #expect((0..<groups).allSatisfy { abs(Double(mo[$0]) - mean[$0]) <= 1e-5 && abs(Double(ro[$0]) / rstd[$0] - 1) <= 1e-5 },
                    "path \(path): statistics")
            let badY = (0..<x.count).filter { abs(Double(yo[$0]) - y[$0]) > 2e-5 * (1 + abs(y[$0])) }
            #expect(badY.isEmpty, "path \(path): \(badY.count) outputs wrong, first \(badY.first.map { "\(yo[$0]) vs \(y[$0])" } ?? "")")
            var dxo = [Float](repeating: .nan, count: x.count), dwo = [Float](repeating: .nan, count: n * c), dbo = dwo
            #expect(csyn_groupnorm_backward_on(path, dy, x, w, b, mo, ro, &dxo, &dwo, &dbo, Int64(c), Int64(s), Int64(g),
                                               silu ? 1 : 0, 0, Int64(groups)) == 0)
            let dxScale = dx.map(abs).max() ?? 1
            let badDx = (0..<x.count).filter { abs(Double(dxo[$0]) - dx[$0]) > 1e-4 * dxScale }
            #expect(badDx.isEmpty, "path \(path): \(badDx.count) input gradients wrong, first \(badDx.first.map { "\(dxo[$0]) vs \(dx[$0])" } ?? "")")
            let badW = (0..<(n * c)).filter { abs(Double(dwo[$0]) - dwPart[$0]) > 1e-4 * Double(s) || abs(Double(dbo[$0]) - dbPart[$0]) > 1e-4 * Double(s) }
            #expect(badW.isEmpty, "path \(path): \(badW.count) partial sums wrong")
        }
    }

    // MARK: attention and GELU

    /// Tiled attention forward (output and log-sum-exp) and backward (dq, dk, dv) with padded rows and
    /// token counts that leave partial tiles, against softmax attention in double precision: widths with
    /// and without a ragged end of the 16 x 16 transposes, and a ViT-nano head (65 tokens, two query blocks).
    @Test(arguments: [(37, 53, 24, 20), (65, 65, 32, 32), (17, 17, 16, 16)])
    func flashAttention(_ geometry: (Int, Int, Int, Int)) throws {
        var rng = RandomGenerator(seed: 76)
        let (nq, nk, d, dv) = geometry
        let scale = 1 / Float(d).squareRoot()
        let ldq = d + 3, ldk = d + 5, ldv = dv + 1, ldo = dv + 2
        let q = Self.randoms(nq * ldq, &rng), k = Self.randoms(nk * ldk, &rng), v = Self.randoms(nk * ldv, &rng)
        let dout = Self.randoms(nq * ldo, &rng)
        var p = [[Double]](repeating: [Double](repeating: 0, count: nk), count: nq), lse = [Double](repeating: 0, count: nq)
        var o = [[Double]](repeating: [Double](repeating: 0, count: dv), count: nq)
        for i in 0..<nq {
            let s = (0..<nk).map { j in Double(scale) * (0..<d).reduce(0.0) { $0 + Double(q[i * ldq + $1]) * Double(k[j * ldk + $1]) } }
            let mx = s.max() ?? 0, e = s.map { exp($0 - mx) }, z = e.reduce(0, +)
            lse[i] = mx + log(z)
            p[i] = e.map { $0 / z }
            for c in 0..<dv { o[i][c] = (0..<nk).reduce(0.0) { $0 + p[i][$1] * Double(v[$1 * ldv + c]) } }
        }
        var dq = [[Double]](repeating: [Double](repeating: 0, count: d), count: nq)
        var dk = [[Double]](repeating: [Double](repeating: 0, count: d), count: nk)
        var dvr = [[Double]](repeating: [Double](repeating: 0, count: dv), count: nk)
        for i in 0..<nq {
            let rowDot = (0..<dv).reduce(0.0) { $0 + Double(dout[i * ldo + $1]) * o[i][$1] }
            for j in 0..<nk {
                let dp = (0..<dv).reduce(0.0) { $0 + Double(dout[i * ldo + $1]) * Double(v[j * ldv + $1]) }
                let ds = p[i][j] * (dp - rowDot) * Double(scale)
                for c in 0..<d {
                    dq[i][c] += ds * Double(k[j * ldk + c])
                    dk[j][c] += ds * Double(q[i * ldq + c])
                }
                for c in 0..<dv { dvr[j][c] += p[i][j] * Double(dout[i * ldo + c]) }
            }
        }
        func check(_ got: [Float], _ ld: Int, _ ref: [[Double]], _ what: String, _ path: Int32) {
            let scaleRef = ref.joined().map(abs).max() ?? 1
            var wrong = 0
            for (r, row) in ref.enumerated() { for (c, e) in row.enumerated() where abs(Double(got[r * ld + c]) - e) > 2e-5 * (scaleRef + abs(e)) { wrong += 1 } }
            #expect(wrong == 0, "path \(path): \(wrong) of \(what) wrong")
        }
        for path in Self.paths {
            var out = [Float](repeating: .nan, count: nq * ldo), l = [Float](repeating: .nan, count: nq)
            #expect(csyn_flash_attention_forward_on(path, q, Int64(ldq), k, Int64(ldk), v, Int64(ldv), &out, Int64(ldo), &l,
                                                    Int64(nq), Int64(nk), Int64(d), Int64(dv), scale) == 0)
            check(out, ldo, o, "outputs", path)
            #expect((0..<nq).allSatisfy { abs(Double(l[$0]) - lse[$0]) <= 1e-5 * (1 + abs(lse[$0])) }, "path \(path): log-sum-exp")
            var gq = [Float](repeating: .nan, count: nq * ldq), gk = [Float](repeating: .nan, count: nk * ldk)
            var gv = [Float](repeating: .nan, count: nk * ldv)
            #expect(csyn_flash_attention_backward_on(path, q, Int64(ldq), k, Int64(ldk), v, Int64(ldv), out, Int64(ldo), l, dout,
                                                     Int64(ldo), &gq, Int64(ldq), &gk, Int64(ldk), &gv, Int64(ldv), Int64(nq),
                                                     Int64(nk), Int64(d), Int64(dv), scale) == 0)
            check(gq, ldq, dq, "dq", path)
            check(gk, ldk, dk, "dk", path)
            check(gv, ldv, dvr, "dv", path)
        }
    }

    /// Row log-sum-exps of long, short and ragged rows against double precision, and the special rows:
    /// all -inf gives -inf, a +inf gives +inf, a NaN (in the vector part or the ragged end) gives NaN.
    @Test func logsumexpRows() throws {
        var rng = RandomGenerator(seed: 78)
        for n in [1, 15, 16, 17, 100, 1000] {
            let rows = 5
            var x = Self.randoms(rows * n, &rng, scale: 10)
            x[0] = -.infinity  // an -inf element alone contributes nothing
            var want = (0..<rows).map { r -> Double in
                let row = x[(r * n)..<((r + 1) * n)].map(Double.init), m = row.max() ?? 0
                return m == -.infinity ? m : m + log(row.reduce(0.0) { $0 + exp($1 - m) })
            }
            for i in 0..<n { x[1 * n + i] = -.infinity }
            want[1] = -.infinity
            x[2 * n + n / 2] = .infinity
            want[2] = .infinity
            x[3 * n + n - 1] = .nan
            want[3] = .nan
            for path in Self.paths {
                var out = [Float](repeating: 0, count: rows)
                #expect(csyn_logsumexp_rows_on(path, x, &out, Int64(rows), Int64(n)) == 0)
                for r in 0..<rows {
                    let ok = want[r].isNaN ? out[r].isNaN
                        : want[r].isInfinite ? Double(out[r]) == want[r] : abs(Double(out[r]) - want[r]) <= 1e-6 * (1 + abs(want[r]))
                    #expect(ok, "path \(path), n \(n), row \(r): \(out[r]) vs \(want[r])")
                }
            }
        }
        // A NaN inside the 16-lane part of a row, and the rows split into pieces across threads.
        var x = Self.randoms(40000, &rng, scale: 5)
        let m = Double(x.max() ?? 0), want = m + log(x.reduce(0.0) { $0 + exp(Double($1) - m) })
        let got = Tensor(shape: [1, 40000], data: x).logsumexp(axis: 1).scalars[0]
        #expect(abs(Double(got) - want) <= 1e-6 * (1 + abs(want)), "split row: \(got) vs \(want)")
        x[7] = .nan
        #expect(Tensor(shape: [1, 40000], data: x).logsumexp(axis: 1).scalars[0].isNaN)
        for path in Self.paths {
            var out: Float = 0
            #expect(csyn_logsumexp_rows_on(path, x, &out, 1, 32) == 0 && out.isNaN, "path \(path): NaN in the vector part")
        }
    }

    /// The exact GELU and its derivative, including the clamped tails and a length with a ragged end.
    @Test func gelu() throws {
        var rng = RandomGenerator(seed: 77)
        let x = (0..<1001).map { i in i < 40 ? Float(i - 20) * 0.5 : rng.normal() * 3 }, g = Self.randoms(x.count, &rng)
        for path in Self.paths {
            var y = [Float](repeating: .nan, count: x.count), dx = y
            #expect(csyn_gelu_forward_on(path, x, &y, Int64(x.count)) == 0)
            #expect(csyn_gelu_backward_on(path, g, x, &dx, Int64(x.count)) == 0)
            var wrong: [String] = []
            for i in 0..<x.count {
                let xd = Double(x[i]), cdf = 0.5 * (1 + erf(xd / 2.0.squareRoot())), pdf = exp(-xd * xd / 2) / (2 * Double.pi).squareRoot()
                let fy = xd * cdf, fdx = Double(g[i]) * (cdf + xd * pdf)
                if abs(Double(y[i]) - fy) > 1e-6 * (1 + abs(fy)) { wrong.append("y(\(x[i])) \(y[i]) vs \(fy)") }
                if abs(Double(dx[i]) - fdx) > 1e-6 * (1 + abs(fdx)) { wrong.append("dx(\(x[i])) \(dx[i]) vs \(fdx)") }
            }
            #expect(wrong.isEmpty, "path \(path): \(wrong.count) wrong, first \(wrong.first ?? "")")
        }
    }

    /// An `_on` call for a path outside the known ones is refused instead of run.
    @Test func unknownPathIsRefused() {
        var y = [Float](repeating: 0, count: 4)
        #expect(csyn_gelu_forward_on(7, [1, 2, 3, 4], &y, 4) == -1)
        #expect(csyn_gelu_forward_on(-1, [1, 2, 3, 4], &y, 4) == -1)
        #expect(csyn_logsumexp_rows_on(7, [1, 2, 3, 4], &y, 1, 4) == -1)
    }
}
