import CSynKernels

extension Tensor {
    /// Layer normalization over the last `normalizedShape.count` dims (biased variance, as PyTorch).
    public func layerNorm(weight: Tensor?, bias: Tensor?, eps: Float = 1e-5) -> Tensor {
        let n = weight?.count ?? shape.last ?? 1
        return normalizeRows(n: n, weight: weight, bias: bias, eps: eps, rms: false)
    }

    /// `(self + branch, (self + branch).layerNorm(...))` in one pass over each row: a pre-norm
    /// transformer block's residual add and the norm after it.
    ///
    /// Both results carry gradients as the two ops apart would (the same sums, so the same bits);
    /// the fused pass saves reading the sum back from memory. Shapes that differ (broadcasting)
    /// take the two ops apart.
    ///
    /// ```swift
    /// let (h, normed) = x.addingLayerNorm(attn(norm1(x)), weight: norm2.weight.value, bias: norm2.bias?.value)
    /// ```
    public func addingLayerNorm(_ branch: Tensor, weight: Tensor?, bias: Tensor?, eps: Float = 1e-5) -> (sum: Tensor, normalized: Tensor) {
        let n = weight?.count ?? shape.last ?? 1
        guard branch.shape == shape, n > 0, count % n == 0 else {
            let sum = self + branch
            return (sum, sum.layerNorm(weight: weight, bias: bias, eps: eps))
        }
        let a = contiguousNoGrad(), b = branch.contiguousNoGrad()
        let sumValue = Tensor(uninitializedShape: shape)
        let sum = Tensor.record(sumValue, inputs: [self, branch], op: "add") { g in [g, g] }
        let normalized = withExtendedLifetime((a, b)) {
            sum.normalizeRows(n: n, weight: weight, bias: bias, eps: eps, rms: false,
                              residual: (a.basePointer, b.basePointer, sumValue))
        }
        return (sum, normalized)
    }

    /// RMS normalization over the last dimension: x / sqrt(mean(x^2) + eps) * weight.
    public func rmsNorm(weight: Tensor?, eps: Float = 1e-6) -> Tensor {
        let n = weight?.count ?? shape.last ?? 1
        return normalizeRows(n: n, weight: weight, bias: nil, eps: eps, rms: true)
    }

    /// With `residual` (x, addend, sum storage), `self` is the recorded sum whose storage the
    /// forward pass fills with x + addend before normalizing it.
    private func normalizeRows(n: Int, weight: Tensor?, bias: Tensor?, eps: Float, rms: Bool,
                               residual: (x: UnsafeMutablePointer<Float>, addend: UnsafeMutablePointer<Float>, sum: Tensor)? = nil) -> Tensor {
        let x = self
        precondition(n > 0 && count % n == 0, "normalized size \(n) does not divide shape \(shape)")
        let rows = count / n
        let wc = (weight ?? Tensor.ones([n])).contiguousNoGrad()
        let bc = bias?.contiguousNoGrad()
        let y = Tensor(uninitializedShape: shape)
        let mean = Tensor(uninitializedShape: [rows]), rstd = Tensor(uninitializedShape: [rows])
        let xc: Tensor
        if let residual {
            xc = residual.sum
            layerNormForward(x: residual.x, w: wc.basePointer, b: bc?.basePointer, y: y.basePointer,
                             mean: mean.basePointer, rstd: rstd.basePointer, rows: rows, n: n, eps: eps, rms: rms,
                             residual: (UnsafePointer(residual.addend), residual.sum.basePointer))
        } else {
            xc = x.contiguousNoGrad()
            layerNormForward(x: xc.basePointer, w: wc.basePointer, b: bc?.basePointer, y: y.basePointer,
                             mean: mean.basePointer, rstd: rstd.basePointer, rows: rows, n: n, eps: eps, rms: rms)
        }
        var inputs = [x]
        if let weight { inputs.append(weight) }
        if let bias { inputs.append(bias) }
        return Tensor.record(y, inputs: inputs, op: rms ? "rms_norm" : "layer_norm") { g in
            let gc = g.contiguousNoGrad()
            let dx = Tensor(uninitializedShape: x.shape)
            let dw = Tensor(uninitializedShape: [n]), db = Tensor(uninitializedShape: [n])
            layerNormBackward(dy: gc.basePointer, x: xc.basePointer, w: wc.basePointer, mean: mean.basePointer,
                              rstd: rstd.basePointer, dx: x.requiresGrad ? dx.basePointer : nil,
                              dw: dw.basePointer, db: db.basePointer, rows: rows, n: n, rms: rms)
            var out: [Tensor?] = [x.requiresGrad ? dx : nil]
            if let weight { out.append(dw.reshapedNoGrad(weight.shape)) }
            if let bias { out.append(db.reshapedNoGrad(bias.shape)) }
            return out
        }
    }

    /// Group normalization of [N, C, ...] over `groups` channel groups, with per-channel affine.
    public func groupNorm(groups: Int, weight: Tensor?, bias: Tensor?, eps: Float = 1e-5) -> Tensor {
        groupNormFused(groups: groups, weight: weight, bias: bias, eps: eps, silu: false)
    }

    /// `groupNorm(...).silu()` in one pass (CSynKernels' `csyn_groupnorm_forward`): no normalized
    /// temporary, and the backward pass recomputes it from x and the saved statistics.
    public func groupNormSiLU(groups: Int, weight: Tensor?, bias: Tensor?, eps: Float = 1e-5) -> Tensor {
        groupNormFused(groups: groups, weight: weight, bias: bias, eps: eps, silu: true)
    }

