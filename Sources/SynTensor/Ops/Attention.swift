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
        let r = q.rank
        if mask == nil, r >= 2, k.rank == r, v.rank == r, q.shape.dropLast(2) == k.shape.dropLast(2),
           k.shape.dropLast(2) == v.shape.dropLast(2), k.shape[r - 1] == d, v.shape[r - 2] == k.shape[r - 2],
           q.count > 0, k.count > 0, v.count > 0 {
            return tiledAttention(q, k, v, scale: s)
        }
        var scores = q.matmul(k.transposed(-2, -1)) * s
        if let mask { scores = scores + mask }
        return scores.softmax(axis: -1, zeroBlockedRows: mask != nil).matmul(v)
    }

    /// Unmasked attention of q [..., Tq, D], k [..., Tk, D], v [..., Tk, Dv] (same leading shape) with the
    /// tiled kernel: memory linear in Tq + Tk, only each query row's log-sum-exp kept for backward.
    static func tiledAttention(_ q: Tensor, _ k: Tensor, _ v: Tensor, scale: Float) -> Tensor {
        let r = q.rank
        let B = q.shape.dropLast(2).reduce(1, *)
        let nq = q.shape[r - 2], nk = k.shape[r - 2], d = q.shape[r - 1], dv = v.shape[r - 1]
        let g = AttentionGeometry(B: B, H: 1, nq: nq, nk: nk, d: d, dv: dv, scale: scale,
                                  q: HeadLayout(batch: nq * d, head: 0, row: d), k: HeadLayout(batch: nk * d, head: 0, row: d),
                                  v: HeadLayout(batch: nk * dv, head: 0, row: dv), o: HeadLayout(batch: nq * dv, head: 0, row: dv))
        return attentionOp(q, k, v, geometry: g, outShape: Array(q.shape.dropLast()) + [dv], op: "scaled_dot_product_attention")
    }

    /// Multi-head attention with the heads interleaved in the feature axis, as a Linear's output is laid
    /// out: q [B, N, H d], k [B, L, H d], v [B, L, H dv] -> [B, N, H dv], softmax(q k^T * scale) v per head
    /// (scale defaults to 1/sqrt(d)). Tiled: no head copies and no N x L score matrix.
    public static func multiHeadAttention(query q: Tensor, key k: Tensor, value v: Tensor, heads H: Int,
                                          scale: Float? = nil) -> Tensor {
        precondition(q.rank == 3 && k.rank == 3 && v.rank == 3 && q.shape[0] == k.shape[0] && k.shape[0] == v.shape[0]
                     && k.shape[1] == v.shape[1] && q.shape[2] == k.shape[2] && q.shape[2] % H == 0 && v.shape[2] % H == 0,
                     "multiHeadAttention needs q [B, N, H d], k [B, L, H d], v [B, L, H dv]; got \(q.shape), \(k.shape), \(v.shape)")
        let B = q.shape[0], N = q.shape[1], L = k.shape[1], D = q.shape[2], Dv = v.shape[2], d = D / H, dv = Dv / H
        let s = scale ?? 1 / Float(d).squareRoot()
        let g = AttentionGeometry(B: B, H: H, nq: N, nk: L, d: d, dv: dv, scale: s,
                                  q: HeadLayout(batch: N * D, head: d, row: D), k: HeadLayout(batch: L * D, head: d, row: D),
                                  v: HeadLayout(batch: L * Dv, head: dv, row: Dv), o: HeadLayout(batch: N * Dv, head: dv, row: Dv))
        return attentionOp(q, k, v, geometry: g, outShape: [B, N, Dv], op: "multi_head_attention")
    }

    /// The recorded tiled attention for separate q, k, v tensors whose contiguous layouts `g` describes.
    static func attentionOp(_ q: Tensor, _ k: Tensor, _ v: Tensor, geometry g: AttentionGeometry, outShape: [Int],
                            op: String) -> Tensor {
        let qc = q.contiguousNoGrad(), kc = k.contiguousNoGrad(), vc = v.contiguousNoGrad()
        let out = Tensor(uninitializedShape: outShape)
        let lse = TensorStorage(uninitializedCount: g.B * g.H * g.nq)
        flashAttentionForward(q: qc.basePointer, k: kc.basePointer, v: vc.basePointer, o: out.basePointer, lse: lse.pointer, g)
        return Tensor.record(out, inputs: [q, k, v], op: op) { grad in
            let gc = grad.contiguousNoGrad()
            let dq = Tensor(uninitializedShape: q.shape), dk = Tensor(uninitializedShape: k.shape)
            let dv = Tensor(uninitializedShape: v.shape)
            flashAttentionBackward(q: qc.basePointer, k: kc.basePointer, v: vc.basePointer, o: out.basePointer, lse: lse.pointer,
                                   dout: gc.basePointer, dq: dq.basePointer, dk: dk.basePointer, dv: dv.basePointer, g,
                                   dq: g.q, dk: g.k, dv: g.v)
            return [dq, dk, dv]
        }
    }

    /// Additive mask from a boolean-style tensor (nonzero = keep): 0 where kept, -inf where blocked.
    public static func attentionMask(keep: Tensor) -> Tensor {
        mapUnary(keep) { $0 != 0 ? 0 : -Float.infinity }
    }
}

