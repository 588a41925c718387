import Foundation
import SynTensor

/// Sinkhorn-Knopp centering of teacher prototype scores (SwAV; iBOT/DINOv2 teacher targets),
/// in a single process: Q = exp(scores / T)^T [K, B], normalized to total mass 1, then
/// `iterations` alternations of row (prototype) and column (sample) normalization; returns B Q^T,
/// whose rows sum to 1.
///
/// Computed in the log domain (each normalization subtracts a log-sum-exp), which is the same
/// result as the DINOv2 formula but cannot overflow (exp(s / T) beyond float32) nor divide 0 by 0
/// (a prototype or sample whose every exp(s / T) underflows) when scores span a wide range.
///
/// scores: [B, K] teacher logits of the B samples (here: masked patches). No gradient.
public func sinkhornKnopp(_ scores: Tensor, temperature: Float, iterations: Int = 3) -> Tensor {
    withNoGrad {
        precondition(scores.rank == 2, "sinkhornKnopp needs [B, K] scores, got \(scores.shape)")
        let logB = Float(Foundation.log(Double(scores.shape[0]))), logK = Float(Foundation.log(Double(scores.shape[1])))
        var logQ = scores * (1 / temperature)                                   // [B, K]
        logQ = logQ - logQ.reshaped([-1]).logsumexp(axis: 0)                     // total mass 1
        for _ in 0..<iterations {
            logQ = logQ - logQ.logsumexp(axis: 0, keepDims: true) - logK         // each prototype gets mass 1/K
            logQ = logQ - logQ.logsumexp(axis: 1, keepDims: true) - logB         // each sample gets mass 1/B
        }
        return (logQ + logB).exp()
    }
}