    private func groupNormFused(groups: Int, weight: Tensor?, bias: Tensor?, eps: Float, silu: Bool) -> Tensor {
        let x = self
        precondition(rank >= 2, "groupNorm needs [N, C, ...], got \(shape)")
        let N = shape[0], C = shape[1]
        precondition(C % groups == 0, "channels \(C) not divisible by groups \(groups)")
        let S = count / Swift.max(N * C, 1)
        let xc = x.contiguousNoGrad()
        let wc = weight?.contiguousNoGrad(), bc = bias?.contiguousNoGrad()
        let y = Tensor(uninitializedShape: shape)
        let mean = Tensor(uninitializedShape: [N * groups]), rstd = Tensor(uninitializedShape: [N * groups])
        let flag: Int32 = silu ? 1 : 0
        do {
            let xs = UncheckedBox(xc.basePointer), ws = UncheckedBox(wc?.basePointer), bs = UncheckedBox(bc?.basePointer)
            let ys = SendablePointer(y.basePointer), ms = SendablePointer(mean.basePointer), rs = SendablePointer(rstd.basePointer)
            parallelRows(rows: N * groups, work: N * C * S * (silu ? 8 : 3)) { r in
                csyn_groupnorm_forward(xs.value, ws.value, bs.value, ys.p, ms.p, rs.p, Int64(C), Int64(S), Int64(groups), eps, flag,
                                       Int64(r.lowerBound), Int64(r.upperBound))
            }
        }
        var inputs = [x]
        if let weight { inputs.append(weight) }
        if let bias { inputs.append(bias) }
        return Tensor.record(y, inputs: inputs, op: silu ? "group_norm_silu" : "group_norm") { g in
            let gc = g.contiguousNoGrad()
            let dx = x.requiresGrad ? Tensor(uninitializedShape: x.shape) : nil
            // Per-(n, c) partial sums of dz * norm and dz, reduced over n below.
            let dwPart = Tensor(uninitializedShape: [N, C]), dbPart = Tensor(uninitializedShape: [N, C])
            let gs = UncheckedBox(gc.basePointer), xs = UncheckedBox(xc.basePointer)
            let ws = UncheckedBox(wc?.basePointer), bs = UncheckedBox(bc?.basePointer)
            let ms = UncheckedBox(mean.basePointer), rs = UncheckedBox(rstd.basePointer)
            let dxs = UncheckedBox(dx?.basePointer), dwp = SendablePointer(dwPart.basePointer), dbp = SendablePointer(dbPart.basePointer)
            parallelRows(rows: N * groups, work: N * C * S * (silu ? 10 : 4)) { r in
                csyn_groupnorm_backward(gs.value, xs.value, ws.value, bs.value, ms.value, rs.value, dxs.value, dwp.p, dbp.p,
                                        Int64(C), Int64(S), Int64(groups), flag, Int64(r.lowerBound), Int64(r.upperBound))
            }
            let dw = Tensor(uninitializedShape: [C]), db = Tensor(uninitializedShape: [C])
            for c in 0..<C {
                var a: Float = 0, b2: Float = 0
                for n in 0..<N { a += dwp.p[n * C + c]; b2 += dbp.p[n * C + c] }
                dw.basePointer[c] = a
                db.basePointer[c] = b2
            }
            var out: [Tensor?] = [dx]
            if weight != nil { out.append(dw) }
            if bias != nil { out.append(db) }
            return withExtendedLifetime((xc, wc, bc, mean, rstd, gc)) { out }
        }
    }

    /// Scales rows to unit L2 norm along `axis`: x / max(||x||, eps) (as `F.normalize`).
    public func l2Normalized(axis: Int = -1, eps: Float = 1e-12) -> Tensor {
        let a = normalizeAxis(axis, rank: rank)
        if a != rank - 1 { return transposed(a, -1).l2Normalized(axis: -1, eps: eps).transposed(a, -1) }
        let x = self
        let n = shape.last ?? 1
        let rows = count / Swift.max(n, 1)
        let xc = x.contiguousNoGrad()
        let y = Tensor(uninitializedShape: shape)
        let norms = Tensor(uninitializedShape: [rows])
        let xs = SendablePointer(xc.basePointer), ys = SendablePointer(y.basePointer), ns = SendablePointer(norms.basePointer)
        parallelRows(rows: rows, work: count * 2) { range in
            for r in range {
                let xr = xs.p + r * n, yr = ys.p + r * n
                var ss: Float = 0
                for i in 0..<n { ss += xr[i] * xr[i] }
                let nrm = Swift.max(ss.squareRoot(), eps)
                ns.p[r] = nrm
                let inv = 1 / nrm
                for i in 0..<n { yr[i] = xr[i] * inv }
            }
        }
        return Tensor.record(y, inputs: [x], op: "l2_normalize") { g in
            // Where ||x|| > eps: dx = (g - y <g, y>) / ||x||; where clamped: dx = g / eps.
            let gc = g.contiguousNoGrad()
            let dx = Tensor(uninitializedShape: x.shape)
            let gs = SendablePointer(gc.basePointer), ds = SendablePointer(dx.basePointer)
            parallelRows(rows: rows, work: x.count * 2) { range in
                for r in range {
                    let gr = gs.p + r * n, yr = ys.p + r * n, dr = ds.p + r * n
                    let nrm = ns.p[r]
                    let inv = 1 / nrm
                    let xr = xs.p + r * n
                    var ss: Float = 0
                    for i in 0..<n { ss += xr[i] * xr[i] }
                    if ss.squareRoot() > eps {
                        var dot: Float = 0
                        for i in 0..<n { dot += gr[i] * yr[i] }
                        for i in 0..<n { dr[i] = (gr[i] - yr[i] * dot) * inv }
                    } else {
                        for i in 0..<n { dr[i] = gr[i] * inv }
                    }
                }
            }
            return withExtendedLifetime((xc, y, norms, gc)) { [dx] }
        }
    }
}
