import CSynBLAS

/// A matrix operand as BLAS sees it: base pointer, leading dimension and whether it is transposed.
struct GEMMOperand {
    let pointer: UnsafeMutablePointer<Float>
    let ld: Int32
    let trans: Bool
}

/// Describes the last two dims of a strided view for BLAS, or nil when a copy is needed.
/// Row-major [rows, cols] with stride (ld, 1) is "no transpose"; stride (1, ld) is "transpose".
func gemmOperand(rows: Int, cols: Int, rowStride: Int, colStride: Int, base: UnsafeMutablePointer<Float>) -> GEMMOperand? {
    if (colStride == 1 || cols == 1) && rowStride >= Swift.max(1, cols) {
        return GEMMOperand(pointer: base, ld: Int32(Swift.max(rowStride, 1)), trans: false)
    }
    if (rowStride == 1 || rows == 1) && colStride >= Swift.max(1, rows) {
        return GEMMOperand(pointer: base, ld: Int32(Swift.max(colStride, 1)), trans: true)
    }
    if rows == 1 && cols == 1 {
        return GEMMOperand(pointer: base, ld: 1, trans: false)
    }
    return nil
}

/// C[m, n] = alpha * op(A)[m, k] * op(B)[k, n] + beta * C (row-major, C with leading dimension ldc).
///
/// OpenBLAS runs single-threaded outside this call (see `Threading`). A large product is either
/// split here into row (or column) blocks of C, one single-threaded OpenBLAS call per worker
/// thread, or handed to OpenBLAS's own threads (`Threading.gemmMode`, default split; the two
/// measured within noise of each other, Docs/benchmarks.md). `split: false` is for callers that
/// are already inside a parallel region.
@inline(__always)
func sgemm(_ a: GEMMOperand, _ b: GEMMOperand, _ c: UnsafeMutablePointer<Float>, m: Int, n: Int, k: Int,
           alpha: Float = 1, beta: Float = 0, ldc: Int? = nil, split: Bool = true) {
    if m == 0 || n == 0 { return }
    _ = BLAS.openblasChoice
    let l = ldc ?? n
    if k == 0 {
        for i in 0..<m { for j in 0..<n { c[i * l + j] = beta == 0 ? 0 : c[i * l + j] * beta } }
        return
    }
    let threads = split ? Threading.count : 1
    let mode = Threading.gemmMode
    if threads > 1 && m * n * k >= (1 << 18) && (mode == .blas || (mode == .auto && m * n * k > (1 << 30))) {
        // OpenBLAS threads this one call; back to one thread after so its workers stay idle elsewhere.
        openblas_set_num_threads(Int32(threads))
        blasCall(a, b, c, m: m, n: n, k: k, alpha: alpha, beta: beta, ldc: l)
        openblas_set_num_threads(1)
        return
    }
    if threads > 1 && m * n * k >= (1 << 18) {
        let byRows = m >= threads * 16 || m >= n
        let extent = byRows ? m : n
        let chunks = Swift.min(threads, Swift.max(1, extent / 8))
        if chunks > 1 {
            let cs = SendablePointer(c)
            let ap = SendablePointer(a.pointer), bp = SendablePointer(b.pointer)
            parallelFor(chunks) { t in
                let lo = extent * t / chunks, hi = extent * (t + 1) / chunks
                if hi <= lo { return }
                if byRows {
                    // Rows lo..<hi of op(A): stored rows (no transpose) or stored columns (transpose).
                    let aOff = a.trans ? lo : lo * Int(a.ld)
                    blasCall(GEMMOperand(pointer: ap.p + aOff, ld: a.ld, trans: a.trans), b, cs.p + lo * l,
                             m: hi - lo, n: n, k: k, alpha: alpha, beta: beta, ldc: l)
                } else {
                    let bOff = b.trans ? lo * Int(b.ld) : lo
                    blasCall(a, GEMMOperand(pointer: bp.p + bOff, ld: b.ld, trans: b.trans), cs.p + lo,
                             m: m, n: hi - lo, k: k, alpha: alpha, beta: beta, ldc: l)
                }
            }
            return
        }
    }
    blasCall(a, b, c, m: m, n: n, k: k, alpha: alpha, beta: beta, ldc: l)
}

@inline(__always)
func blasCall(_ a: GEMMOperand, _ b: GEMMOperand, _ c: UnsafeMutablePointer<Float>, m: Int, n: Int, k: Int,
              alpha: Float, beta: Float, ldc: Int) {
    cblas_sgemm(CblasRowMajor,
                a.trans ? CblasTrans : CblasNoTrans,
                b.trans ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha,
                a.pointer, a.ld, b.pointer, b.ld, beta, c, Int32(ldc))
}

