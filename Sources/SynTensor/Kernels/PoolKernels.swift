import Foundation

/// 2-D pooling geometry on [N*C, H, W] planes.
struct Pool2DGeometry {
    let planes: Int, H: Int, W: Int
    let kh: Int, kw: Int, sh: Int, sw: Int, ph: Int, pw: Int
    var Ho: Int { (H + 2 * ph - kh) / sh + 1 }
    var Wo: Int { (W + 2 * pw - kw) / sw + 1 }
}

/// Max pooling; stores the flat argmax (within the plane) of each window for backward.
func maxPool2dForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ idx: UnsafeMutablePointer<Int32>, _ g: Pool2DGeometry) {
    let xs = UncheckedBox(x), ys = SendablePointer(y), ids = UncheckedBox(idx)
    parallelRows(rows: g.planes, work: g.planes * g.Ho * g.Wo * g.kh * g.kw) { range in
        for p in range {
            let plane = xs.value + p * g.H * g.W
            for oy in 0..<g.Ho {
                for ox in 0..<g.Wo {
                    var best = -Float.infinity, bi: Int32 = -1
                    for ki in 0..<g.kh {
                        let iy = oy * g.sh - g.ph + ki
                        if iy < 0 || iy >= g.H { continue }
                        for kj in 0..<g.kw {
                            let ix = ox * g.sw - g.pw + kj
                            if ix < 0 || ix >= g.W { continue }
                            let v = plane[iy * g.W + ix]
                            if v > best || bi < 0 || v.isNaN { best = v; bi = Int32(iy * g.W + ix) }
                            if v.isNaN { break }
                        }
                    }
                    let o = (p * g.Ho + oy) * g.Wo + ox
                    ys.p[o] = best
                    ids.value[o] = bi
                }
            }
        }
    }
}

/// Average pooling; `countIncludePad` divides by the full window (PyTorch's default) or by the valid part.
func avgPool2dForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ g: Pool2DGeometry, countIncludePad: Bool) {
    let xs = UncheckedBox(x), ys = SendablePointer(y)
    parallelRows(rows: g.planes, work: g.planes * g.Ho * g.Wo * g.kh * g.kw) { range in
        for p in range {
            let plane = xs.value + p * g.H * g.W
            for oy in 0..<g.Ho {
                for ox in 0..<g.Wo {
                    var s: Float = 0
                    var valid = 0
                    for ki in 0..<g.kh {
                        let iy = oy * g.sh - g.ph + ki
                        if iy < 0 || iy >= g.H { continue }
                        for kj in 0..<g.kw {
                            let ix = ox * g.sw - g.pw + kj
                            if ix < 0 || ix >= g.W { continue }
                            s += plane[iy * g.W + ix]
                            valid += 1
                        }
                    }
                    ys.p[(p * g.Ho + oy) * g.Wo + ox] = s / Float(countIncludePad ? poolDivisor(g, oy, ox) : Swift.max(valid, 1))
                }
            }
        }
    }
}

/// Window size clipped to the padded input (PyTorch's count_include_pad divisor).
@inline(__always) func poolDivisor(_ g: Pool2DGeometry, _ oy: Int, _ ox: Int) -> Int {
    let hs = oy * g.sh - g.ph, ws = ox * g.sw - g.pw
    let he = Swift.min(hs + g.kh, g.H + g.ph), we = Swift.min(ws + g.kw, g.W + g.pw)
    return (he - hs) * (we - ws)
}

/// Average-pool backward: spreads each output gradient evenly over its window.
func avgPool2dBackward(_ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, _ g: Pool2DGeometry, countIncludePad: Bool) {
    let dys = UncheckedBox(dy), dxs = SendablePointer(dx)
    parallelRows(rows: g.planes, work: g.planes * g.Ho * g.Wo * g.kh * g.kw) { range in
        for p in range {
            let plane = dxs.p + p * g.H * g.W
            for oy in 0..<g.Ho {
                for ox in 0..<g.Wo {
                    var valid = 0
                    if !countIncludePad {
                        for ki in 0..<g.kh {
                            let iy = oy * g.sh - g.ph + ki
                            if iy < 0 || iy >= g.H { continue }
                            for kj in 0..<g.kw {
                                let ix = ox * g.sw - g.pw + kj
                                if ix >= 0 && ix < g.W { valid += 1 }
                            }
                        }
                    }
                    let v = dys.value[(p * g.Ho + oy) * g.Wo + ox] / Float(countIncludePad ? poolDivisor(g, oy, ox) : Swift.max(valid, 1))
                    for ki in 0..<g.kh {
                        let iy = oy * g.sh - g.ph + ki
                        if iy < 0 || iy >= g.H { continue }
                        for kj in 0..<g.kw {
                            let ix = ox * g.sw - g.pw + kj
                            if ix < 0 || ix >= g.W { continue }
                            plane[iy * g.W + ix] += v
                        }
                    }
                }
            }
        }
    }
}

/// One output coordinate's interpolation taps: up to 4 source indices and weights.
struct ResizeTaps {
    var index: [Int32]
    var weight: [Float]
    var taps: Int
}

/// Resampling modes of `resized` (PyTorch `F.interpolate`, no antialiasing).
public enum ResizeMode: String, Sendable, Codable {
    /// Nearest neighbour (PyTorch "nearest": floor(dst * in / out)).
    case nearest
    /// Bilinear.
    case bilinear
    /// Bicubic convolution with A = -0.75.
    case bicubic
}

