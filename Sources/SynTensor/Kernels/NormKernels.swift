import Foundation

// Fused normalization kernels (llm.c style): the forward pass saves per-row mean and 1/std, the
// backward pass recomputes the normalized value from them instead of storing it.

/// LayerNorm forward over rows of `n`: y = (x - mean) * rstd * w + b.
/// x, y: [rows, n]; w, b: [n] or nil; mean, rstd: [rows] (saved for backward).
/// With `residual` (a pair of an addend [rows, n] and an output [rows, n]) the rows normalized are
/// x + addend, written to the output first: a pre-norm transformer's residual add and the next
/// norm in one pass over each row while it is in cache (the same sums as the two ops apart).
func layerNormForward(x: UnsafePointer<Float>, w: UnsafePointer<Float>?, b: UnsafePointer<Float>?,
                      y: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
                      rows: Int, n: Int, eps: Float, rms: Bool,
                      residual: (addend: UnsafePointer<Float>, sum: UnsafeMutablePointer<Float>)? = nil) {
    let xs = UncheckedBox(x), ws = UncheckedBox(w), bs = UncheckedBox(b)
    let ys = SendablePointer(y), ms = SendablePointer(mean), rs = SendablePointer(rstd)
    let addend = UncheckedBox(residual?.addend), sums = UncheckedBox(residual?.sum)
    parallelRows(rows: rows, work: rows * n * (residual == nil ? 3 : 4)) { range in
        for r in range {
            var xr = xs.value + r * n
            let yr = ys.p + r * n
            if let ap = addend.value, let sp = sums.value {
                let ar = ap + r * n, sr = sp + r * n
                for i in 0..<n { sr[i] = xr[i] + ar[i] }
                xr = UnsafePointer(sr)
            }
            var mu: Float = 0
            if !rms {
                mu = rowSum(xr, n) / Float(n)
            }
            let v = rowSquaredDeviation(xr, mu, n)
            let rsd = 1 / (v / Float(n) + eps).squareRoot()
            ms.p[r] = mu
            rs.p[r] = rsd
            if let wp = ws.value {
                if let bp = bs.value {
                    for i in 0..<n { yr[i] = (xr[i] - mu) * rsd * wp[i] + bp[i] }
                } else {
                    for i in 0..<n { yr[i] = (xr[i] - mu) * rsd * wp[i] }
                }
            } else {
                for i in 0..<n { yr[i] = (xr[i] - mu) * rsd }
            }
        }
    }
}

/// LayerNorm / RMSNorm backward. With norm = (x - mean) * rstd and dnorm = dy * w:
///   LayerNorm: dx = rstd * (dnorm - mean(dnorm) - norm * mean(dnorm * norm))
///   RMSNorm:   dx = rstd * (dnorm - norm * mean(dnorm * norm))
///   dw = sum_rows(dy * norm), db = sum_rows(dy).
/// dw/db are accumulated per thread and summed afterwards (no atomics).
func layerNormBackward(dy: UnsafePointer<Float>, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
                       mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
                       dx: UnsafeMutablePointer<Float>?, dw: UnsafeMutablePointer<Float>?, db: UnsafeMutablePointer<Float>?,
                       rows: Int, n: Int, rms: Bool) {
    let threads = (rows * n >= parallelThreshold) ? Swift.min(Threading.count, rows) : 1
    let partial = TensorStorage(count: threads * 2 * n, repeating: 0)
    let ps = SendablePointer(partial.pointer)
    let dys = UncheckedBox(dy), xs = UncheckedBox(x), ws = UncheckedBox(w), means = UncheckedBox(mean), rstds = UncheckedBox(rstd)
    let dxs = UncheckedBox(dx)
    parallelFor(threads) { t in
        let lo = rows * t / threads, hi = rows * (t + 1) / threads
        let pdw = ps.p + t * 2 * n, pdb = pdw + n
        for r in lo..<hi {
            let dyr = dys.value + r * n, xr = xs.value + r * n
            let mu = means.value[r], rs = rstds.value[r]
            let wp = ws.value
            // SIMD lanes for the two row reductions (see rowSum); dw/db accumulate per thread.
            var aD = SIMD8<Float>(repeating: 0), aDN = SIMD8<Float>(repeating: 0)
            let muV = SIMD8<Float>(repeating: mu), rsV = SIMD8<Float>(repeating: rs)
            var i = 0
            while i + 8 <= n {
                let xv = UnsafeRawPointer(xr + i).loadUnaligned(as: SIMD8<Float>.self)
                let dyv = UnsafeRawPointer(dyr + i).loadUnaligned(as: SIMD8<Float>.self)
                let wv = UnsafeRawPointer(wp + i).loadUnaligned(as: SIMD8<Float>.self)
                let norm = (xv - muV) * rsV
                let dn = dyv * wv
                aD += dn
                aDN += dn * norm
                let dwv = UnsafeRawPointer(pdw + i).loadUnaligned(as: SIMD8<Float>.self) + dyv * norm
                let dbv = UnsafeRawPointer(pdb + i).loadUnaligned(as: SIMD8<Float>.self) + dyv
                UnsafeMutableRawPointer(pdw + i).storeBytes(of: dwv, as: SIMD8<Float>.self)
                UnsafeMutableRawPointer(pdb + i).storeBytes(of: dbv, as: SIMD8<Float>.self)
                i += 8
            }
            var sumD = aD.sum(), sumDN = aDN.sum()
            while i < n {
                let norm = (xr[i] - mu) * rs
                let dn = dyr[i] * wp[i]
                sumD += dn
                sumDN += dn * norm
                pdw[i] += dyr[i] * norm
                pdb[i] += dyr[i]
                i += 1
            }
            if let dxp = dxs.value {
                let dxr = dxp + r * n
                let mD = rms ? 0 : sumD / Float(n), mDN = sumDN / Float(n)
                for i in 0..<n {
                    let norm = (xr[i] - mu) * rs
                    dxr[i] = rs * (dyr[i] * wp[i] - mD - norm * mDN)
                }
            }
        }
    }
    for i in 0..<n {
        var a: Float = 0, c: Float = 0
        for t in 0..<threads {
            a += ps.p[t * 2 * n + i]
            c += ps.p[t * 2 * n + n + i]
        }
        dw?[i] = a
        db?[i] = c
    }
    withExtendedLifetime(partial) {}
}
