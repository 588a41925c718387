import Foundation

/// Weight initializers with PyTorch's definitions (`torch.nn.init`), drawing from an explicit generator.
public enum Initializer: Sendable {
    /// All zeros.
    case zeros
    /// All ones.
    case ones
    /// Constant value.
    case constant(Float)
    /// N(mean, std).
    case normal(mean: Float, std: Float)
    /// U(low, high).
    case uniform(low: Float, high: Float)
    /// N(mean, std) truncated to [a, b] (timm/ViT use std 0.02, a = -2, b = 2 absolute).
    case truncatedNormal(mean: Float, std: Float, a: Float, b: Float)
    /// Glorot uniform: U(-g sqrt(6/(fan_in+fan_out)), +...).
    case xavierUniform(gain: Float)
    /// Glorot normal: N(0, g sqrt(2/(fan_in+fan_out))).
    case xavierNormal(gain: Float)
    /// He uniform with leaky-ReLU slope `a` on fan-in: bound = sqrt(6 / ((1 + a^2) fan_in)).
    case kaimingUniform(a: Float)
    /// He normal on fan-in: std = sqrt(2 / ((1 + a^2) fan_in)).
    case kaimingNormal(a: Float)

    /// The truncated normal ViT weights use.
    public static let vit = Initializer.truncatedNormal(mean: 0, std: 0.02, a: -2, b: 2)

    /// Fan-in and fan-out of a weight shape (PyTorch `_calculate_fan_in_and_fan_out`).
    public static func fans(_ shape: [Int]) -> (fanIn: Int, fanOut: Int) {
        precondition(shape.count >= 2, "fan computation needs rank >= 2, got \(shape)")
        let receptive = shape.dropFirst(2).reduce(1, *)
        return (shape[1] * receptive, shape[0] * receptive)
    }

    /// A new tensor of `shape` drawn with this rule.
    public func make(_ shape: [Int], generator: inout RandomGenerator) -> Tensor {
        switch self {
        case .zeros: return .zeros(shape)
        case .ones: return .ones(shape)
        case .constant(let v): return .full(shape, v)
        case let .normal(mean, std): return .randn(shape, mean: mean, std: std, generator: &generator)
        case let .uniform(lo, hi): return .uniform(shape, low: lo, high: hi, generator: &generator)
        case let .truncatedNormal(mean, std, a, b):
            return .truncatedNormal(shape, mean: mean, std: std, a: a, b: b, generator: &generator)
        case .xavierUniform(let g):
            let (fi, fo) = Initializer.fans(shape)
            let bound = g * (6 / Float(fi + fo)).squareRoot()
            return .uniform(shape, low: -bound, high: bound, generator: &generator)
        case .xavierNormal(let g):
            let (fi, fo) = Initializer.fans(shape)
            return .randn(shape, std: g * (2 / Float(fi + fo)).squareRoot(), generator: &generator)
        case .kaimingUniform(let a):
            let (fi, _) = Initializer.fans(shape)
            let bound = (6 / ((1 + a * a) * Float(fi))).squareRoot()
            return .uniform(shape, low: -bound, high: bound, generator: &generator)
        case .kaimingNormal(let a):
            let (fi, _) = Initializer.fans(shape)
            return .randn(shape, std: (2 / ((1 + a * a) * Float(fi))).squareRoot(), generator: &generator)
        }
    }
}
