import Foundation

/// Adam with decoupled weight decay (Loshchilov & Hutter), matching `torch.optim.AdamW`:
///   p <- p - lr * wd * p;  m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2
///   p <- p - lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
public final class AdamW: Optimizer {
    /// Parameter groups.
    public var groups: [ParameterGroup]
    /// Base learning rate.
    public var learningRate: Float
    /// Base decoupled weight decay.
    public var weightDecay: Float
    /// Moment decay rates.
    public let beta1: Float, beta2: Float
    /// Denominator epsilon.
    public let eps: Float
    private var moments: [ObjectIdentifier: (m: Tensor, v: Tensor, step: Int)] = [:]

    /// AdamW over `groups` (PyTorch defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, wd 1e-2).
    public init(_ groups: [ParameterGroup], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                eps: Float = 1e-8, weightDecay: Float = 1e-2) {
        self.groups = groups
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
    }

    /// AdamW over all trainable parameters of `module` in one group.
    public convenience init(_ module: Module, learningRate: Float = 1e-3, weightDecay: Float = 1e-2) {
        self.init([ParameterGroup(module.namedParameters().filter { $0.1.isTrainable })], learningRate: learningRate,
                  weightDecay: weightDecay)
    }

    /// One update of every parameter that received a gradient.
    public func step(_ grads: Gradients) {
        for group in groups {
            let lr = learningRate * group.lrScale
            let wd = weightDecay * group.weightDecayScale
            for (_, p) in group.parameters where p.isTrainable {
                guard let g = grads[p.value] else { continue }
                update(p, g.contiguous(), lr: lr, wd: wd)
            }
        }
    }

    private func update(_ p: Parameter, _ g: Tensor, lr: Float, wd: Float) {
        let key = ObjectIdentifier(p)
        var state = moments[key] ?? (Tensor.zeros(p.shape), Tensor.zeros(p.shape), 0)
        state.step += 1
        let t = Float(state.step)
        let bc1 = 1 - Foundation.pow(beta1, t), bc2 = 1 - Foundation.pow(beta2, t)
        let b1 = beta1, b2 = beta2, eps = self.eps
        let stepSize = lr / bc1
        let bc2Sqrt = bc2.squareRoot()
        let decay = 1 - lr * wd
        let n = p.value.count
        let gp = SendablePointer(g.basePointer)
        // Moments and weights are updated in place; `withUnsafeMutableBufferPointer` keeps ids stable.
        state.m.withUnsafeMutableBufferPointer { mb in
            state.v.withUnsafeMutableBufferPointer { vb in
                p.value.withUnsafeMutableBufferPointer { pb in
                    let mp = SendablePointer(mb.baseAddress!), vp = SendablePointer(vb.baseAddress!), pp = SendablePointer(pb.baseAddress!)
                    parallelRows(rows: n, work: n * 6) { r in
                        for i in r {
                            let gi = gp.p[i]
                            let m = b1 * mp.p[i] + (1 - b1) * gi
                            let v = b2 * vp.p[i] + (1 - b2) * gi * gi
                            mp.p[i] = m
                            vp.p[i] = v
                            pp.p[i] = pp.p[i] * decay - stepSize * m / (v.squareRoot() / bc2Sqrt + eps)
                        }
                    }
                }
            }
        }
        withExtendedLifetime(g) {}
        moments[key] = state
    }

    /// Moments as `name.exp_avg`, `name.exp_avg_sq` and `name.step`.
    public func stateDict() -> [String: Tensor] {
        var d: [String: Tensor] = [:]
        for group in groups {
            for (name, p) in group.parameters {
                guard let s = moments[ObjectIdentifier(p)] else { continue }
                d[name + ".exp_avg"] = s.m
                d[name + ".exp_avg_sq"] = s.v
                d[name + ".step"] = Tensor(Float(s.step))
            }
        }
        return d
    }

    /// Restores moments saved by `stateDict()`.
    public func loadStateDict(_ state: [String: Tensor]) throws {
        for group in groups {
            for (name, p) in group.parameters {
                guard let m = state[name + ".exp_avg"], let v = state[name + ".exp_avg_sq"], let s = state[name + ".step"] else { continue }
                guard m.shape == p.shape, v.shape == p.shape else {
                    throw OptimizerError.stateMismatch("\(name): moments \(m.shape) for parameter \(p.shape)")
                }
                moments[ObjectIdentifier(p)] = (m.contiguous(), v.contiguous(), Int(s.item()))
            }
        }
    }
}
