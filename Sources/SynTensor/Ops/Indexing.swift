extension Tensor {
    /// Rows `indices` along `axis` (as `torch.index_select`); backward scatter-adds.
    public func indexSelect(axis: Int, indices: [Int]) -> Tensor {
        let a = normalizeAxis(axis, rank: rank)
        let n = shape[a]
        for i in indices { precondition(i >= 0 && i < n, "index \(i) out of range for axis \(axis) of size \(n)") }
        let x = self
        let outer = shape[..<a].reduce(1, *), inner = shape[(a + 1)...].reduce(1, *)
        var outShape = shape
        outShape[a] = indices.count
        let xc = x.contiguousNoGrad()
        let out = Tensor(uninitializedShape: outShape)
        let src = SendablePointer(xc.basePointer), dst = SendablePointer(out.basePointer)
        let m = indices.count
        indices.withUnsafeBufferPointer { ib in
            let idx = UncheckedBox(ib.baseAddress!)
            parallelRows(rows: outer * m, work: outer * m * inner) { range in
                for r in range {
                    let o = r / m, j = r % m
                    (dst.p + r * inner).update(from: src.p + (o * n + idx.value[j]) * inner, count: inner)
                }
            }
        }
        return Tensor.record(out, inputs: [x], op: "index_select") { g in
            let gc = g.contiguousNoGrad()
            let dx = Tensor.zeros(x.shape)
            // Serial over indices per outer slice: duplicate indices accumulate without races.
            let gs = SendablePointer(gc.basePointer), ds = SendablePointer(dx.basePointer)
            parallelRows(rows: outer, work: outer * m * inner) { range in
                for o in range {
                    for j in 0..<m {
                        let s = gs.p + (o * m + j) * inner, d = ds.p + (o * n + indices[j]) * inner
                        for i in 0..<inner { d[i] += s[i] }
                    }
                }
            }
            return [dx]
        }
    }

    /// Embedding lookup: `self` is the table [V, D]; returns [ids.count, D] (reshape as needed).
    public func embedding(_ ids: [Int]) -> Tensor { indexSelect(axis: 0, indices: ids) }

    /// `torch.gather`: out[i][j][k] = self[i][index[i][j][k]][k] for axis 1, etc. `index` holds integer values.
    public func gather(axis: Int, index: Tensor) -> Tensor {
        let a = normalizeAxis(axis, rank: rank)
        precondition(index.rank == rank, "gather index rank \(index.rank) != input rank \(rank)")
        let x = self
        let ic = index.contiguousNoGrad()
        let outShape = index.shape
        let out = Tensor(uninitializedShape: outShape)
        let xs = x.strides
        let ostr = Layout.contiguousStrides(outShape)
        let n = out.count
        let base = x.basePointer, ip = ic.basePointer
        var flat = [Int](repeating: 0, count: n)
        for e in 0..<n {
            var rem = e, off = 0
            for d in 0..<rank {
                let c = rem / ostr[d]
                rem %= ostr[d]
                if d == a {
                    let v = Int(ip[e])
                    precondition(v >= 0 && v < x.shape[a], "gather index \(v) out of range for axis \(axis) of size \(x.shape[a])")
                    off += v * xs[d]
                } else {
                    precondition(c < x.shape[d], "gather index shape \(outShape) exceeds input \(x.shape)")
                    off += c * xs[d]
                }
            }
            flat[e] = off
            out.basePointer[e] = base[off]
        }
        return Tensor.record(out, inputs: [x], op: "gather") { g in
            let gc = g.contiguousNoGrad()
            // Scatter-add into a dense buffer laid out like x's strides, then view it as x.
            let span = x.layout.offset + (zip(x.shape, x.strides).map { ($0 - 1) * $1 }.reduce(0, +)) + 1
            let buf = TensorStorage(count: span, repeating: 0)
            for e in 0..<n { buf.pointer[flat[e]] += gc.basePointer[e] }
            let view = Tensor(storage: buf, layout: x.layout)
            return [view.contiguousNoGrad()]
        }
    }

    /// Picks one entry per row: self [N, C], labels [N] -> [N] with self[i, labels[i]].
    public func pick(labels: [Int]) -> Tensor {
        precondition(rank == 2 && labels.count == shape[0], "pick needs [N, C] and N labels, got \(shape) and \(labels.count)")
        let idx = Tensor(shape: [labels.count, 1], data: labels.map(Float.init))
        return gather(axis: 1, index: idx).reshaped([labels.count])
    }
}
