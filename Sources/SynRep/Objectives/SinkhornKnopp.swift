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

/// Sinkhorn-Knopp over the rows of every process of a data-parallel job: the same normalization
/// as `sinkhornKnopp(_:temperature:iterations:)` applied to all processes' rows stacked, with
/// each total, per-prototype and sample-count sum taken over the job. Returns this process's rows
/// of the result, or nil when it has none (it still joins every collective).
///
/// The per-prototype log-sums are combined by gathering each process's [K] vector of log-sum-exps
/// (a log-domain sum needs a max, which a sum all-reduce cannot give); the exchange per
/// iteration is N x K floats, independent of the batch.
public func sinkhornKnopp(_ scores: Tensor?, prototypes K: Int, temperature: Float, iterations: Int = 3,
                          communicator: Communicator) -> Tensor? {
    withNoGrad {
        let P = scores?.shape[0] ?? 0
        precondition(scores == nil || scores!.shape == [P, K], "sinkhornKnopp: scores \(scores!.shape), expected [P, \(K)]")
        var counts: [Double] = [Double(P)]
        communicator.allReduceSum(&counts)
        let logB = Foundation.log(counts[0]), logK = Foundation.log(Double(K))
        var q = (scores?.scalars ?? []).map { Double($0) / Double(temperature) }
        func combine(_ parts: [[Double]], width: Int) -> [Double] {
            (0..<width).map { j in
                let m = parts.map { $0[j] }.max() ?? -.infinity
                if m == -.infinity { return -.infinity }
                return m + Foundation.log(parts.reduce(0) { $0 + Foundation.exp($1[j] - m) })
            }
        }
        func logSumExp(_ values: some Sequence<Double>) -> Double {
            let m = values.max() ?? -.infinity
            if m == -.infinity { return -.infinity }
            return m + Foundation.log(values.reduce(0) { $0 + Foundation.exp($1 - m) })
        }
        let totalLSE = combine(communicator.allGather([logSumExp(q)]), width: 1)[0]
        for i in q.indices { q[i] -= totalLSE }
        for _ in 0..<iterations {
            var columns = [Double](repeating: -.infinity, count: K)
            for k in 0..<K where P > 0 { columns[k] = logSumExp(stride(from: k, to: P * K, by: K).lazy.map { q[$0] }) }
            let global = combine(communicator.allGather(columns), width: K)
            for p in 0..<P { for k in 0..<K { q[p * K + k] -= global[k] + logK } }
            for p in 0..<P {
                let row = logSumExp(q[p * K ..< (p + 1) * K])
                for k in 0..<K { q[p * K + k] -= row + logB }
            }
        }
        guard P > 0 else { return nil }
        return Tensor(shape: [P, K], data: q.map { Float(Foundation.exp($0 + logB)) })
    }
}
