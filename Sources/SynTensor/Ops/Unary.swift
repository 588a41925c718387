import CSynKernels
import Foundation

extension Tensor {
    /// e^x.
    public func exp() -> Tensor {
        let out = mapUnary(self, ExpF())
        return Tensor.record(out, inputs: [self], op: "exp") { g in [g * out.detached()] }
    }

    /// Natural logarithm.
    public func log() -> Tensor {
        let x = self
        let out = mapUnary(x) { Foundation.log($0) }
        return Tensor.record(out, inputs: [x], op: "log") { g in [g / x] }
    }

    /// Square root.
    public func sqrt() -> Tensor {
        let out = mapUnary(self) { $0.squareRoot() }
        return Tensor.record(out, inputs: [self], op: "sqrt") { g in [mapBinary(g, out) { g, y in g * 0.5 / y }] }
    }

    /// 1 / sqrt(x).
    public func rsqrt() -> Tensor {
        let out = mapUnary(self) { 1 / $0.squareRoot() }
        return Tensor.record(out, inputs: [self], op: "rsqrt") { g in [mapBinary(g, out) { g, y in -0.5 * g * y * y * y }] }
    }

    /// |x| (subgradient 0 at 0, as PyTorch).
    public func abs() -> Tensor {
        let x = self
        let out = mapUnary(x) { Swift.abs($0) }
        return Tensor.record(out, inputs: [x], op: "abs") { g in
            [mapBinary(g, x) { g, v in v > 0 ? g : (v < 0 ? -g : 0) }]
        }
    }

    /// Sine.
    public func sin() -> Tensor {
        let x = self
        let out = mapUnary(x) { Foundation.sin($0) }
        return Tensor.record(out, inputs: [x], op: "sin") { g in [mapBinary(g, x) { g, v in g * Foundation.cos(v) }] }
    }

    /// Cosine.
    public func cos() -> Tensor {
        let x = self
        let out = mapUnary(x) { Foundation.cos($0) }
        return Tensor.record(out, inputs: [x], op: "cos") { g in [mapBinary(g, x) { g, v in -g * Foundation.sin(v) }] }
    }

    /// Hyperbolic tangent.
    public func tanh() -> Tensor {
        let out = mapUnary(self, TanhF())
        return Tensor.record(out, inputs: [self], op: "tanh") { g in [mapBinary(g, out, TanhGradF())] }
    }

    /// Logistic sigmoid 1 / (1 + e^-x).
    public func sigmoid() -> Tensor {
        let out = mapUnary(self, SigmoidF())
        return Tensor.record(out, inputs: [self], op: "sigmoid") { g in [mapBinary(g, out, SigmoidGradF())] }
    }

    /// max(x, 0).
    public func relu() -> Tensor {
        let x = self
        let out = mapUnary(x, ReluF())
        return Tensor.record(out, inputs: [x], op: "relu") { g in [mapBinary(g, out, ReluGradF())] }
    }

    /// x * sigmoid(x) (SiLU / swish).
    public func silu() -> Tensor {
        let x = self
        let out = mapUnary(x, SiluF())
        return Tensor.record(out, inputs: [x], op: "silu") { g in
            [mapBinary(g, x, SiluGradF())]
        }
    }

    /// GELU: exact `0.5 x (1 + erf(x / sqrt 2))`, or PyTorch's `approximate="tanh"` form.
    public func gelu(approximateTanh: Bool = false) -> Tensor {
        let x = self
        if approximateTanh {
            let out = mapUnary(x, GeluTanhF())
            return Tensor.record(out, inputs: [x], op: "gelu_tanh") { g in [mapBinary(g, x, GeluTanhGradF())] }
        }
        let xc = x.contiguous()
        let out = Tensor(uninitializedShape: x.shape)
        let n = out.count
        let src = SendablePointer(xc.basePointer), dst = SendablePointer(out.basePointer)
        withExtendedLifetime(xc) {
            parallelRows(rows: n, work: n * 4) { r in csyn_gelu_forward(src.p + r.lowerBound, dst.p + r.lowerBound, Int64(r.count)) }
        }
        return Tensor.record(out, inputs: [x], op: "gelu") { g in [geluBackward(g, input: xc)] }
    }
}

/// Exact GELU's input gradient: g * GELU'(x) for the contiguous input `xc` (the vector kernel when g
/// is contiguous and of the same shape; `gelu()` and `geluLinear` share it).
func geluBackward(_ g: Tensor, input xc: Tensor) -> Tensor {
    guard g.shape == xc.shape, g.isContiguous else { return mapBinary(g, xc, GeluGradF()) }
    let dx = Tensor(uninitializedShape: xc.shape)
    let n = dx.count
    let gp = SendablePointer(g.basePointer), src = SendablePointer(xc.basePointer), dp = SendablePointer(dx.basePointer)
    withExtendedLifetime((g, xc)) {
        parallelRows(rows: n, work: n * 4) { r in
            csyn_gelu_backward(gp.p + r.lowerBound, src.p + r.lowerBound, dp.p + r.lowerBound, Int64(r.count))
        }
    }
    return dx
}

/// Overflow-safe logistic function.
@inline(__always) func sigmoidScalar(_ x: Float) -> Float {
    if x >= 0 { return 1 / (1 + fastExp(-x)) }
    let e = fastExp(x)
    return e / (1 + e)
}

@inline(__always) func geluErfScalar(_ x: Float) -> Float {
    0.5 * x * (1 + fastErf(x * 0.70710678118654752))
}

/// d/dx of x Phi(x) = Phi(x) + x phi(x).
@inline(__always) func geluErfGrad(_ x: Float) -> Float {
    let cdf = 0.5 * (1 + fastErf(x * 0.70710678118654752))
    let pdf = 0.3989422804014327 * fastExp(-0.5 * x * x)
    return cdf + x * pdf
}

@inline(__always) func geluTanhScalar(_ x: Float) -> Float {
    let k: Float = 0.7978845608028654
    let inner = k * (x + 0.044715 * x * x * x)
    return 0.5 * x * (1 + fastTanh(inner))
}

@inline(__always) func geluTanhGrad(_ x: Float) -> Float {
    let k: Float = 0.7978845608028654
    let inner = k * (x + 0.044715 * x * x * x)
    let t = fastTanh(inner)
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x)
}
