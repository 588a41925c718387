import Foundation

// Shape views: they share storage and only build a new Layout. Each records a pullback that
// maps the gradient back to the source layout.

extension Tensor {
    /// Same storage, new layout, fresh identity, no autodiff record (internal building block).
    func viewNoGrad(_ layout: Layout) -> Tensor {
        Tensor(storage: storage, layout: layout)
    }

    /// Dense copy without recording autodiff history.
    func contiguousNoGrad() -> Tensor {
        if isContiguous { return self }
        let out = Tensor(uninitializedShape: shape)
        copyStrided(from: self, into: out.basePointer)
        return out
    }

    /// Permuted view without autodiff record.
    func permutedView(_ perm: [Int]) -> Tensor {
        precondition(perm.count == rank && Set(perm).count == rank, "invalid permutation \(perm) for shape \(shape)")
        let p = perm.map { normalizeAxis($0, rank: rank) }
        return viewNoGrad(Layout(shape: p.map { shape[$0] }, strides: p.map { strides[$0] }, offset: layout.offset))
    }

    /// Resolves one -1 entry of a requested shape.
    func resolveShape(_ newShape: [Int]) -> [Int] {
        var s = newShape
        let known = s.filter { $0 != -1 }.reduce(1, *)
        if let i = s.firstIndex(of: -1) {
            precondition(s.filter { $0 == -1 }.count == 1, "at most one -1 in shape \(newShape)")
            precondition(known > 0 && count % known == 0, "cannot reshape \(shape) to \(newShape)")
            s[i] = count / known
        }
        precondition(s.reduce(1, *) == count, "cannot reshape \(shape) (\(count) elements) to \(newShape)")
        return s
    }

