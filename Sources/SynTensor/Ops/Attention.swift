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
