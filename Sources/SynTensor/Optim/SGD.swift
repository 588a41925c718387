/// Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay (`torch.optim.SGD`):
///   g <- g + wd p;  b <- mu b + (1 - dampening) g (b = g at the first step);  d = nesterov ? g + mu b : b;  p <- p - lr d
public final class SGD: Optimizer {
    /// Parameter groups.
    public var groups: [ParameterGroup]
    /// Base learning rate.
    public var learningRate: Float
    /// L2 weight decay added to the gradient.
    public var weightDecay: Float
    /// Momentum factor.
    public let momentum: Float
    /// Dampening of the momentum update.
    public let dampening: Float
    /// Nesterov momentum.
    public let nesterov: Bool
    private var buffers: [ObjectIdentifier: Tensor] = [:]

    /// SGD over `groups`.
    public init(_ groups: [ParameterGroup], learningRate: Float, momentum: Float = 0, dampening: Float = 0,
                weightDecay: Float = 0, nesterov: Bool = false) {
        precondition(!nesterov || (momentum > 0 && dampening == 0), "Nesterov momentum requires momentum > 0 and zero dampening")
        self.groups = groups
        self.learningRate = learningRate
        self.momentum = momentum
        self.dampening = dampening
        self.weightDecay = weightDecay
        self.nesterov = nesterov
    }

    /// SGD over all trainable parameters of `module`.
    public convenience init(_ module: Module, learningRate: Float, momentum: Float = 0, weightDecay: Float = 0, nesterov: Bool = false) {
        self.init([ParameterGroup(module.namedParameters().filter { $0.1.isTrainable })], learningRate: learningRate,
                  momentum: momentum, weightDecay: weightDecay, nesterov: nesterov)
    }

    /// One update of every parameter that received a gradient.
    public func step(_ grads: Gradients) {
        for group in groups {
            let lr = learningRate * group.lrScale, wd = weightDecay * group.weightDecayScale
            for (_, p) in group.parameters where p.isTrainable {
                guard let g0 = grads[p.value] else { continue }
                let g = g0.contiguous()
                let key = ObjectIdentifier(p)
                let n = p.value.count
                let gp = SendablePointer(g.basePointer)
                let mu = momentum, damp = dampening, nest = nesterov
                if mu != 0 {
                    let first = buffers[key] == nil
                    var buf = buffers[key] ?? Tensor.zeros(p.shape)
                    buf.withUnsafeMutableBufferPointer { bb in
                        p.value.withUnsafeMutableBufferPointer { pb in
                            let bp = SendablePointer(bb.baseAddress!), pp = SendablePointer(pb.baseAddress!)
                            parallelRows(rows: n, work: n * 5) { r in
                                for i in r {
                                    let gi = gp.p[i] + wd * pp.p[i]
                                    let b = first ? gi : mu * bp.p[i] + (1 - damp) * gi
                                    bp.p[i] = b
                                    let d = nest ? gi + mu * b : b
                                    pp.p[i] -= lr * d
                                }
                            }
                        }
                    }
                    buffers[key] = buf
                } else {
                    p.value.withUnsafeMutableBufferPointer { pb in
                        let pp = SendablePointer(pb.baseAddress!)
                        parallelRows(rows: n, work: n * 3) { r in
                            for i in r { pp.p[i] -= lr * (gp.p[i] + wd * pp.p[i]) }
                        }
                    }
                }
                withExtendedLifetime(g) {}
            }
        }
    }

    /// Momentum buffers as `name.momentum_buffer`.
    public func stateDict() -> [String: Tensor] {
        var d: [String: Tensor] = [:]
        for group in groups {
            for (name, p) in group.parameters {
                if let b = buffers[ObjectIdentifier(p)] { d[name + ".momentum_buffer"] = b }
            }
        }
        return d
    }

    /// Restores momentum buffers.
    public func loadStateDict(_ state: [String: Tensor]) throws {
        for group in groups {
            for (name, p) in group.parameters {
                guard let b = state[name + ".momentum_buffer"] else { continue }
                guard b.shape == p.shape else { throw OptimizerError.stateMismatch("\(name): buffer \(b.shape) for parameter \(p.shape)") }
                buffers[ObjectIdentifier(p)] = b.contiguous()
            }
        }
    }
}