/// Multiplies the last two dims of `a` [.., m, k] and `b` [.., k, n] with broadcast batch dims.
/// Transposed views go to BLAS as transpose flags; other layouts are copied once.
func matmulKernel(_ aIn: Tensor, _ bIn: Tensor) -> Tensor {
    precondition(aIn.rank >= 2 && bIn.rank >= 2, "matmul kernel needs rank >= 2, got \(aIn.shape) and \(bIn.shape)")
    let m = aIn.shape[aIn.rank - 2], k = aIn.shape[aIn.rank - 1]
    let k2 = bIn.shape[bIn.rank - 2], n = bIn.shape[bIn.rank - 1]
    precondition(k == k2, "matmul shapes \(aIn.shape) and \(bIn.shape) do not align (\(k) != \(k2))")
    let aBatch = Array(aIn.shape.dropLast(2)), bBatch = Array(bIn.shape.dropLast(2))
    guard let batch = Layout.broadcastShapes(aBatch, bBatch) else {
        preconditionFailure("matmul batch dims \(aBatch) and \(bBatch) do not broadcast")
    }
    let outShape = batch + [m, n]
    let out = Tensor(uninitializedShape: outShape)
    let batchCount = batch.reduce(1, *)
    if out.count == 0 { return out }

    // Fold a's batch into rows when b is a plain matrix: one large GEMM instead of many small ones.
    if bBatch.reduce(1, *) == 1 && aBatch.count == batch.count, let folded = foldRows(aIn) {
        var b = bIn
        var bop = gemmOperand(rows: k, cols: n, rowStride: b.strides[b.rank - 2], colStride: b.strides[b.rank - 1], base: b.basePointer)
        if bop == nil {
            b = b.contiguousNoGrad()
            bop = gemmOperand(rows: k, cols: n, rowStride: n, colStride: 1, base: b.basePointer)
        }
        sgemm(folded, bop!, out.basePointer, m: batchCount * m, n: n, k: k)
        return withExtendedLifetime((aIn, b)) { out }
    }

    var a = aIn, b = bIn
    let aStrides0 = a.layout.broadcastStrides(to: batch + [m, k])
    let bStrides0 = b.layout.broadcastStrides(to: batch + [k, n])
    var aS = aStrides0, bS = bStrides0
    if gemmOperand(rows: m, cols: k, rowStride: aS[batch.count], colStride: aS[batch.count + 1], base: a.basePointer) == nil {
        a = a.contiguousNoGrad()
        aS = a.layout.broadcastStrides(to: batch + [m, k])
    }
    if gemmOperand(rows: k, cols: n, rowStride: bS[batch.count], colStride: bS[batch.count + 1], base: b.basePointer) == nil {
        b = b.contiguousNoGrad()
        bS = b.layout.broadcastStrides(to: batch + [k, n])
    }
    let aBase = SendablePointer(a.basePointer), bBase = SendablePointer(b.basePointer), cBase = SendablePointer(out.basePointer)
    let nb = batch.count
    let aRow = aS[nb], aCol = aS[nb + 1], bRow = bS[nb], bCol = bS[nb + 1]
    let aBS = Array(aS.prefix(nb)), bBS = Array(bS.prefix(nb))
    func offset(_ i: Int, _ st: [Int]) -> Int {
        var r = i, off = 0
        for d in stride(from: nb - 1, through: 0, by: -1) {
            off += (r % batch[d]) * st[d]
            r /= batch[d]
        }
        return off
    }
    let inParallel = batchCount > 1 && m * n * k < (1 << 20)
    let one = { (i: Int) in
        let ao = gemmOperand(rows: m, cols: k, rowStride: aRow, colStride: aCol, base: aBase.p + offset(i, aBS))!
        let bo = gemmOperand(rows: k, cols: n, rowStride: bRow, colStride: bCol, base: bBase.p + offset(i, bBS))!
        sgemm(ao, bo, cBase.p + i * m * n, m: m, n: n, k: k, split: !inParallel)
    }
    // Small GEMMs are single-threaded inside OpenBLAS, so spread the batch over our threads.
    if inParallel {
        let chunks = Swift.min(Threading.count, batchCount)
        parallelFor(chunks) { c in
            for i in (batchCount * c / chunks)..<(batchCount * (c + 1) / chunks) { one(i) }
        }
    } else {
        for i in 0..<batchCount { one(i) }
    }
    return withExtendedLifetime((a, b)) { out }
}

/// Views [batch..., m, k] as one [(batch * m), k] BLAS operand when the rows are evenly spaced.
func foldRows(_ a: Tensor) -> GEMMOperand? {
    let r = a.rank
    let k = a.shape[r - 1]
    guard a.strides[r - 1] == 1 || k == 1 else { return nil }
    let dims = (0..<(r - 1)).filter { a.shape[$0] != 1 }
    guard let innermost = dims.last else {
        return GEMMOperand(pointer: a.basePointer, ld: Int32(Swift.max(k, 1)), trans: false)
    }
    let rowStride = a.strides[innermost]
    var expected = rowStride * a.shape[innermost]
    for d in dims.dropLast().reversed() {
        if a.strides[d] != expected { return nil }
        expected *= a.shape[d]
    }
    guard rowStride >= Swift.max(1, k) else { return nil }
    return GEMMOperand(pointer: a.basePointer, ld: Int32(rowStride), trans: false)
}
