import SynTensor

/// Exponential moving average of a module's parameters kept in a second module of the same shape:
/// ema <- d ema + (1 - d) p with d = min(decay, (1 + step) / (10 + step)) (the warm-up of
/// Tarvainen & Valpola's mean teacher as used in diffusers' `EMAModel`).
public struct ExponentialMovingAverage {
    /// Target decay.
    public let decay: Float

    /// An EMA with decay `decay`.
    public init(decay: Float) { self.decay = decay }

    /// The decay applied after optimizer step `step` (0-based).
    public func decay(at step: Int) -> Float { min(decay, Float(1 + step) / Float(10 + step)) }

    /// Moves `average`'s parameters towards `model`'s (same structure) after optimizer step `step`.
    public func update(_ average: Module, towards model: Module, step: Int) {
        let d = decay(at: step)
        let ps = model.parameters(), es = average.parameters()
        precondition(ps.count == es.count, "EMA module has \(es.count) parameters, the model \(ps.count)")
        for (p, e) in zip(ps, es) {
            precondition(p.shape == e.shape, "EMA parameter \(e.shape) vs model \(p.shape)")
            let src = p.value.contiguous()
            src.withUnsafeBufferPointer { s in
                e.value.withUnsafeMutableBufferPointer { t in
                    for i in 0..<t.count { t[i] = d * t[i] + (1 - d) * s[i] }
                }
            }
        }
    }

    /// Copies `model`'s parameters into `average`.
    public static func copy(_ model: Module, into average: Module) {
        for (p, e) in zip(model.parameters(), average.parameters()) {
            let src = p.value.contiguous()
            src.withUnsafeBufferPointer { s in
                e.value.withUnsafeMutableBufferPointer { t in
                    for i in 0..<t.count { t[i] = s[i] }
                }
            }
        }
    }
}
