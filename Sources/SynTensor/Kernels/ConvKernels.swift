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

/// One row of im2col's layout: `xRow` is the element offset of input row iy in x (nil where iy
/// falls in the padding), `colRow` that of the column row in col, `off` the column shift (output
/// column ox reads input column ox*sw + off). A protocol rather than a closure so that each kernel
/// gets its own specialized, inlined copy of the shared loop nest.
private protocol ColumnRowKernel {
    func callAsFunction(xRow: Int?, colRow: Int, off: Int)
}

/// Visits im2col's layout row by row: for every input channel (in parallel; a channel's input
/// plane and its column rows belong to it alone), kernel offset (ki, kj), image n and output row
/// oy, with iy = oy*sh - ph + ki*dh and off = kj*dw - pw.
@inline(__always)
private func forEachColumnRow<Kernel: ColumnRowKernel>(_ g: Conv2DGeometry, _ kernel: Kernel) {
    let HoWo = g.Ho * g.Wo, cols = g.N * HoWo
    parallelRows(rows: g.C, work: g.C * g.kh * g.kw * cols) { range in
        for cAll in range {
            let grp = cAll / g.cg, c = cAll % g.cg
            for ki in 0..<g.kh {
                for kj in 0..<g.kw {
                    let colBase = (grp * g.K + (c * g.kh + ki) * g.kw + kj) * cols
                    let off = kj * g.dw - g.pw
                    for n in 0..<g.N {
                        let plane = (n * g.C + cAll) * g.H * g.W
                        for oy in 0..<g.Ho {
                            let iy = oy * g.sh - g.ph + ki * g.dh
                            kernel(xRow: iy >= 0 && iy < g.H ? plane + iy * g.W : nil, colRow: colBase + n * HoWo + oy * g.Wo, off: off)
                        }
                    }
                }
            }
        }
    }
}

/// Copies input rows into column rows (zeros in the padding).
private struct Im2colRow: ColumnRowKernel {
    let x: UnsafePointer<Float>, col: UnsafeMutablePointer<Float>, g: Conv2DGeometry

    @inline(__always)
    func callAsFunction(xRow: Int?, colRow: Int, off: Int) {
        let drow = col + colRow
        guard let xRow else {
            for ox in 0..<g.Wo { drow[ox] = 0 }
            return
        }
        let srow = x + xRow
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

/// Adds column rows into input-gradient rows (nothing for the padding).
private struct Col2imRow: ColumnRowKernel {
    let col: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, g: Conv2DGeometry

    @inline(__always)
    func callAsFunction(xRow: Int?, colRow: Int, off: Int) {
        guard let xRow else { return }
        let drow = dx + xRow
        let srow = col + colRow
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

/// im2col for all images: col[g][(c, ki, kj), (n, oy, ox)] = x[n, g*cg + c, oy*sh - ph + ki*dh, ox*sw - pw + kj*dw].
/// col: [groups, K, N * Ho * Wo]. Parallel over (g, c) rows, which write disjoint memory.
func im2col(_ x: UnsafePointer<Float>, _ col: UnsafeMutablePointer<Float>, _ g: Conv2DGeometry) {
    forEachColumnRow(g, Im2colRow(x: x, col: col, g: g))
}

/// col2im (adjoint of im2col): dx[n, c, iy, ix] += dcol[...]; dx must be zeroed first.
/// Parallel over channels: each channel plane receives only its own rows.
func col2im(_ col: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, _ g: Conv2DGeometry) {
    forEachColumnRow(g, Col2imRow(col: col, dx: dx, g: g))
}
