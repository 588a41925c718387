import CSynKernels
import Foundation

/// Where one operand of a multi-head attention lives: element (b, h, row, col) is at
/// `b * batch + h * head + row * row + col` floats from the base pointer (columns contiguous).
struct HeadLayout {
    var batch: Int
    var head: Int
    var row: Int
}

/// Shapes of a batched multi-head attention: B x H heads, nq queries and nk keys of width d,
/// values of width dv.
struct AttentionGeometry {
    var B: Int, H: Int, nq: Int, nk: Int, d: Int, dv: Int
    var scale: Float
    var q: HeadLayout, k: HeadLayout, v: HeadLayout, o: HeadLayout
}

/// Tiled (flash-style) attention forward over all B x H heads with the C kernel of
/// Sources/CSynKernels/attention.c, parallel over heads. Writes o and lse [B, H, nq] (each query row's
/// log-sum-exp, which the backward needs); nothing of size nq x nk is allocated.
func flashAttentionForward(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                           o: UnsafeMutablePointer<Float>, lse: UnsafeMutablePointer<Float>, _ g: AttentionGeometry) {
    let pairs = g.B * g.H
    let qs = SendablePointer(UnsafeMutablePointer(mutating: q)), ks = SendablePointer(UnsafeMutablePointer(mutating: k))
    let vs = SendablePointer(UnsafeMutablePointer(mutating: v)), os = SendablePointer(o), ls = SendablePointer(lse)
    let chunks = Swift.min(Threading.count, pairs)
    parallelFor(chunks) { c in
        for pair in (pairs * c / chunks)..<(pairs * (c + 1) / chunks) {
            let b = pair / g.H, h = pair % g.H
            let rc = csyn_flash_attention_forward(
                qs.p + b * g.q.batch + h * g.q.head, Int64(g.q.row), ks.p + b * g.k.batch + h * g.k.head, Int64(g.k.row),
                vs.p + b * g.v.batch + h * g.v.head, Int64(g.v.row), os.p + b * g.o.batch + h * g.o.head, Int64(g.o.row),
                ls.p + pair * g.nq, Int64(g.nq), Int64(g.nk), Int64(g.d), Int64(g.dv), g.scale)
            precondition(rc == 0, "attention: out of memory for the per-head scratch of \(g.nq) x \(g.nk) tokens")
        }
    }
}

/// Backward of `flashAttentionForward`: from the forward's inputs, o, lse and the output gradient
/// `dout` (laid out as o), overwrites dq, dk, dv (laid out by `dq`, `dk`, `dvLayout`).
func flashAttentionBackward(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                            o: UnsafePointer<Float>, lse: UnsafePointer<Float>, dout: UnsafePointer<Float>,
                            dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>,
                            _ g: AttentionGeometry, dq dqL: HeadLayout, dk dkL: HeadLayout, dv dvL: HeadLayout) {
    let pairs = g.B * g.H
    func mut(_ p: UnsafePointer<Float>) -> SendablePointer { SendablePointer(UnsafeMutablePointer(mutating: p)) }
    let qs = mut(q), ks = mut(k), vs = mut(v), os = mut(o), ls = mut(lse), gs = mut(dout)
    let dqs = SendablePointer(dq), dks = SendablePointer(dk), dvs = SendablePointer(dv)
    let chunks = Swift.min(Threading.count, pairs)
    parallelFor(chunks) { c in
        for pair in (pairs * c / chunks)..<(pairs * (c + 1) / chunks) {
            let b = pair / g.H, h = pair % g.H
            let rc = csyn_flash_attention_backward(
                qs.p + b * g.q.batch + h * g.q.head, Int64(g.q.row), ks.p + b * g.k.batch + h * g.k.head, Int64(g.k.row),
                vs.p + b * g.v.batch + h * g.v.head, Int64(g.v.row), os.p + b * g.o.batch + h * g.o.head, Int64(g.o.row),
                ls.p + pair * g.nq, gs.p + b * g.o.batch + h * g.o.head, Int64(g.o.row),
                dqs.p + b * dqL.batch + h * dqL.head, Int64(dqL.row), dks.p + b * dkL.batch + h * dkL.head, Int64(dkL.row),
                dvs.p + b * dvL.batch + h * dvL.head, Int64(dvL.row),
                Int64(g.nq), Int64(g.nk), Int64(g.d), Int64(g.dv), g.scale)
            precondition(rc == 0, "attention backward: out of memory for the per-head scratch of \(g.nq) x \(g.nk) tokens")
        }
    }
}
