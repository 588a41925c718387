import Foundation

/// Sum of `n` contiguous floats: 8 SIMD lanes per 1024-element block, blocks added in Double,
/// which keeps long sums (losses over millions of elements) accurate without a slow loop.
@inline(__always)
func rowSum(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    var total: Double = 0
    var start = 0
    while start < n {
        let end = Swift.min(start + 1024, n)
        var acc = SIMD8<Float>(repeating: 0)
        var i = start
        while i + 8 <= end {
            acc += UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
            i += 8
        }
        var s = acc.sum()
        while i < end { s += p[i]; i += 1 }
        total += Double(s)
        start = end
    }
    return Float(total)
}

/// Reduction shapes: which axes are reduced, and the kept shape.
struct ReducePlan {
    let inShape: [Int]
    let axes: [Int]          // sorted, unique
    let keptShape: [Int]     // shape without reduced axes
    let keepDimShape: [Int]  // shape with reduced axes set to 1
    let reducedCount: Int

    init(shape: [Int], axes: [Int]?) {
        inShape = shape
        let r = shape.count
        let ax = (axes ?? Array(0..<r)).map { normalizeAxis($0, rank: r) }
        self.axes = Array(Set(ax)).sorted()
        var kept: [Int] = [], kd = shape
        var rc = 1
        for d in 0..<r {
            if self.axes.contains(d) { kd[d] = 1; rc *= shape[d] } else { kept.append(shape[d]) }
        }
        keptShape = kept
        keepDimShape = kd
        reducedCount = rc
    }

    /// The input arranged as [kept, reduced] rows: a permuted view made dense when needed.
    func rows(_ x: Tensor) -> Tensor {
        let r = inShape.count
        let keptAxes = (0..<r).filter { !axes.contains($0) }
        let perm = keptAxes + axes
        let isIdentity = perm == Array(0..<r)
        let v = isIdentity ? x : x.permutedView(perm)
        return v.contiguousNoGrad()
    }

    /// True when the reduced axes are the leading ones and the input is dense: the sum can run
    /// down columns without a transposing copy (the bias-gradient case).
    func isLeadingReduction(_ x: Tensor) -> Bool {
        x.isContiguous && !axes.isEmpty && axes == Array(0..<axes.count) && axes.count < inShape.count
    }
}

/// Sums over the planned axes; result has `plan.keptShape`.
func sumKernel(_ x: Tensor, _ plan: ReducePlan) -> Tensor {
    let out = Tensor(uninitializedShape: plan.keptShape)
    let R = plan.reducedCount
    let K = out.count
    if R == 0 {
        out.basePointer.update(repeating: 0, count: K)
        return out
    }
    if plan.isLeadingReduction(x) {
        // x viewed as [R, K]: accumulate rows into the output, split over column ranges.
        let src = SendablePointer(x.basePointer), dst = SendablePointer(out.basePointer)
        let threads = Threading.count
        let chunks = (R * K >= parallelThreshold && K >= 64) ? Swift.min(threads, K / 32) : 1
        parallelFor(chunks) { c in
            let lo = K * c / chunks, hi = K * (c + 1) / chunks
            let o = dst.p + lo
            let w = hi - lo
            var acc = [Double](repeating: 0, count: w)
            let blk = 256
            var r0 = 0
            var tmp = [Float](repeating: 0, count: w)
            while r0 < R {
                let r1 = Swift.min(r0 + blk, R)
                tmp.withUnsafeMutableBufferPointer { t in
                    for j in 0..<w { t[j] = 0 }
                    for r in r0..<r1 {
                        let row = src.p + r * K + lo
                        for j in 0..<w { t[j] += row[j] }
                    }
                }
                for j in 0..<w { acc[j] += Double(tmp[j]) }
                r0 = r1
            }
            for j in 0..<w { o[j] = Float(acc[j]) }
        }
        return withExtendedLifetime(x) { out }
    }
    let rows = plan.rows(x)
    let src = SendablePointer(rows.basePointer), dst = SendablePointer(out.basePointer)
    parallelRows(rows: K, work: K * R) { range in
        for k in range { dst.p[k] = rowSum(src.p + k * R, R) }
    }
    return withExtendedLifetime(rows) { out }
}

/// Max (or min) and the index of its first occurrence over the planned axes (flattened index
/// within the reduced block).
func extremumKernel(_ x: Tensor, _ plan: ReducePlan, isMax: Bool) -> (values: Tensor, indices: [Int32]) {
    let out = Tensor(uninitializedShape: plan.keptShape)
    let R = plan.reducedCount
    precondition(R > 0, "max/min over an empty dimension of shape \(x.shape)")
    let K = out.count
    var idx = [Int32](repeating: 0, count: K)
    let rows = plan.rows(x)
    let src = SendablePointer(rows.basePointer), dst = SendablePointer(out.basePointer)
    idx.withUnsafeMutableBufferPointer { ib in
        let ip = UncheckedBox(ib.baseAddress!)
        parallelRows(rows: K, work: K * R) { range in
            for k in range {
                let p = src.p + k * R
                var best = p[0], bi = 0
                if best.isNaN {
                    dst.p[k] = best; ip.value[k] = 0; continue
                }
                var i = 1
                while i < R {
                    let v = p[i]
                    if v.isNaN { best = v; bi = i; break }
                    if isMax ? (v > best) : (v < best) { best = v; bi = i }
                    i += 1
                }
                dst.p[k] = best
                ip.value[k] = Int32(bi)
            }
        }
    }
    return withExtendedLifetime(rows) { (out, idx) }
}

// Float reductions do not auto-vectorize (IEEE addition is not associative and Swift has no
// fast-math), so hot row reductions accumulate in explicit SIMD lanes.

/// max of n floats (n >= 1); NaN handling is not IEEE-strict (callers feed finite scores or -inf).
@inline(__always)
func rowMax(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    var i = 0
    var m: Float = -.infinity
    if n >= 8 {
        var acc = UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
        i = 8
        while i + 8 <= n {
            acc = pointwiseMax(acc, UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self))
            i += 8
        }
        m = acc.max()
    }
    while i < n { m = Swift.max(m, p[i]); i += 1 }
    return m
}

/// sum_i a[i] * b[i] with SIMD lanes.
@inline(__always)
func rowDot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = SIMD8<Float>(repeating: 0)
    var i = 0
    while i + 8 <= n {
        acc += UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self) * UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self)
        i += 8
    }
    var s = acc.sum()
    while i < n { s += a[i] * b[i]; i += 1 }
    return s
}

/// sum_i (a[i] - c)^2 with SIMD lanes.
@inline(__always)
func rowSquaredDeviation(_ a: UnsafePointer<Float>, _ c: Float, _ n: Int) -> Float {
    var acc = SIMD8<Float>(repeating: 0)
    let cv = SIMD8<Float>(repeating: c)
    var i = 0
    while i + 8 <= n {
        let d = UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self) - cv
        acc += d * d
        i += 8
    }
    var s = acc.sum()
    while i < n { let d = a[i] - c; s += d * d; i += 1 }
    return s
}
