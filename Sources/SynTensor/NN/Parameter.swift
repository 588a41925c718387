/// A trainable tensor owned by a module; optimizers update `value` in place (its id stays the gradient key).
public final class Parameter {
    /// Current value (a gradient-requiring leaf while trainable).
    public var value: Tensor {
        didSet { if value.requiresGrad != isTrainable || value.node != nil { value.setRequiresGrad(isTrainable) } }
    }
    /// Whether optimizers and `backward` treat it as trainable (false freezes it).
    public var isTrainable: Bool {
        didSet { value.setRequiresGrad(isTrainable) }
    }

    /// Wraps `value` as a trainable leaf.
    public init(_ value: Tensor, trainable: Bool = true) {
        var v = value
        v.setRequiresGrad(trainable)
        self.value = v
        self.isTrainable = trainable
    }

    /// Shape of the value.
    public var shape: [Int] { value.shape }
    /// Gradient key.
    public var id: Int { value.id }
}