    /// Same elements in row-major order with a new shape (copies only when not contiguous).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        let s = resolveShape(newShape)
        if s == shape { return self }
        let src = contiguousNoGrad()
        let out = src.viewNoGrad(Layout(contiguous: s, offset: src.layout.offset))
        let inShape = shape
        return Tensor.record(out, inputs: [self], op: "reshape") { g in [g.reshaped(inShape)] }
    }

    /// Variadic `reshaped`.
    public func reshaped(_ dims: Int...) -> Tensor { reshaped(dims) }

    /// Collapses dimensions `start...end` into one.
    public func flattened(from start: Int = 0, to end: Int = -1) -> Tensor {
        if rank == 0 { return reshaped([1]) }
        let s = normalizeAxis(start, rank: rank), e = normalizeAxis(end, rank: rank)
        let merged = shape[s...e].reduce(1, *)
        return reshaped(Array(shape[..<s]) + [merged] + Array(shape[(e + 1)...]))
    }

    /// Reorders dimensions (a free view).
    public func permuted(_ perm: [Int]) -> Tensor {
        let out = permutedView(perm)
        let p = perm.map { normalizeAxis($0, rank: rank) }
        var inverse = [Int](repeating: 0, count: p.count)
        for (i, d) in p.enumerated() { inverse[d] = i }
        return Tensor.record(out, inputs: [self], op: "permute") { g in [g.permuted(inverse)] }
    }

    /// Variadic `permuted`.
    public func permuted(_ perm: Int...) -> Tensor { permuted(perm) }

    /// Swaps two dimensions (a free view).
    public func transposed(_ a: Int = -2, _ b: Int = -1) -> Tensor {
        var p = Array(0..<rank)
        p.swapAt(normalizeAxis(a, rank: rank), normalizeAxis(b, rank: rank))
        return permuted(p)
    }

    /// Matrix transpose of the last two dimensions.
    public var T: Tensor { transposed(-2, -1) }

    /// Broadcasts to `newShape` without copying (stride 0 on expanded dims); -1 keeps a size.
    public func expanded(_ newShape: [Int]) -> Tensor {
        let pad = newShape.count - rank
        precondition(pad >= 0, "cannot expand \(shape) to \(newShape)")
        var target = newShape
        for i in 0..<rank where target[i + pad] == -1 { target[i + pad] = shape[i] }
        if target == shape { return self }
        let out = viewNoGrad(Layout(shape: target, strides: layout.broadcastStrides(to: target), offset: layout.offset))
        return Tensor.record(out, inputs: [self], op: "expand") { g in [g] }
    }

    /// Inserts a size-1 dimension at `axis`.
    public func unsqueezed(_ axis: Int) -> Tensor {
        let a = normalizeAxis(axis, rank: rank + 1)
        var s = shape
        s.insert(1, at: a)
        var st = strides
        st.insert(a < rank ? strides[a] * shape[a] : 1, at: a)
        let out = viewNoGrad(Layout(shape: s, strides: st, offset: layout.offset))
        let inShape = shape
        return Tensor.record(out, inputs: [self], op: "unsqueeze") { g in [g.reshaped(inShape)] }
    }

    /// Removes size-1 dimensions (all of them, or only `axis`).
    public func squeezed(_ axis: Int? = nil) -> Tensor {
        var keep: [Int]
        if let axis {
            let a = normalizeAxis(axis, rank: rank)
            keep = Array(0..<rank)
            if shape[a] == 1 { keep.remove(at: a) }
        } else {
            keep = (0..<rank).filter { shape[$0] != 1 }
        }
        let out = viewNoGrad(Layout(shape: keep.map { shape[$0] }, strides: keep.map { strides[$0] }, offset: layout.offset))
        let inShape = shape
        return Tensor.record(out, inputs: [self], op: "squeeze") { g in [g.reshaped(inShape)] }
    }

    /// Elements `start..<start+length` along `axis` (a free view).
    public func narrow(_ axis: Int, start: Int, length: Int) -> Tensor {
        slice(axis, start, start + length)
    }

    /// Elements `start..<end` with `step` along `axis` (a free view); negative bounds count from the end.
    public func slice(_ axis: Int, _ start: Int, _ end: Int? = nil, step: Int = 1) -> Tensor {
        let a = normalizeAxis(axis, rank: rank)
        let n = shape[a]
        var s = start < 0 ? start + n : start
        var e = end.map { $0 < 0 ? $0 + n : $0 } ?? n
        s = Swift.min(Swift.max(s, 0), n)
        e = Swift.min(Swift.max(e, s), n)
        precondition(step > 0, "slice step must be positive")
        let len = (e - s + step - 1) / step
        var sh = shape, st = strides
        sh[a] = len
        st[a] = strides[a] * step
        let out = viewNoGrad(Layout(shape: sh, strides: st, offset: layout.offset + s * strides[a]))
        let inShape = shape
        return Tensor.record(out, inputs: [self], op: "slice") { g in
            var z = Tensor(shape: inShape, repeating: 0)
            z.assign(g, axis: a, start: s, step: step)
            return [z]
        }
    }

    /// The sub-tensor at `index` along `axis`, with that axis removed.
    public func select(_ axis: Int, _ index: Int) -> Tensor {
        let a = normalizeAxis(axis, rank: rank)
        let i = index < 0 ? index + shape[a] : index
        precondition(i >= 0 && i < shape[a], "index \(index) out of range for axis \(axis) of shape \(shape)")
        return slice(a, i, i + 1).squeezed(a)
    }

    /// Writes `value` (broadcast) into the slice `start, start+step, ...` along `axis` of this tensor.
    public mutating func assign(_ value: Tensor, axis: Int, start: Int, step: Int = 1) {
        let a = normalizeAxis(axis, rank: rank)
        let len = value.rank == rank ? value.shape[a] : 1
        withUnsafeMutableBufferPointer { _ in }
        var sh = shape, st = strides
        sh[a] = len
        st[a] = strides[a] * step
        let dst = Layout(shape: sh, strides: st, offset: layout.offset + start * strides[a])
        assignStrided(into: storage.pointer, layout: dst, from: value)
    }
}

/// Copies `src` (broadcast to the destination shape) into a strided destination view.
func assignStrided(into base: UnsafeMutablePointer<Float>, layout: Layout, from src: Tensor) {
    let shape = layout.shape
    let n = layout.count
    if n == 0 { return }
    let ss = src.layout.broadcastStrides(to: shape)
    let (cs, cst) = coalesce(shape: shape, strides: [layout.strides, ss])
    let inner = cs.last!
    let id = cst[0].last!, isrc = cst[1].last!
    let d = SendablePointer(base + layout.offset), s = SendablePointer(src.basePointer)
    parallelRows(rows: n / inner, work: n) { rows in
        var cur = RowCursor(shape: cs, strides: cst, startRow: rows.lowerBound)
        for _ in rows {
            let o = d.p + cur.offsets[0], x = s.p + cur.offsets[1]
            if id == 1 && isrc == 1 { o.update(from: x, count: inner) } else {
                for i in 0..<inner { o[i * id] = x[i * isrc] }
            }
            cur.advance()
        }
    }
    withExtendedLifetime(src) {}
}
