import Foundation

extension Tensor {
    /// Sum over `axes` (all when nil).
    public func sum(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let plan = ReducePlan(shape: shape, axes: axes)
        let r = sumKernel(self, plan)
        let out = keepDims ? r.viewNoGrad(Layout(contiguous: plan.keepDimShape)) : r
        let inShape = shape
        return Tensor.record(out, inputs: [self], op: "sum") { g in
            [g.reshaped(plan.keepDimShape).expanded(inShape)]
        }
    }

    /// Sum over one axis.
    public func sum(axis: Int, keepDims: Bool = false) -> Tensor { sum(axes: [axis], keepDims: keepDims) }

    /// Mean over `axes` (all when nil).
    public func mean(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let plan = ReducePlan(shape: shape, axes: axes)
        return sum(axes: axes, keepDims: keepDims) * (1 / Float(Swift.max(plan.reducedCount, 1)))
    }

    /// Mean over one axis.
    public func mean(axis: Int, keepDims: Bool = false) -> Tensor { mean(axes: [axis], keepDims: keepDims) }

    /// Variance over `axes` with Bessel-style `correction` (1 = unbiased, PyTorch's default).
    public func variance(axes: [Int]? = nil, correction: Int = 1, keepDims: Bool = false) -> Tensor {
        let plan = ReducePlan(shape: shape, axes: axes)
        let mu = mean(axes: axes, keepDims: true)
        let d = self - mu
        let ss = (d * d).sum(axes: axes, keepDims: keepDims)
        return ss * (1 / Float(Swift.max(plan.reducedCount - correction, 0)))
    }

    /// Variance over one axis.
    public func variance(axis: Int, correction: Int = 1, keepDims: Bool = false) -> Tensor {
        variance(axes: [axis], correction: correction, keepDims: keepDims)
    }

    /// Reduces a broadcast gradient back to `target` (sums leading and expanded dimensions).
    public func sumTo(shape target: [Int]) -> Tensor {
        if shape == target { return self }
        let pad = rank - target.count
        precondition(pad >= 0, "cannot sum \(shape) down to \(target)")
        var axes = Array(0..<pad)
        for i in 0..<target.count where target[i] == 1 && shape[i + pad] != 1 { axes.append(i + pad) }
        let s = axes.isEmpty ? self : sum(axes: axes, keepDims: true)
        return s.reshaped(target)
    }

    /// Maximum over `axes` (all when nil). With one axis given the gradient goes to the first maximal
    /// element (as `torch.max(dim)`); over several axes, or all (nil), it is shared by ties (as `torch.amax`, `torch.max()`).
    public func max(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor { extremum(axes: axes, keepDims: keepDims, isMax: true) }
    /// Maximum over one axis.
    public func max(axis: Int, keepDims: Bool = false) -> Tensor { max(axes: [axis], keepDims: keepDims) }
    /// Minimum over `axes` (all when nil); gradient rule as `max`.
    public func min(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor { extremum(axes: axes, keepDims: keepDims, isMax: false) }
    /// Minimum over one axis.
    public func min(axis: Int, keepDims: Bool = false) -> Tensor { min(axes: [axis], keepDims: keepDims) }

    func extremum(axes: [Int]?, keepDims: Bool, isMax: Bool) -> Tensor {
        let plan = ReducePlan(shape: shape, axes: axes)
        let (vals, idx) = extremumKernel(self, plan, isMax: isMax)
        let out = keepDims ? vals.viewNoGrad(Layout(contiguous: plan.keepDimShape)) : vals
        let x = self
        // A full reduction (axes nil) shares ties even on a 1-D tensor, as `torch.max()` does.
        let single = axes != nil && plan.axes.count == 1
        return Tensor.record(out, inputs: [x], op: isMax ? "max" : "min") { g in
            let gk = g.reshaped(plan.keepDimShape)
            if single {
                // Scatter into the [kept, reduced] arrangement, then undo the permutation.
                let K = vals.count, R = plan.reducedCount
                let rowsT = Tensor(shape: [K, R], repeating: 0)
                let gc = gk.contiguousNoGrad()
                for k in 0..<K { rowsT.basePointer[k * R + Int(idx[k])] = gc.basePointer[k] }
                let keptAxes = (0..<x.rank).filter { !plan.axes.contains($0) }
                let perm = keptAxes + plan.axes
                let permShape = perm.map { x.shape[$0] }
                var inverse = [Int](repeating: 0, count: perm.count)
                for (i, d) in perm.enumerated() { inverse[d] = i }
                return [withExtendedLifetime(gc) { rowsT.reshaped(permShape).permuted(inverse).contiguous() }]
            }
            let v = vals.reshaped(plan.keepDimShape)
            let mask = x.equal(v)
            let ties = mask.sum(axes: plan.axes, keepDims: true)
            return [mask * gk / ties]
        }
    }

    /// Index of the first maximum along `axis`, as Float values.
    public func argmax(axis: Int, keepDims: Bool = false) -> Tensor {
        let plan = ReducePlan(shape: shape, axes: [axis])
        let (_, idx) = extremumKernel(self, plan, isMax: true)
        return Tensor(shape: keepDims ? plan.keepDimShape : plan.keptShape, data: idx.map { Float($0) })
    }

    /// Index of the first minimum along `axis`, as Float values.
    public func argmin(axis: Int, keepDims: Bool = false) -> Tensor {
        let plan = ReducePlan(shape: shape, axes: [axis])
        let (_, idx) = extremumKernel(self, plan, isMax: false)
        return Tensor(shape: keepDims ? plan.keepDimShape : plan.keptShape, data: idx.map { Float($0) })
    }
}
