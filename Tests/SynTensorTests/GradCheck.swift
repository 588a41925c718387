import Testing
@testable import SynTensor

/// Central finite differences in Double-accumulated Float arithmetic, compared with autodiff.
/// `f` maps the inputs to any tensor; it is reduced with fixed random weights so every output
/// element contributes.
func checkGradients(_ inputs: [Tensor], eps: Float = 1e-2, rtol: Float = 2e-2, atol: Float = 2e-3,
                    sourceLocation: SourceLocation = #_sourceLocation, _ f: ([Tensor]) -> Tensor) {
    let leaves = inputs.map { $0.requiringGrad() }
    let probe = f(leaves)
    var g = RandomGenerator(seed: 99)
    let weights = Tensor.randn(probe.shape, generator: &g)
    let loss = (probe * weights).sum()
    let grads = loss.backward()
    for (k, x) in leaves.enumerated() {
        let analytic = grads[x]?.scalars ?? [Float](repeating: 0, count: x.count)
        let base = x.scalars
        for i in 0..<base.count {
            var plus = base, minus = base
            plus[i] += eps
            minus[i] -= eps
            func eval(_ vals: [Float]) -> Double {
                var ins = inputs
                ins[k] = Tensor(shape: x.shape, data: vals)
                let out = withNoGrad { f(ins) }
                let o = out.scalars, w = weights.scalars
                var s: Double = 0
                for j in 0..<o.count { s += Double(o[j]) * Double(w[j]) }
                return s
            }
            let numeric = Float((eval(plus) - eval(minus)) / Double(2 * eps))
            let a = analytic[i]
            let ok = abs(a - numeric) <= atol + rtol * max(abs(a), abs(numeric))
            #expect(ok, "input \(k) element \(i): autodiff \(a) vs finite difference \(numeric)", sourceLocation: sourceLocation)
            if !ok { return }
        }
    }
}

/// Deterministic test tensor with values in a friendly range.
func testTensor(_ shape: [Int], seed: UInt64, low: Float = -1, high: Float = 1) -> Tensor {
    var g = RandomGenerator(seed: seed)
    return Tensor.uniform(shape, low: low, high: high, generator: &g)
}
