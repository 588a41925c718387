import Foundation

/// A value that changes with the training step (learning rate, weight decay, EMA momentum, temperature).
public protocol Schedule: Sendable {
    /// Value at `step` (0-based).
    func value(at step: Int) -> Float
}

/// Linear warm-up from `warmupStart` to `base` over `warmupSteps`, then a half-cosine from `base`
/// to `final` at `totalSteps` (held after). With base < final it rises, as SynCLR's weight decay does.
/// Matches DINO/SynCLR's `cosine_scheduler`: the warm-up is `linspace(start, base, warmupSteps)`, so
/// its last step already equals `base`.
public struct WarmupCosineSchedule: Schedule, Codable, Hashable {
    /// Value after warm-up.
    public var base: Float
    /// Value at the end.
    public var final: Float
    /// Warm-up length in steps.
    public var warmupSteps: Int
    /// Total steps.
    public var totalSteps: Int
    /// Value at step 0 of the warm-up.
    public var warmupStart: Float

    /// A warm-up + cosine schedule.
    public init(base: Float, final: Float, warmupSteps: Int = 0, totalSteps: Int, warmupStart: Float = 0) {
        self.base = base
        self.final = final
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.warmupStart = warmupStart
    }

    /// Value at `step`.
    public func value(at step: Int) -> Float {
        if step < warmupSteps {
            if warmupSteps == 1 { return base }
            return warmupStart + (base - warmupStart) * Float(step) / Float(warmupSteps - 1)
        }
        let span = Swift.max(totalSteps - warmupSteps, 1)
        let t = Swift.min(Float(step - warmupSteps) / Float(span), 1)
        return final + (base - final) * 0.5 * (1 + Float(Foundation.cos(Double.pi * Double(t))))
    }
}

/// Linear interpolation from `start` to `end` over `steps`, then constant (e.g. iBOT teacher temperature).
public struct LinearSchedule: Schedule, Codable, Hashable {
    /// Value at step 0.
    public var start: Float
    /// Value from `steps` on.
    public var end: Float
    /// Ramp length.
    public var steps: Int

    /// A linear ramp.
    public init(start: Float, end: Float, steps: Int) {
        self.start = start
        self.end = end
        self.steps = steps
    }

    /// Value at `step`.
    public func value(at step: Int) -> Float {
        if step >= steps { return end }
        return start + (end - start) * Float(step) / Float(Swift.max(steps, 1))
    }
}

/// A constant.
public struct ConstantSchedule: Schedule, Codable, Hashable {
    /// The value.
    public var constant: Float
    /// A constant schedule.
    public init(_ constant: Float) { self.constant = constant }
    /// Always `constant`.
    public func value(at step: Int) -> Float { constant }
}
