import Foundation

/// Fused multi-head self-attention over a packed qkv buffer, parallel over (batch, head) pairs.
///
/// qkv: [B, N, 3, H, d] (the output of one qkv Linear, i.e. [B, N, 3D] with D = H d)
/// out: [B, N, H, d] (= [B, N, D], ready for the output projection)
/// probs: [B, H, N, N] softmax(q k^T * scale), kept for backward.
///
/// Each (b, h) reads q, k, v straight out of qkv with leading dimension 3D and writes its output
/// slice with leading dimension D, so no head split/merge copies are made. Per-pair GEMMs are
/// small; OpenBLAS runs them single-threaded and we spread pairs over our threads instead.
func attentionForward(qkv: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>,
                      B: Int, N: Int, H: Int, d: Int, scale: Float) {
    let D = H * d, ld = 3 * D
    let qs = SendablePointer(UnsafeMutablePointer(mutating: qkv)), os = SendablePointer(out), ps = SendablePointer(probs)
    let pairs = B * H
    let chunks = Swift.min(Threading.count, pairs)
    parallelFor(chunks) { c in
        for pair in (pairs * c / chunks)..<(pairs * (c + 1) / chunks) {
            let b = pair / H, h = pair % H
            let base = qs.p + b * N * ld + h * d
            let q = base, k = base + D, v = base + 2 * D
            let p = ps.p + pair * N * N
            // S = scale * Q K^T : [N, d] x [d, N]
            sgemm(GEMMOperand(pointer: q, ld: Int32(ld), trans: false), GEMMOperand(pointer: k, ld: Int32(ld), trans: true),
                  p, m: N, n: N, k: d, alpha: scale, split: false)
            softmaxRowsInPlace(p, rows: N, n: N)
            // O = P V : [N, N] x [N, d] into out[b, :, h, :] with ld D
            sgemm(GEMMOperand(pointer: p, ld: Int32(N), trans: false), GEMMOperand(pointer: v, ld: Int32(ld), trans: false),
                  os.p + b * N * D + h * d, m: N, n: d, k: N, ldc: D, split: false)
        }
    }
}

/// Backward of `attentionForward`. With P = softmax(S), O = P V:
///   dV = P^T dO;  dP = dO V^T;  dS = P * (dP - rowsum(dP * P)) * scale;  dQ = dS K;  dK = dS^T Q.
/// dqkv: [B, N, 3D], fully overwritten. scratch: [threads, N, N].
func attentionBackward(dout: UnsafePointer<Float>, qkv: UnsafePointer<Float>, probs: UnsafePointer<Float>,
                       dqkv: UnsafeMutablePointer<Float>, B: Int, N: Int, H: Int, d: Int, scale: Float) {
    let D = H * d, ld = 3 * D
    let pairs = B * H
    let chunks = Swift.min(Threading.count, pairs)
    let scratch = TensorStorage(uninitializedCount: chunks * N * N)
    let gs = SendablePointer(UnsafeMutablePointer(mutating: dout)), qs = SendablePointer(UnsafeMutablePointer(mutating: qkv))
    let ps = SendablePointer(UnsafeMutablePointer(mutating: probs)), ds = SendablePointer(dqkv), ss = SendablePointer(scratch.pointer)
    parallelFor(chunks) { c in
        let dP = ss.p + c * N * N
        for pair in (pairs * c / chunks)..<(pairs * (c + 1) / chunks) {
            let b = pair / H, h = pair % H
            let base = qs.p + b * N * ld + h * d
            let q = base, k = base + D, v = base + 2 * D
            let dbase = ds.p + b * N * ld + h * d
            let dq = dbase, dk = dbase + D, dv = dbase + 2 * D
            let p = ps.p + pair * N * N
            let dO = GEMMOperand(pointer: gs.p + b * N * D + h * d, ld: Int32(D), trans: false)
            // dV = P^T dO : [N, N]^T x [N, d]
            sgemm(GEMMOperand(pointer: p, ld: Int32(N), trans: true), dO, dv, m: N, n: d, k: N, ldc: ld, split: false)
            // dP = dO V^T : [N, d] x [d, N]
            sgemm(dO, GEMMOperand(pointer: v, ld: Int32(ld), trans: true), dP, m: N, n: N, k: d, split: false)
            // dS = P * (dP - rowsum(dP * P)) * scale, in place in dP
            for r in 0..<N {
                let pr = p + r * N, gr = dP + r * N
                let dot = rowDot(pr, gr, N)
                for j in 0..<N { gr[j] = pr[j] * (gr[j] - dot) * scale }
            }
            // dQ = dS K : [N, N] x [N, d];  dK = dS^T Q : [N, N]^T x [N, d]
            sgemm(GEMMOperand(pointer: dP, ld: Int32(N), trans: false), GEMMOperand(pointer: k, ld: Int32(ld), trans: false),
                  dq, m: N, n: d, k: N, ldc: ld, split: false)
            sgemm(GEMMOperand(pointer: dP, ld: Int32(N), trans: true), GEMMOperand(pointer: q, ld: Int32(ld), trans: false),
                  dk, m: N, n: d, k: N, ldc: ld, split: false)
        }
    }
    withExtendedLifetime(scratch) {}
}

/// Softmax of each row of a dense [rows, n] buffer, in place (single-threaded; callers parallelize).
@inline(__always)
func softmaxRowsInPlace(_ p: UnsafeMutablePointer<Float>, rows: Int, n: Int) {
    for r in 0..<rows {
        let row = p + r * n
        let m = rowMax(row, n)
        for j in 0..<n { row[j] = fastExp(row[j] - m) }
        let inv = 1 / rowSum(row, n)
        for j in 0..<n { row[j] *= inv }
    }
}
