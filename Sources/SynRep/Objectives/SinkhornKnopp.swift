import SynTensor

/// Sinkhorn-Knopp centering of teacher prototype scores (SwAV; iBOT/DINOv2 teacher targets),
/// in a single process: Q = exp(scores / T)^T [K, B], normalized to total mass 1, then
/// `iterations` alternations of row (prototype) and column (sample) normalization; returns B Q^T,
/// whose rows sum to 1.
///
/// scores: [B, K] teacher logits of the B samples (here: masked patches). No gradient.
public func sinkhornKnopp(_ scores: Tensor, temperature: Float, iterations: Int = 3) -> Tensor {
    withNoGrad {
        precondition(scores.rank == 2, "sinkhornKnopp needs [B, K] scores, got \(scores.shape)")
        let B = Float(scores.shape[0]), K = Float(scores.shape[1])
        // Subtracting the global max leaves Q unchanged after normalization and avoids overflow.
        let scaled = scores * (1 / temperature)
        var q = (scaled - scaled.max()).exp()            // [B, K]
        q = q / q.sum()
        for _ in 0..<iterations {
            q = q / q.sum(axis: 0, keepDims: true) / K     // each prototype gets mass 1/K
            q = q / q.sum(axis: 1, keepDims: true) / B     // each sample gets mass 1/B
        }
        return q * B
    }
}
