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

    /// One update of every parameter that received a gradient, in one parallel pass over all of them
    /// (chunks of every tensor share the threads, so the many small tensors of a model cost one parallel
    /// section instead of one each, and the moments are updated in place, never copied).
    public func step(_ grads: Gradients) {
        var items: [Item] = []
        var keep: [Tensor] = []
        var seen = Set<ObjectIdentifier>()
        for group in groups {
            let lr = learningRate * group.lrScale
            let wd = weightDecay * group.weightDecayScale
            // A parameter listed in several groups is updated once, with its first group's settings.
            for (_, p) in group.parameters where p.isTrainable && seen.insert(ObjectIdentifier(p)).inserted {
                guard let g = grads[p.value] else { continue }
                let gc = g.contiguous()
                keep.append(gc)
                items.append(prepare(p, gc, lr: lr, wd: wd))
            }
        }
        // About 16K floats per chunk: enough work per claim, and many chunks for balance.
        let chunkSize = 1 << 14
        var chunks: [(item: Int, start: Int, end: Int)] = []
        for (i, item) in items.enumerated() {
            var start = 0
            while start < item.count {
                chunks.append((i, start, Swift.min(item.count, start + chunkSize)))
                start += chunkSize
            }
        }
        let (b1, b2, eps) = (beta1, beta2, self.eps)
        items.withUnsafeBufferPointer { itemBuffer in
            chunks.withUnsafeBufferPointer { chunkBuffer in
                let its = UncheckedBox(itemBuffer), cks = UncheckedBox(chunkBuffer)
                parallelFor(chunkBuffer.count) { c in
                    let chunk = cks.value[c], it = its.value[chunk.item]
                    let (pp, mp, vp, gp) = (it.p, it.m, it.v, it.g)
                    for i in chunk.start..<chunk.end {
                        let gi = gp[i]
                        let m = b1 * mp[i] + (1 - b1) * gi
                        let v = b2 * vp[i] + (1 - b2) * gi * gi
                        mp[i] = m
                        vp[i] = v
                        pp[i] = pp[i] * it.decay - it.stepSize * m / (v.squareRoot() / it.bc2Sqrt + eps)
                    }
                }
            }
        }
        withExtendedLifetime(keep) {}
    }

    /// One parameter's buffers and constants for a step.
    private struct Item {
        let p: UnsafeMutablePointer<Float>, m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>
        let g: UnsafePointer<Float>
        let count: Int
        let decay: Float, stepSize: Float, bc2Sqrt: Float
    }

    /// Advances `p`'s step count and returns pointers into its weights and moments (each uniquely
    /// owned: the moments leave the table while their storage is made unique, so nothing is copied
    /// after the first step) with the step's constants.
    private func prepare(_ p: Parameter, _ g: Tensor, lr: Float, wd: Float) -> Item {
        let key = ObjectIdentifier(p)
        var state = moments.removeValue(forKey: key) ?? (Tensor.zeros(p.shape), Tensor.zeros(p.shape), 0)
        state.step += 1
        let t = Float(state.step)
        let bc1 = 1 - Foundation.pow(beta1, t), bc2 = 1 - Foundation.pow(beta2, t)
        // The buffers belong to tensor storages kept alive by `moments` and the parameter, so the
        // pointers stay valid through the step.
        let m = state.m.withUnsafeMutableBufferPointer { $0.baseAddress.unsafelyUnwrapped }
        let v = state.v.withUnsafeMutableBufferPointer { $0.baseAddress.unsafelyUnwrapped }
        let w = p.value.withUnsafeMutableBufferPointer { $0.baseAddress.unsafelyUnwrapped }
        moments[key] = state
        return Item(p: w, m: m, v: v, g: UnsafePointer(g.basePointer), count: p.value.count, decay: 1 - lr * wd,
                    stepSize: lr / bc1, bc2Sqrt: bc2.squareRoot())
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
