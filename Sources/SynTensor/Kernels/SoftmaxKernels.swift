import CSynKernels
import Foundation

// Row-wise softmax family over the last dimension of dense [rows, n] buffers.

/// y[r, :] = softmax(x[r, :]), or log-softmax when `log` is set. With `zeroBlockedRows`, a row that is
/// entirely -inf gives zeros instead of NaN (PyTorch's `_safe_softmax`, used by scaled_dot_product_attention).
func softmaxForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, n: Int, log: Bool,
                    zeroBlockedRows: Bool = false) {
    let xs = SendablePointer(UnsafeMutablePointer(mutating: x)), ys = SendablePointer(y)
    parallelRows(rows: rows, work: rows * n * 8) { range in
        for r in range {
            let xr = xs.p + r * n, yr = ys.p + r * n
            var m = rowMax(xr, n)
            if m == -Float.infinity {
                if zeroBlockedRows && !log {
                    for i in 0..<n { yr[i] = 0 }
                    continue
                }
                m = 0  // fully masked row: gives NaN below, like F.softmax
            }
            for i in 0..<n { yr[i] = fastExp(xr[i] - m) }
            let s = rowSum(yr, n)
            if log {
                let ls = Foundation.log(s) + m
                for i in 0..<n { yr[i] = xr[i] - ls }
            } else {
                let inv = 1 / s
                for i in 0..<n { yr[i] *= inv }
            }
        }
    }
}

/// dx = y * (g - <g, y>) for softmax; dx = g - exp(y) * sum(g) for log-softmax.
func softmaxBackward(_ g: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, rows: Int, n: Int, log: Bool) {
    let gs = SendablePointer(UnsafeMutablePointer(mutating: g)), ys = SendablePointer(UnsafeMutablePointer(mutating: y))
    let ds = SendablePointer(dx)
    parallelRows(rows: rows, work: rows * n * 4) { range in
        for r in range {
            let gr = gs.p + r * n, yr = ys.p + r * n, dr = ds.p + r * n
            if log {
                let s = rowSum(gr, n)
                for i in 0..<n { dr[i] = gr[i] - fastExp(yr[i]) * s }
            } else {
                let s = rowDot(gr, yr, n)
                for i in 0..<n { dr[i] = yr[i] * (gr[i] - s) }
            }
        }
    }
}

/// out[r] = log sum_i exp(x[r, i]), in the vector kernel of Sources/CSynKernels/pointwise.c.
///
/// A few long rows (Sinkhorn-Knopp's total mass over every score) are split into pieces whose
/// log-sum-exps are combined, so both threads work on them.
func logsumexpForward(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, rows: Int, n: Int) {
    let xs = SendablePointer(UnsafeMutablePointer(mutating: x)), os = SendablePointer(out)
    let threads = Threading.count
    if rows < threads && n >= 1 << 15 && threads > 1 {
        let pieces = threads * 4
        let part = TensorStorage(uninitializedCount: rows * pieces)
        let ps = SendablePointer(part.pointer)
        parallelTasks(rows * pieces, work: rows * n * 8) { range in
            for t in range {
                let r = t / pieces, c = t % pieces
                let lo = n * c / pieces, hi = n * (c + 1) / pieces
                csyn_logsumexp_rows(xs.p + r * n + lo, ps.p + t, 1, Int64(hi - lo))
            }
        }
        for r in 0..<rows { csyn_logsumexp_rows(ps.p + r * pieces, os.p + r, 1, Int64(pieces)) }
        withExtendedLifetime(part) {}
        return
    }
    parallelRows(rows: rows, work: rows * n * 8) { range in
        csyn_logsumexp_rows(xs.p + range.lowerBound * n, os.p + range.lowerBound, Int64(range.count), Int64(n))
    }
}
