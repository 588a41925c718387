import Foundation

extension Tensor {
    /// Moves `axis` last when needed; returns the rows view and whether it moved.
    fileprivate func lastAxisApply(_ axis: Int, _ f: (Tensor) -> Tensor) -> Tensor {
        let a = normalizeAxis(axis, rank: rank)
        if a == rank - 1 { return f(self) }
        return f(transposed(a, -1)).transposed(a, -1)
    }

    /// Softmax along `axis`.
    public func softmax(axis: Int = -1) -> Tensor { softmax(axis: axis, zeroBlockedRows: false) }

    /// Softmax along `axis`; with `zeroBlockedRows`, all -inf rows give zeros (and zero gradient) instead of NaN.
    func softmax(axis: Int, zeroBlockedRows: Bool) -> Tensor {
        lastAxisApply(axis) { x in
            let xc = x.contiguousNoGrad()
            let n = x.shape.last ?? 1
            let rows = x.count / Swift.max(n, 1)
            let y = Tensor(uninitializedShape: x.shape)
            softmaxForward(xc.basePointer, y.basePointer, rows: rows, n: n, log: false, zeroBlockedRows: zeroBlockedRows)
            return Tensor.record(y, inputs: [x], op: "softmax") { g in
                let gc = g.contiguousNoGrad()
                let dx = Tensor(uninitializedShape: x.shape)
                softmaxBackward(gc.basePointer, y.basePointer, dx.basePointer, rows: rows, n: n, log: false)
                return [dx]
            }
        }
    }

    /// log(softmax) along `axis`, computed stably.
    public func logSoftmax(axis: Int = -1) -> Tensor {
        lastAxisApply(axis) { x in
            let xc = x.contiguousNoGrad()
            let n = x.shape.last ?? 1
            let rows = x.count / Swift.max(n, 1)
            let y = Tensor(uninitializedShape: x.shape)
            softmaxForward(xc.basePointer, y.basePointer, rows: rows, n: n, log: true)
            return Tensor.record(y, inputs: [x], op: "log_softmax") { g in
                let gc = g.contiguousNoGrad()
                let dx = Tensor(uninitializedShape: x.shape)
                softmaxBackward(gc.basePointer, y.basePointer, dx.basePointer, rows: rows, n: n, log: true)
                return [dx]
            }
        }
    }

    /// log(sum(exp(x))) along `axis`, computed stably.
    public func logsumexp(axis: Int = -1, keepDims: Bool = false) -> Tensor {
        let a = normalizeAxis(axis, rank: rank)
        let x = a == rank - 1 ? self : permuted((0..<rank).filter { $0 != a } + [a])
        let xc = x.contiguousNoGrad()
        let n = x.shape.last ?? 1
        let rows = x.count / Swift.max(n, 1)
        var outShape = x.shape
        outShape.removeLast()
        let out = Tensor(uninitializedShape: outShape)
        logsumexpForward(xc.basePointer, out.basePointer, rows: rows, n: n)
        let recorded = Tensor.record(out, inputs: [x], op: "logsumexp") { g in
            // d lse / dx = softmax(x).
            let sm = withNoGrad { x.softmax(axis: -1) }
            return [g.unsqueezed(-1) * sm]
        }
        // `recorded` has x's shape minus its last axis, which is `self` minus `a` in order.
        return keepDims ? recorded.unsqueezed(a) : recorded
    }
}