/// Taps for resizing `inSize` to `outSize` along one axis.
func resizeTaps(inSize: Int, outSize: Int, mode: ResizeMode, alignCorners: Bool) -> ResizeTaps {
    let taps = mode == .nearest ? 1 : (mode == .bilinear ? 2 : 4)
    var index = [Int32](repeating: 0, count: outSize * taps)
    var weight = [Float](repeating: 0, count: outSize * taps)
    // PyTorch computes the source coordinate in float (area_pixel_compute_source_index).
    let scale: Float
    if alignCorners {
        scale = outSize > 1 ? Float(inSize - 1) / Float(outSize - 1) : 0
    } else {
        scale = Float(inSize) / Float(outSize)
    }
    for o in 0..<outSize {
        switch mode {
        case .nearest:
            let src = Swift.min(Int((Float(o) * (Float(inSize) / Float(outSize))).rounded(.down)), inSize - 1)
            index[o] = Int32(src)
            weight[o] = 1
        case .bilinear:
            var src = alignCorners ? scale * Float(o) : scale * (Float(o) + 0.5) - 0.5
            if src < 0 { src = 0 }
            let i0 = Swift.min(Int(src), inSize - 1)
            let i1 = Swift.min(i0 + 1, inSize - 1)
            let l1 = src - Float(i0), l0 = 1 - l1
            index[o * 2] = Int32(i0); weight[o * 2] = l0
            index[o * 2 + 1] = Int32(i1); weight[o * 2 + 1] = l1
        case .bicubic:
            let src = alignCorners ? scale * Float(o) : scale * (Float(o) + 0.5) - 0.5
            let fl = src.rounded(.down)
            let t = src - fl
            let i = Int(fl)
            let A: Float = -0.75
            func near(_ x: Float) -> Float { ((A + 2) * x - (A + 3)) * x * x + 1 }
            func far(_ x: Float) -> Float { ((A * x - 5 * A) * x + 8 * A) * x - 4 * A }
            let w = [far(t + 1), near(t), near(1 - t), far(2 - t)]
            for k in 0..<4 {
                index[o * 4 + k] = Int32(Swift.min(Swift.max(i - 1 + k, 0), inSize - 1))
                weight[o * 4 + k] = w[k]
            }
        }
    }
    return ResizeTaps(index: index, weight: weight, taps: taps)
}

/// Separable resize of [planes, H, W] to [planes, Ho, Wo]: along W into a scratch row block, then along H.
func resizeForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, planes: Int, H: Int, W: Int, Ho: Int, Wo: Int,
                   ty: ResizeTaps, tx: ResizeTaps) {
    let xs = UncheckedBox(x), ys = SendablePointer(y)
    if tx.taps == 1 && ty.taps == 1 {
        // One tap per axis (nearest): each output straight from its source pixel, with the two passes'
        // arithmetic (0 + w * v, twice) so the values equal the general path's bit for bit.
        parallelRows(rows: planes, work: planes * Ho * Wo) { range in
            tx.index.withUnsafeBufferPointer { ix in
                tx.weight.withUnsafeBufferPointer { wx in
                    for p in range {
                        let src = xs.value + p * H * W, dst = ys.p + p * Ho * Wo
                        for o in 0..<Ho {
                            let row = src + Int(ty.index[o]) * W, wy = ty.weight[o], d = dst + o * Wo
                            for j in 0..<Wo {
                                let t: Float = 0 + wx[j] * row[Int(ix[j])]
                                d[j] = 0 + wy * t
                            }
                        }
                    }
                }
            }
        }
        return
    }
    parallelRows(rows: planes, work: planes * (H * Wo * tx.taps + Ho * Wo * ty.taps)) { range in
        var tmp = [Float](repeating: 0, count: H * Wo)
        tmp.withUnsafeMutableBufferPointer { t in
            for p in range {
                let src = xs.value + p * H * W
                for r in 0..<H {
                    for o in 0..<Wo {
                        var s: Float = 0
                        for k in 0..<tx.taps { s += tx.weight[o * tx.taps + k] * src[r * W + Int(tx.index[o * tx.taps + k])] }
                        t[r * Wo + o] = s
                    }
                }
                let dst = ys.p + p * Ho * Wo
                for o in 0..<Ho {
                    let d = dst + o * Wo
                    for j in 0..<Wo { d[j] = 0 }
                    for k in 0..<ty.taps {
                        let w = ty.weight[o * ty.taps + k]
                        let row = t.baseAddress! + Int(ty.index[o * ty.taps + k]) * Wo
                        for j in 0..<Wo { d[j] += w * row[j] }
                    }
                }
            }
        }
    }
}

/// Adjoint of `resizeForward`: scatters gradients back through both passes.
func resizeBackward(_ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, planes: Int, H: Int, W: Int, Ho: Int, Wo: Int,
                    ty: ResizeTaps, tx: ResizeTaps) {
    let dys = UncheckedBox(dy), dxs = SendablePointer(dx)
    parallelRows(rows: planes, work: planes * (H * Wo * tx.taps + Ho * Wo * ty.taps)) { range in
        var tmp = [Float](repeating: 0, count: H * Wo)
        tmp.withUnsafeMutableBufferPointer { t in
            for p in range {
                for i in 0..<(H * Wo) { t[i] = 0 }
                let g = dys.value + p * Ho * Wo
                for o in 0..<Ho {
                    let gr = g + o * Wo
                    for k in 0..<ty.taps {
                        let w = ty.weight[o * ty.taps + k]
                        let row = t.baseAddress! + Int(ty.index[o * ty.taps + k]) * Wo
                        for j in 0..<Wo { row[j] += w * gr[j] }
                    }
                }
                let d = dxs.p + p * H * W
                for i in 0..<(H * W) { d[i] = 0 }
                for r in 0..<H {
                    for o in 0..<Wo {
                        let v = t[r * Wo + o]
                        for k in 0..<tx.taps { d[r * W + Int(tx.index[o * tx.taps + k])] += tx.weight[o * tx.taps + k] * v }
                    }
                }
            }
        }
    }
}
