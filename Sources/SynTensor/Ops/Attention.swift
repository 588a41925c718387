import Foundation

extension Tensor {
    /// Scaled dot-product attention: softmax(q k^T * scale + mask) v, as `F.scaled_dot_product_attention`.
    ///
    /// - q: [..., Tq, D], k: [..., Tk, D], v: [..., Tk, Dv].
    /// - mask: additive float mask broadcastable to [..., Tq, Tk] (use -inf to block), or nil. A query whose
    ///   keys are all blocked gets zeros, as PyTorch 2.5+ does (F.softmax alone would give NaN).
    /// - scale: defaults to 1/sqrt(D).
    public static func scaledDotProductAttention(query q: Tensor, key k: Tensor, value v: Tensor,
                                                 mask: Tensor? = nil, scale: Float? = nil) -> Tensor {
        let d = q.shape.last!
        let s = scale ?? 1 / Float(d).squareRoot()
        var scores = q.matmul(k.transposed(-2, -1)) * s
        if let mask { scores = scores + mask }
        return scores.softmax(axis: -1, zeroBlockedRows: mask != nil).matmul(v)
    }

    /// Additive mask from a boolean-style tensor (nonzero = keep): 0 where kept, -inf where blocked.
    public static func attentionMask(keep: Tensor) -> Tensor {
        mapUnary(keep) { $0 != 0 ? 0 : -Float.infinity }
    }
}

extension Tensor {
    /// Multi-head self-attention from a packed projection: qkv [B, N, 3D] (q, k, v blocks, each
    /// split into `heads` heads, as timm's ViT `Attention`) -> [B, N, D]. Fused: no head copies.
    public func packedSelfAttention(heads: Int, scale: Float? = nil) -> Tensor {
        precondition(rank == 3 && shape[2] % (3 * heads) == 0, "packedSelfAttention needs [B, N, 3 * heads * d], got \(shape)")
        let qkv = self
        let B = shape[0], N = shape[1], D = shape[2] / 3, d = D / heads
        let s = scale ?? 1 / Float(d).squareRoot()
        let qc = qkv.contiguousNoGrad()
        let out = Tensor(uninitializedShape: [B, N, D])
        let probs = Tensor(uninitializedShape: [B, heads, N, N])
        attentionForward(qkv: qc.basePointer, out: out.basePointer, probs: probs.basePointer, B: B, N: N, H: heads, d: d, scale: s)
        return Tensor.record(out, inputs: [qkv], op: "packed_self_attention") { g in
            let gc = g.contiguousNoGrad()
            let dqkv = Tensor(uninitializedShape: [B, N, 3 * D])
            attentionBackward(dout: gc.basePointer, qkv: qc.basePointer, probs: probs.basePointer, dqkv: dqkv.basePointer,
                              B: B, N: N, H: heads, d: d, scale: s)
            return [dqkv]
        }
    }

    /// Fully connected layer y = x W^T + b with the bias written into the GEMM output first (beta = 1),
    /// as `torch.addmm`: x [..., in], W [out, in], b [out].
    public func linear(weight: Tensor, bias: Tensor?) -> Tensor {
        let x = self
        let inF = weight.shape[1], outF = weight.shape[0]
        precondition(x.shape.last == inF, "linear: input \(x.shape) does not end in \(inF) (weight \(weight.shape))")
        guard let bias else { return x.matmul(weight.transposed(0, 1)) }
        guard let folded = foldRows(x) else { return x.matmul(weight.transposed(0, 1)) + bias }
        let rows = x.count / Swift.max(inF, 1)
        let out = Tensor(uninitializedShape: Array(x.shape.dropLast()) + [outF])
        let bc = bias.contiguousNoGrad(), wc = weight.contiguousNoGrad()
        let op = SendablePointer(out.basePointer), bp = SendablePointer(bc.basePointer)
        parallelRows(rows: rows, work: rows * outF) { r in
            for i in r { (op.p + i * outF).update(from: bp.p, count: outF) }
        }
        sgemm(folded, GEMMOperand(pointer: wc.basePointer, ld: Int32(inF), trans: true), out.basePointer,
              m: rows, n: outF, k: inF, beta: 1)
        return withExtendedLifetime(x) {
            Tensor.record(out, inputs: [x, weight, bias], op: "linear") { g in
                let g2 = g.reshapedNoGrad([rows, outF])
                var dx: Tensor? = nil, dw: Tensor? = nil, db: Tensor? = nil
                if x.requiresGrad {
                    // dx = g W : [rows, out] x [out, in]
                    dx = matmulKernel(g2, wc).reshapedNoGrad(x.shape)
                }
                if weight.requiresGrad {
                    // dW = g^T x : [out, rows] x [rows, in]
                    let xf = x.reshapedNoGrad([rows, inF])
                    dw = matmulKernel(g2.transposed(0, 1), xf)
                }
                if bias.requiresGrad { db = g2.sum(axis: 0) }
                return [dx, dw, db]
            }
        }
    }
}