extension Tensor {
    /// Multi-head self-attention from a packed projection: qkv [B, N, 3D] (q, k, v blocks, each
    /// split into `heads` heads, as timm's ViT `Attention`) -> [B, N, D]. Fused and tiled: no head copies,
    /// no N x N probabilities kept (the backward recomputes them from each row's log-sum-exp).
    public func packedSelfAttention(heads: Int, scale: Float? = nil) -> Tensor {
        precondition(rank == 3 && shape[2] % (3 * heads) == 0, "packedSelfAttention needs [B, N, 3 * heads * d], got \(shape)")
        let qkv = self
        let B = shape[0], N = shape[1], D = shape[2] / 3, d = D / heads
        let s = scale ?? 1 / Float(d).squareRoot()
        let qc = qkv.contiguousNoGrad()
        let inL = HeadLayout(batch: N * 3 * D, head: d, row: 3 * D)
        let g = AttentionGeometry(B: B, H: heads, nq: N, nk: N, d: d, dv: d, scale: s, q: inL, k: inL, v: inL,
                                  o: HeadLayout(batch: N * D, head: d, row: D))
        let out = Tensor(uninitializedShape: [B, N, D])
        let lse = TensorStorage(uninitializedCount: B * heads * N)
        let base = qc.basePointer
        flashAttentionForward(q: base, k: base + D, v: base + 2 * D, o: out.basePointer, lse: lse.pointer, g)
        return Tensor.record(out, inputs: [qkv], op: "packed_self_attention") { grad in
            let gc = grad.contiguousNoGrad()
            let dqkv = Tensor(uninitializedShape: [B, N, 3 * D])
            let qb = qc.basePointer, db = dqkv.basePointer
            flashAttentionBackward(q: qb, k: qb + D, v: qb + 2 * D, o: out.basePointer, lse: lse.pointer, dout: gc.basePointer,
                                   dq: db, dk: db + D, dv: db + 2 * D, g, dq: inL, dk: inL, dv: inL)
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
                Tensor.linearPullback(g, x: x, needsX: x.requiresGrad, weight: weight, weightContiguous: wc, bias: bias)
            }
        }
    }

    /// `gelu().linear(weight:bias:)` (a transformer MLP's activation and second projection) keeping
    /// only the GELU's input for the backward pass, which recomputes the activation (llm.c's GELU
    /// recomputation).
    ///
    /// The widest activation of a ViT block, [tokens, 4 x width], is then stored once instead of twice;
    /// values and gradients are the two ops' bit for bit (the same kernels on the same inputs). Without
    /// a bias, or without gradients, it is the two ops apart.
    ///
    /// ```swift
    /// let y = fc1(x).geluLinear(weight: fc2.weight.value, bias: fc2.bias?.value)
    /// ```
    public func geluLinear(weight: Tensor, bias: Tensor?) -> Tensor {
        let z = self
        let inF = weight.shape[1]
        precondition(z.shape.last == inF, "geluLinear: input \(z.shape) does not end in \(inF) (weight \(weight.shape))")
        guard let bias, GradMode.isEnabled, z.requiresGrad || weight.requiresGrad || bias.requiresGrad else {
            return gelu().linear(weight: weight, bias: bias)
        }
        let zc = z.contiguousNoGrad()
        let out = withNoGrad { zc.gelu().linear(weight: weight, bias: bias) }
        let wc = weight.contiguousNoGrad()
        return Tensor.record(out, inputs: [z, weight, bias], op: "gelu_linear") { g in
            let y = withNoGrad { zc.gelu() }
            var grads = Tensor.linearPullback(g, x: y, needsX: z.requiresGrad, weight: weight, weightContiguous: wc, bias: bias)
            grads[0] = grads[0].map { geluBackward($0, input: zc) }
            return grads
        }
    }

    /// Gradients of `linear` with a bias (x, weight, bias), shared by `linear` and `geluLinear`.
    fileprivate static func linearPullback(_ g: Tensor, x: Tensor, needsX: Bool, weight: Tensor, weightContiguous wc: Tensor,
                                           bias: Tensor) -> [Tensor?] {
        let inF = weight.shape[1], outF = weight.shape[0]
        let rows = x.count / Swift.max(inF, 1)
        let g2 = g.reshapedNoGrad([rows, outF])
        var dx: Tensor? = nil, dw: Tensor? = nil, db: Tensor? = nil
        if needsX {
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
