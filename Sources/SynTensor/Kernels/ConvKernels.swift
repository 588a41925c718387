import Foundation

/// Geometry of a 2-D convolution (PyTorch conventions: symmetric zero padding, dilation).
struct Conv2DGeometry {
    let N: Int, C: Int, H: Int, W: Int
    let O: Int, kh: Int, kw: Int
    let sh: Int, sw: Int, ph: Int, pw: Int, dh: Int, dw: Int
    let groups: Int
    var Ho: Int { (H + 2 * ph - dh * (kh - 1) - 1) / sh + 1 }
    var Wo: Int { (W + 2 * pw - dw * (kw - 1) - 1) / sw + 1 }
    var cg: Int { C / groups }
    var og: Int { O / groups }
    /// Rows of the column matrix per group: cg * kh * kw.
    var K: Int { cg * kh * kw }
}

/// im2col for all images: col[g][(c, ki, kj), (n, oy, ox)] = x[n, g*cg + c, oy*sh - ph + ki*dh, ox*sw - pw + kj*dw].
/// col: [groups, K, N * Ho * Wo]. Parallel over (g, c) rows, which write disjoint memory.
func im2col(_ x: UnsafePointer<Float>, _ col: UnsafeMutablePointer<Float>, _ g: Conv2DGeometry) {
    let HoWo = g.Ho * g.Wo, cols = g.N * HoWo
    let xs = UncheckedBox(x), cs = SendablePointer(col)
    parallelRows(rows: g.C, work: g.C * g.kh * g.kw * cols) { range in
        for cAll in range {
            let grp = cAll / g.cg, c = cAll % g.cg
            for ki in 0..<g.kh {
                for kj in 0..<g.kw {
                    let row = (c * g.kh + ki) * g.kw + kj
                    let dst = cs.p + (grp * g.K + row) * cols
                    for n in 0..<g.N {
                        let plane = xs.value + (n * g.C + cAll) * g.H * g.W
                        let d = dst + n * HoWo
                        for oy in 0..<g.Ho {
                            let iy = oy * g.sh - g.ph + ki * g.dh
                            let drow = d + oy * g.Wo
                            if iy < 0 || iy >= g.H {
                                for ox in 0..<g.Wo { drow[ox] = 0 }
                                continue
                            }
                            let srow = plane + iy * g.W
                            let off = kj * g.dw - g.pw
                            if g.sw == 1 {
                                // Valid ox range where 0 <= ox + off < W.
                                let lo = Swift.max(0, -off), hi = Swift.min(g.Wo, g.W - off)
                                for ox in 0..<Swift.min(lo, g.Wo) { drow[ox] = 0 }
                                if hi > lo { (drow + lo).update(from: srow + lo + off, count: hi - lo) }
                                for ox in Swift.max(hi, lo)..<g.Wo { drow[ox] = 0 }
                            } else {
                                for ox in 0..<g.Wo {
                                    let ix = ox * g.sw + off
                                    drow[ox] = (ix >= 0 && ix < g.W) ? srow[ix] : 0
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// col2im (adjoint of im2col): dx[n, c, iy, ix] += dcol[...]; dx must be zeroed first.
/// Parallel over channels: each channel plane receives only its own rows.
func col2im(_ col: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, _ g: Conv2DGeometry) {
    let HoWo = g.Ho * g.Wo, cols = g.N * HoWo
    let cs = UncheckedBox(col), xs = SendablePointer(dx)
    parallelRows(rows: g.C, work: g.C * g.kh * g.kw * cols) { range in
        for cAll in range {
            let grp = cAll / g.cg, c = cAll % g.cg
            for ki in 0..<g.kh {
                for kj in 0..<g.kw {
                    let row = (c * g.kh + ki) * g.kw + kj
                    let src = cs.value + (grp * g.K + row) * cols
                    for n in 0..<g.N {
                        let plane = xs.p + (n * g.C + cAll) * g.H * g.W
                        let s = src + n * HoWo
                        for oy in 0..<g.Ho {
                            let iy = oy * g.sh - g.ph + ki * g.dh
                            if iy < 0 || iy >= g.H { continue }
                            let drow = plane + iy * g.W
                            let srow = s + oy * g.Wo
                            let off = kj * g.dw - g.pw
                            if g.sw == 1 {
                                // Valid ox range where 0 <= ox + off < W: a branch-free, vectorizable add.
                                let lo = Swift.max(0, -off), hi = Swift.min(g.Wo, g.W - off)
                                if hi > lo {
                                    let d = drow + off
                                    for ox in lo..<hi { d[ox] += srow[ox] }
                                }
                            } else {
                                for ox in 0..<g.Wo {
                                    let ix = ox * g.sw + off
                                    if ix >= 0 && ix < g.W { drow[ix] += srow[ox] }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
