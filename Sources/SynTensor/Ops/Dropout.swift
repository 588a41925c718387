extension Tensor {
    /// Zeroes elements with probability `p` and scales the rest by 1/(1-p); identity when not training.
    public func dropout(_ p: Float, training: Bool, generator: inout RandomGenerator) -> Tensor {
        if !training || p == 0 { return self }
        precondition(p >= 0 && p < 1, "dropout probability must be in [0, 1), got \(p)")
        let u = Tensor.uniform(shape, generator: &generator)
        let scale = 1 / (1 - p)
        let mask = mapUnary(u) { $0 < p ? 0 : scale }
        return self * mask
    }
}
