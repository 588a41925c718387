extension Tensor {
    /// Joins tensors along `axis`; all other dims must match.
    public static func concatenate(_ tensors: [Tensor], axis: Int = 0) -> Tensor {
        precondition(!tensors.isEmpty, "concatenate needs at least one tensor")
        let r = tensors[0].rank
        let a = normalizeAxis(axis, rank: r)
        var outShape = tensors[0].shape
        outShape[a] = 0
        for t in tensors {
            var s = t.shape
            precondition(t.rank == r, "concatenate rank mismatch: \(tensors[0].shape) vs \(t.shape)")
            s[a] = outShape[a]
            precondition(s == outShape, "concatenate shape mismatch on non-joined dims: \(tensors[0].shape) vs \(t.shape)")
            outShape[a] += t.shape[a]
        }
        let out = Tensor(uninitializedShape: outShape)
        let strides = Layout.contiguousStrides(outShape)
        var start = 0
        var starts: [Int] = []
        for t in tensors {
            var sh = outShape
            sh[a] = t.shape[a]
            assignStrided(into: out.basePointer, layout: Layout(shape: sh, strides: strides, offset: start * strides[a]), from: t)
            starts.append(start)
            start += t.shape[a]
        }
        return record(out, inputs: tensors, op: "concatenate") { g in
            zip(tensors, starts).map { t, s in t.requiresGrad ? g.slice(a, s, s + t.shape[a]) : nil }
        }
    }

    /// Stacks equally shaped tensors along a new `axis`.
    public static func stack(_ tensors: [Tensor], axis: Int = 0) -> Tensor {
        precondition(!tensors.isEmpty, "stack needs at least one tensor")
        let a = normalizeAxis(axis, rank: tensors[0].rank + 1)
        return concatenate(tensors.map { $0.unsqueezed(a) }, axis: a)
    }

    /// Splits along `axis` into pieces of the given sizes (views).
    public func split(sizes: [Int], axis: Int = 0) -> [Tensor] {
        let a = normalizeAxis(axis, rank: rank)
        precondition(sizes.reduce(0, +) == shape[a], "split sizes \(sizes) do not sum to \(shape[a])")
        var start = 0
        return sizes.map { s in
            defer { start += s }
            return slice(a, start, start + s)
        }
    }

    /// Splits along `axis` into `chunks` nearly equal views (as `torch.chunk`).
    public func chunked(_ chunks: Int, axis: Int = 0) -> [Tensor] {
        let a = normalizeAxis(axis, rank: rank)
        let n = shape[a]
        let size = (n + chunks - 1) / chunks
        var sizes: [Int] = []
        var left = n
        while left > 0 { sizes.append(Swift.min(size, left)); left -= size }
        return split(sizes: sizes, axis: a)
    }

    /// Zero-pads the last two dims of [..., H, W] by (top, bottom, left, right).
    public func padded2d(top: Int, bottom: Int, left: Int, right: Int, value: Float = 0) -> Tensor {
        let H = shape[rank - 2], W = shape[rank - 1]
        var sh = shape
        sh[rank - 2] = H + top + bottom
        sh[rank - 1] = W + left + right
        let out = Tensor(shape: sh, repeating: value)
        let st = Layout.contiguousStrides(sh)
        assignStrided(into: out.basePointer, layout: Layout(shape: shape, strides: st, offset: top * st[rank - 2] + left), from: self)
        return Tensor.record(out, inputs: [self], op: "pad2d") { g in
            [g.slice(-2, top, top + H).slice(-1, left, left + W)]
        }
    }
}
