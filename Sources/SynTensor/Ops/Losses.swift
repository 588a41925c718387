extension Tensor {
    /// Mean cross-entropy of logits [N, C] against class indices (optional label smoothing, as PyTorch).
    public func crossEntropy(labels: [Int], labelSmoothing: Float = 0) -> Tensor {
        precondition(rank == 2 && labels.count == shape[0], "crossEntropy needs logits [N, C] and N labels, got \(shape) and \(labels.count)")
        let C = shape[1]
        for l in labels { precondition(l >= 0 && l < C, "label \(l) out of range for \(C) classes") }
        let logp = logSoftmax(axis: -1)
        let nll = -logp.pick(labels: labels).mean()
        if labelSmoothing == 0 { return nll }
        let smooth = -logp.mean(axis: 1).mean()
        return nll * (1 - labelSmoothing) + smooth * labelSmoothing
    }

    /// Mean over rows of H(p, softmax(logits)) = -sum_j p_j log q_j, with soft targets p [N, C].
    public func crossEntropy(targets p: Tensor) -> Tensor {
        precondition(p.shape == shape, "soft targets shape \(p.shape) != logits shape \(shape)")
        let logq = logSoftmax(axis: -1)
        return -(p * logq).sum(axis: -1).mean()
    }

    /// Mean squared error.
    public func mseLoss(_ target: Tensor) -> Tensor {
        let d = self - target
        return (d * d).mean()
    }
}
