extension Tensor {
    /// Layer normalization over the last `normalizedShape.count` dims (biased variance, as PyTorch).
    public func layerNorm(weight: Tensor?, bias: Tensor?, eps: Float = 1e-5) -> Tensor {
        let n = weight?.count ?? shape.last ?? 1
        return normalizeRows(n: n, weight: weight, bias: bias, eps: eps, rms: false)
    }

    /// RMS normalization over the last dimension: x / sqrt(mean(x^2) + eps) * weight.
    public func rmsNorm(weight: Tensor?, eps: Float = 1e-6) -> Tensor {
        let n = weight?.count ?? shape.last ?? 1
        return normalizeRows(n: n, weight: weight, bias: nil, eps: eps, rms: true)
    }

    private func normalizeRows(n: Int, weight: Tensor?, bias: Tensor?, eps: Float, rms: Bool) -> Tensor {
        let x = self
        precondition(n > 0 && count % n == 0, "normalized size \(n) does not divide shape \(shape)")
        let rows = count / n
        let xc = x.contiguousNoGrad()
        let wc = (weight ?? Tensor.ones([n])).contiguousNoGrad()
        let bc = bias?.contiguousNoGrad()
        let y = Tensor(uninitializedShape: shape)
        let mean = Tensor(uninitializedShape: [rows]), rstd = Tensor(uninitializedShape: [rows])
        layerNormForward(x: xc.basePointer, w: wc.basePointer, b: bc?.basePointer, y: y.basePointer,
                         mean: mean.basePointer, rstd: rstd.basePointer, rows: rows, n: n, eps: eps, rms: rms)
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
        let x = self
        precondition(rank >= 2, "groupNorm needs [N, C, ...], got \(shape)")
        let N = shape[0], C = shape[1]
        precondition(C % groups == 0, "channels \(C) not divisible by groups \(groups)")
        let S = count / Swift.max(N * C, 1)
        let xc = x.contiguousNoGrad()
        let wc = weight?.contiguousNoGrad(), bc = bias?.contiguousNoGrad()
        let y = Tensor(uninitializedShape: shape)
        let mean = Tensor(uninitializedShape: [N * groups]), rstd = Tensor(uninitializedShape: [N * groups])
        groupNormForward(x: xc.basePointer, w: wc?.basePointer, b: bc?.basePointer, y: y.basePointer,
                         mean: mean.basePointer, rstd: rstd.basePointer, N: N, C: C, S: S, G: groups, eps: eps)
        var inputs = [x]
        if let weight { inputs.append(weight) }
        if let bias { inputs.append(bias) }
        return Tensor.record(y, inputs: inputs, op: "group_norm") { g in
            let gc = g.contiguousNoGrad()
            let dx = Tensor(uninitializedShape: x.shape)
            let dw = Tensor(uninitializedShape: [C]), db = Tensor(uninitializedShape: [C])
            groupNormBackward(dy: gc.basePointer, x: xc.basePointer, w: wc?.basePointer, mean: mean.basePointer,
                              rstd: rstd.basePointer, dx: x.requiresGrad ? dx.basePointer : nil,
                              dw: dw.basePointer, db: db.basePointer, N: N, C: C, S: S, G: groups)
            var out: [Tensor?] = [x.requiresGrad ? dx : nil]
            if weight != nil { out.append(dw) }
            if bias != nil { out.append(db) }
            return out
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
