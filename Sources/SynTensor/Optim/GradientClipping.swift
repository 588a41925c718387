/// Scales gradients of `parameters` so their global L2 norm is at most `maxNorm` (as
/// `torch.nn.utils.clip_grad_norm_`, which scales by maxNorm / (norm + 1e-6)); returns the norm before clipping.
@discardableResult
public func clipGradientNorm(_ grads: inout Gradients, parameters: [Parameter], maxNorm: Float) -> Float {
    var total: Double = 0
    for p in parameters {
        guard let g = grads[p.value] else { continue }
        g.withUnsafeBufferPointer { b in
            var s: Float = 0
            for v in b { s += v * v }
            total += Double(s)
        }
    }
    let norm = Float(total.squareRoot())
    let coef = maxNorm / (norm + 1e-6)
    if coef < 1 {
        withNoGrad {
            for p in parameters {
                if let g = grads[p.value] { grads[p.value] = g * coef }
            }
        }
    }
    return norm
}
