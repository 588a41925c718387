import Foundation

extension Tensor {
    /// All zeros.
    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(shape: shape, repeating: 0) }
    /// All ones.
    public static func ones(_ shape: [Int]) -> Tensor { Tensor(shape: shape, repeating: 1) }
    /// Every element `value`.
    public static func full(_ shape: [Int], _ value: Float) -> Tensor { Tensor(shape: shape, repeating: value) }
    /// Zeros shaped like `t`.
    public static func zeros(like t: Tensor) -> Tensor { zeros(t.shape) }
    /// Ones shaped like `t`.
    public static func ones(like t: Tensor) -> Tensor { ones(t.shape) }

    /// `start, start+step, ...` below `end` (as `torch.arange`).
    public static func arange(_ start: Float = 0, _ end: Float, step: Float = 1) -> Tensor {
        precondition(step != 0, "arange step must be nonzero")
        let n = Swift.max(0, Int((Double(end - start) / Double(step)).rounded(.up)))
        return Tensor(shape: [n], data: (0..<n).map { start + Float($0) * step })
    }

    /// Integer range 0..<n as floats.
    public static func arange(_ n: Int) -> Tensor { Tensor(shape: [n], data: (0..<n).map(Float.init)) }

    /// `count` evenly spaced values from `start` to `end` inclusive (as `torch.linspace`).
    public static func linspace(_ start: Float, _ end: Float, count: Int) -> Tensor {
        if count == 1 { return Tensor([start]) }
        let step = (Double(end) - Double(start)) / Double(count - 1)
        // PyTorch fills the second half from the end so the last value is exactly `end`.
        let half = count / 2
        let data: [Float] = (0..<count).map { i in
            i < half ? Float(Double(start) + step * Double(i)) : Float(Double(end) - step * Double(count - 1 - i))
        }
        return Tensor(shape: [count], data: data)
    }

    /// Identity matrix.
    public static func eye(_ n: Int) -> Tensor {
        var t = zeros([n, n])
        t.withUnsafeMutableBufferPointer { p in for i in 0..<n { p[i * n + i] = 1 } }
        return t
    }

    /// Uniform samples in [lo, hi) from `generator` (advances it by `count` words).
    public static func uniform(_ shape: [Int], low lo: Float = 0, high hi: Float = 1, generator: inout RandomGenerator) -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        let n = out.count
        let g = generator, start = generator.position
        let dst = SendablePointer(out.basePointer)
        parallelRows(rows: n, work: n * 16) { r in
            for i in r { dst.p[i] = lo + (hi - lo) * uniformFloat(g.word(at: start &+ UInt64(i))) }
        }
        generator.position &+= UInt64(n)
        return out
    }

    /// Normal samples (Box-Muller over word pairs) from `generator` (advances it by 2 * ceil(count/2) words).
    public static func randn(_ shape: [Int], mean: Float = 0, std: Float = 1, generator: inout RandomGenerator) -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        let n = out.count
        let pairs = (n + 1) / 2
        let g = generator, start = generator.position
        let dst = SendablePointer(out.basePointer)
        parallelRows(rows: pairs, work: n * 32) { r in
            for j in r {
                let w = start &+ UInt64(2 * j)
                let (z0, z1) = boxMuller(uniformOpenFloat(g.word(at: w)), uniformFloat(g.word(at: w &+ 1)))
                dst.p[2 * j] = mean + std * z0
                if 2 * j + 1 < n { dst.p[2 * j + 1] = mean + std * z1 }
            }
        }
        generator.position &+= UInt64(2 * pairs)
        return out
    }

    /// Normal samples truncated to [a, b] by inverting the CDF (as `torch.nn.init.trunc_normal_`).
    public static func truncatedNormal(_ shape: [Int], mean: Float = 0, std: Float = 1, a: Float = -2, b: Float = 2,
                                       generator: inout RandomGenerator) -> Tensor {
        func cdf(_ x: Double) -> Double { (1 + Foundation.erf(x / 2.0.squareRoot())) / 2 }
        let l = cdf(Double((a - mean) / std)), u = cdf(Double((b - mean) / std))
        let out = Tensor(uninitializedShape: shape)
        let n = out.count
        let g = generator, start = generator.position
        let dst = SendablePointer(out.basePointer)
        parallelRows(rows: n, work: n * 64) { r in
            for i in r {
                let v = Double(uniformFloat(g.word(at: start &+ UInt64(i))))
                let y = (2 * l - 1) + v * (2 * u - 2 * l)
                let z = erfinv(y) * 2.0.squareRoot() * Double(std) + Double(mean)
                dst.p[i] = Swift.min(Swift.max(Float(z), a), b)
            }
        }
        generator.position &+= UInt64(n)
        return out
    }

    /// 1 with probability `p`, else 0.
    public static func bernoulli(_ shape: [Int], p: Float, generator: inout RandomGenerator) -> Tensor {
        let u = uniform(shape, generator: &generator)
        return mapUnary(u) { $0 < p ? 1 : 0 }
    }
}

/// Inverse error function in Double: Giles' initial approximation refined by two Newton steps.
func erfinv(_ y: Double) -> Double {
    if y <= -1 { return -Double.infinity }
    if y >= 1 { return Double.infinity }
    var w = -Foundation.log((1 - y) * (1 + y))
    var x: Double
    if w < 5 {
        w -= 2.5
        var p = 2.81022636e-08
        p = 3.43273939e-07 + p * w; p = -3.5233877e-06 + p * w; p = -4.39150654e-06 + p * w
        p = 0.00021858087 + p * w; p = -0.00125372503 + p * w; p = -0.00417768164 + p * w
        p = 0.246640727 + p * w; p = 1.50140941 + p * w
        x = p * y
    } else {
        w = w.squareRoot() - 3
        var p = -0.000200214257
        p = 0.000100950558 + p * w; p = 0.00134934322 + p * w; p = -0.00367342844 + p * w
        p = 0.00573950773 + p * w; p = -0.0076224613 + p * w; p = 0.00943887047 + p * w
        p = 1.00167406 + p * w; p = 2.83297682 + p * w
        x = p * y
    }
    for _ in 0..<2 {
        let err = Foundation.erf(x) - y
        x -= err / (2 / Double.pi.squareRoot() * Foundation.exp(-x * x))
    }
    return x
}
