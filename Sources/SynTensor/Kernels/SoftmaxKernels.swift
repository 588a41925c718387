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

/// out[r] = log sum_i exp(x[r, i]).
func logsumexpForward(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, rows: Int, n: Int) {
    let xs = SendablePointer(UnsafeMutablePointer(mutating: x)), os = SendablePointer(out)
    parallelRows(rows: rows, work: rows * n * 8) { range in
        for r in range {
            let xr = xs.p + r * n
            var m = -Float.infinity
            for i in 0..<n { m = Swift.max(m, xr[i]) }
            if m == -Float.infinity || m == Float.infinity { os.p[r] = m; continue }
            var s: Float = 0
            for i in 0..<n { s += fastExp(xr[i] - m) }
            os.p[r] = Foundation.log(s) + m
        }
    }
}
