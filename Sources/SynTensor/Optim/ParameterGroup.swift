/// Parameters sharing optimizer settings (e.g. no weight decay on biases and norms).
public struct ParameterGroup {
    /// Parameter names (for checkpoints) and parameters.
    public var parameters: [(String, Parameter)]
    /// Decoupled (AdamW) or L2 (SGD) weight decay multiplier for this group, times the optimizer's.
    public var weightDecayScale: Float
    /// Learning-rate multiplier for this group.
    public var lrScale: Float

    /// A group with its own decay and LR scales.
    public init(_ parameters: [(String, Parameter)], weightDecayScale: Float = 1, lrScale: Float = 1) {
        self.parameters = parameters
        self.weightDecayScale = weightDecayScale
        self.lrScale = lrScale
    }

    /// Splits a module's trainable parameters: rank >= 2 tensors decay, 1-D tensors (biases, norms) do not.
    public static func decayAndNoDecay(_ named: [(String, Parameter)], extraNoDecay: (String) -> Bool = { _ in false }) -> [ParameterGroup] {
        var decay: [(String, Parameter)] = [], noDecay: [(String, Parameter)] = []
        for (n, p) in named where p.isTrainable {
            if p.value.rank <= 1 || n.hasSuffix(".bias") || extraNoDecay(n) { noDecay.append((n, p)) } else { decay.append((n, p)) }
        }
        return [ParameterGroup(decay), ParameterGroup(noDecay, weightDecayScale: 0)]
    }
}

/// A first-order optimizer: one update rule applied to every parameter that has a gradient.
public protocol Optimizer: AnyObject {
    /// Base learning rate (schedules set it every step).
    var learningRate: Float { get set }
    /// Base weight decay (schedules may set it every step).
    var weightDecay: Float { get set }
    /// Updates every parameter with a gradient in `grads`.
    func step(_ grads: Gradients)
    /// Optimizer state (moments, step counts) by parameter name, for checkpoints.
    func stateDict() -> [String: Tensor]
    /// Restores `stateDict()` output.
    func loadStateDict(_ state: [String: Tensor]) throws
}

/// Errors restoring optimizer state.
public enum OptimizerError: Error, CustomStringConvertible {
    /// A saved state tensor does not fit its parameter.
    case stateMismatch(String)

    /// Description naming the problem.
    public var description: String {
        switch self {
        case .stateMismatch(let m): return "optimizer state mismatch: \(m)"
        }
    }
}
