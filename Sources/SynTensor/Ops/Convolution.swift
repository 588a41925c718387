import Synchronization
extension Tensor {
    /// 2-D convolution (cross-correlation, as `F.conv2d`): x [N, C, H, W], weight [O, C/groups, kh, kw].
    ///
    /// Stride-1 ungrouped convolutions (the UNet's 3x3 and 1x1) run directly over padded planes
    /// (`PlaneConv`), strided ones with overlapping taps (the UNet's 3x3 stride-2 downsampling) over
    /// phase planes (`PhaseConv`); the others (grouped, dilated, or a patch embedding whose kernel equals
    /// its stride) unfold all images into one column matrix so each group is a single large GEMM.
    public func conv2d(weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
                       dilation: (Int, Int) = (1, 1), groups: Int = 1) -> Tensor {
        let x = self
        precondition(x.rank == 4 && weight.rank == 4, "conv2d needs x [N,C,H,W] and weight [O,C/g,kh,kw], got \(x.shape), \(weight.shape)")
        let geo = Conv2DGeometry(N: x.shape[0], C: x.shape[1], H: x.shape[2], W: x.shape[3],
                                 O: weight.shape[0], kh: weight.shape[2], kw: weight.shape[3],
                                 sh: stride.0, sw: stride.1, ph: padding.0, pw: padding.1, dh: dilation.0, dw: dilation.1,
                                 groups: groups)
        precondition(geo.C % groups == 0 && geo.O % groups == 0 && weight.shape[1] == geo.cg,
                     "conv2d channel mismatch: x \(x.shape), weight \(weight.shape), groups \(groups)")
        precondition(geo.Ho > 0 && geo.Wo > 0, "conv2d output would be empty for input \(x.shape) and kernel \(weight.shape)")
        if Convolution.direct && PlaneConv.applies(stride: stride, dilation: dilation, groups: groups, kh: geo.kh, kw: geo.kw, padding: padding) {
            return conv2dDirect(weight: weight, bias: bias, PlaneConv(N: geo.N, C: geo.C, O: geo.O, H: geo.H, W: geo.W, kh: geo.kh,
                                                                      kw: geo.kw, ph: padding.0, pw: padding.1))
        }
        if Convolution.direct && PhaseConv.applies(stride: stride, dilation: dilation, groups: groups, kh: geo.kh, kw: geo.kw, padding: padding) {
            return conv2dPhased(weight: weight, bias: bias, PhaseConv(N: geo.N, C: geo.C, O: geo.O, H: geo.H, W: geo.W, kh: geo.kh,
                                                                      kw: geo.kw, sh: stride.0, sw: stride.1, ph: padding.0, pw: padding.1))
        }
        let HoWo = geo.Ho * geo.Wo, cols = geo.N * HoWo
        let xc = x.contiguousNoGrad(), wc = weight.contiguousNoGrad()
        let col = Tensor(uninitializedShape: [groups, geo.K, cols])
        im2col(xc.basePointer, col.basePointer, geo)
        // y2[g] = W_g [og, K] @ col_g [K, cols] -> [O, N*HoWo]
        let y2 = Tensor(uninitializedShape: [geo.O, cols])
        for grp in 0..<groups {
            let a = GEMMOperand(pointer: wc.basePointer + grp * geo.og * geo.K, ld: Int32(geo.K), trans: false)
            let b = GEMMOperand(pointer: col.basePointer + grp * geo.K * cols, ld: Int32(cols), trans: false)
            sgemm(a, b, y2.basePointer + grp * geo.og * cols, m: geo.og, n: cols, k: geo.K)
        }
        // [O, N, HoWo] -> [N, O, HoWo]
        var y = y2.viewNoGrad(Layout(contiguous: [geo.O, geo.N, HoWo])).permutedView([1, 0, 2]).contiguousNoGrad()
        if let bias {
            let bc = bias.contiguousNoGrad()
            let ys = SendablePointer(y.basePointer), bs = SendablePointer(bc.basePointer)
            parallelRows(rows: geo.N * geo.O, work: y.count) { r in
                for row in r {
                    let v = bs.p[row % geo.O]
                    let p = ys.p + row * HoWo
                    for i in 0..<HoWo { p[i] += v }
                }
            }
        }
        y = y.viewNoGrad(Layout(contiguous: [geo.N, geo.O, geo.Ho, geo.Wo]))
        var inputs = [x, weight]
        if let bias { inputs.append(bias) }
        return Tensor.record(y, inputs: inputs, op: "conv2d") { g in
            // dy as [O, N*HoWo] to match the forward GEMM layout.
            let gy = g.contiguousNoGrad().viewNoGrad(Layout(contiguous: [geo.N, geo.O, HoWo])).permutedView([1, 0, 2]).contiguousNoGrad()
            var dW: Tensor? = nil, dX: Tensor? = nil, dB: Tensor? = nil
            if weight.requiresGrad {
                // The forward column matrix is recomputed rather than kept alive through the graph.
                let colB = Tensor(uninitializedShape: [groups, geo.K, cols])
                im2col(xc.basePointer, colB.basePointer, geo)
                let dw = Tensor(uninitializedShape: weight.shape)
                for grp in 0..<groups {
                    let a = GEMMOperand(pointer: gy.basePointer + grp * geo.og * cols, ld: Int32(cols), trans: false)
                    let b = GEMMOperand(pointer: colB.basePointer + grp * geo.K * cols, ld: Int32(cols), trans: true)
                    sgemm(a, b, dw.basePointer + grp * geo.og * geo.K, m: geo.og, n: geo.K, k: cols)
                }
                dW = dw
            }
            if x.requiresGrad {
                let dcol = Tensor(uninitializedShape: [groups, geo.K, cols])
                for grp in 0..<groups {
                    let a = GEMMOperand(pointer: wc.basePointer + grp * geo.og * geo.K, ld: Int32(geo.K), trans: true)
                    let b = GEMMOperand(pointer: gy.basePointer + grp * geo.og * cols, ld: Int32(cols), trans: false)
                    sgemm(a, b, dcol.basePointer + grp * geo.K * cols, m: geo.K, n: cols, k: geo.og)
                }
                let dx = Tensor.zeros(x.shape)
                col2im(dcol.basePointer, dx.basePointer, geo)
                dX = dx
            }
            if bias != nil {
                dB = gy.viewNoGrad(Layout(contiguous: [geo.O, cols])).sum(axis: 1)
            }
            var out: [Tensor?] = [dX, dW]
            if bias != nil { out.append(dB) }
            return out
        }
    }
}

/// Convolution algorithm settings.
public enum Convolution {
    /// Whether stride-1 ungrouped convolutions take the direct path (true, the default) or im2col
    /// + GEMM; tests and benchmarks compare the two.
    public static var direct: Bool {
        get { directStorage.load(ordering: .relaxed) }
        set { directStorage.store(newValue, ordering: .relaxed) }
    }

    static let directStorage = Atomic<Bool>(true)
}

extension Tensor {
    /// `conv2d(...) + channelShift.reshaped([N, O, 1, 1]) + residual`: channelShift [N, O] (a per-image,
    /// per-channel bias such as a UNet's timestep projection) and residual [N, O, Ho, Wo] (a skip
    /// connection) are added while the direct path writes its output, so no temporaries or extra
    /// passes; other convolutions add them separately. Either may be nil.
    public func conv2d(weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
                       dilation: (Int, Int) = (1, 1), groups: Int = 1, channelShift: Tensor?, residual: Tensor?) -> Tensor {
        let N = shape[0], O = weight.shape[0]
        if let channelShift { precondition(channelShift.shape == [N, O], "conv2d channelShift must be [\(N), \(O)], got \(channelShift.shape)") }
        let direct = rank == 4 && weight.rank == 4 && Convolution.direct
            && PlaneConv.applies(stride: stride, dilation: dilation, groups: groups, kh: weight.shape[2], kw: weight.shape[3], padding: padding)
        if direct && shape[1] == weight.shape[1] {
            let pc = PlaneConv(N: N, C: shape[1], O: O, H: shape[2], W: shape[3], kh: weight.shape[2], kw: weight.shape[3],
                               ph: padding.0, pw: padding.1)
            if let residual { precondition(residual.shape == [N, O, pc.Ho, pc.Wo], "conv2d residual must be \([N, O, pc.Ho, pc.Wo]), got \(residual.shape)") }
            return conv2dDirect(weight: weight, bias: bias, pc, channelShift: channelShift, residual: residual)
        }
        let phased = rank == 4 && weight.rank == 4 && Convolution.direct
            && PhaseConv.applies(stride: stride, dilation: dilation, groups: groups, kh: weight.shape[2], kw: weight.shape[3], padding: padding)
        if phased && shape[1] == weight.shape[1] {
            let pc = PhaseConv(N: N, C: shape[1], O: O, H: shape[2], W: shape[3], kh: weight.shape[2], kw: weight.shape[3],
                               sh: stride.0, sw: stride.1, ph: padding.0, pw: padding.1)
            if pc.Ho > 0 && pc.Wo > 0 {
                if let residual { precondition(residual.shape == [N, O, pc.Ho, pc.Wo], "conv2d residual must be \([N, O, pc.Ho, pc.Wo]), got \(residual.shape)") }
                return conv2dPhased(weight: weight, bias: bias, pc, channelShift: channelShift, residual: residual)
            }
        }
        var y = conv2d(weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation, groups: groups)
        if let channelShift { y = y + channelShift.reshaped([N, O, 1, 1]) }
        if let residual { y = y + residual }
        return y
    }

    /// The direct path of `conv2d` (see `PlaneConv`), with the optional epilogue adds of
    /// `conv2d(weight:bias:stride:padding:dilation:groups:channelShift:residual:)`.
    func conv2dDirect(weight: Tensor, bias: Tensor?, _ pc: PlaneConv, channelShift: Tensor? = nil, residual: Tensor? = nil) -> Tensor {
        let x = self
        let xc = x.contiguousNoGrad(), wc = weight.contiguousNoGrad(), bc = bias?.contiguousNoGrad()
        let sc = channelShift?.contiguousNoGrad(), rc = residual?.contiguousNoGrad()
        // The dense path keeps the input tensor itself for the backward pass; the others a padded copy.
        let (y, xp) = withExtendedLifetime((bc, sc, rc)) {
            pc.winograd
                ? (pc.winogradRun(xc.basePointer, inner: pc.C, outer: pc.O, weight: wc.basePointer, flipped: false, bias: bc?.basePointer,
                                  shift: sc?.basePointer, residual: rc?.basePointer), xc)
                : pc.dense
                ? (pc.denseRun(xc.basePointer, inner: pc.C, packed: pc.packedWeights(wc.basePointer), outer: pc.O, bias: bc?.basePointer,
                               shift: sc?.basePointer, residual: rc?.basePointer), xc)
                : pc.forward(x: xc.basePointer, weight: wc.basePointer, bias: bc?.basePointer, shift: sc?.basePointer,
                             residual: rc?.basePointer)
        }
        return Tensor.recordConv2d(y, x: x, weight: weight, weightContiguous: wc, bias: bias, channelShift: channelShift,
                                   residual: residual) { gc in
            let dX: Tensor?, dW: Tensor?
            if pc.dense {
                dX = !x.requiresGrad ? nil
                    : pc.winograd ? pc.winogradRun(gc.basePointer, inner: pc.O, outer: pc.C, weight: wc.basePointer, flipped: true)
                    : pc.denseRun(gc.basePointer, inner: pc.O, packed: pc.flippedWeights(wc.basePointer), outer: pc.C)
                dW = !weight.requiresGrad ? nil
                    : pc.winogradWeights ? pc.winogradWeightGradient(dy: gc.basePointer, x: xp.basePointer)
                    : pc.denseWeightGradient(dy: gc.basePointer, x: xp.basePointer)
            } else if pc.stacked {
                (dX, dW) = pc.stackedBackward(dy: gc.basePointer, weight: wc.basePointer, stackedInput: xp, input: x.requiresGrad,
                                              weight: weight.requiresGrad)
            } else {
                dX = x.requiresGrad ? pc.inputGradient(dy: gc.basePointer, weight: wc.basePointer) : nil
                dW = weight.requiresGrad ? pc.weightGradient(dy: gc.basePointer, paddedInput: xp) : nil
            }
            return (dX, dW)
        }
    }

    /// Records a direct convolution's output with its inputs (x, weight, then each optional epilogue
    /// operand); `gradients` gives dx and dW from the contiguous dy, and the epilogue's gradients are added here.
    static func recordConv2d(_ y: Tensor, x: Tensor, weight: Tensor, weightContiguous wc: Tensor, bias: Tensor?, channelShift: Tensor?,
                             residual: Tensor?, gradients: @escaping (Tensor) -> (Tensor?, Tensor?)) -> Tensor {
        var inputs = [x, weight]
        if let bias { inputs.append(bias) }
        if let channelShift { inputs.append(channelShift) }
        if let residual { inputs.append(residual) }
        return Tensor.record(y, inputs: inputs, op: "conv2d") { g in
            let gc = g.contiguousNoGrad()
            let (dX, dW) = gradients(gc)
            var out: [Tensor?] = [dX, dW]
            // The shift's gradient is dy summed over each plane; the bias's is that summed over images.
            if bias != nil || channelShift != nil {
                let planeSums = gc.sum(axes: [2, 3])
                if bias != nil { out.append(planeSums.sum(axes: [0])) }
                if channelShift != nil { out.append(planeSums) }
            }
            if residual != nil { out.append(gc) }
            return withExtendedLifetime((gc, wc)) { out }
        }
    }
}

extension Tensor {
    /// The phase-plane path of `conv2d` for strided convolutions (see `PhaseConv`), with the optional
    /// epilogue adds of `conv2d(weight:bias:stride:padding:dilation:groups:channelShift:residual:)`.
    func conv2dPhased(weight: Tensor, bias: Tensor?, _ pc: PhaseConv, channelShift: Tensor? = nil, residual: Tensor? = nil) -> Tensor {
        let x = self
        let xc = x.contiguousNoGrad(), wc = weight.contiguousNoGrad(), bc = bias?.contiguousNoGrad()
        let sc = channelShift?.contiguousNoGrad(), rc = residual?.contiguousNoGrad()
        let y = withExtendedLifetime((xc, bc, sc, rc)) {
            pc.forward(x: xc.basePointer, weight: wc.basePointer, bias: bc?.basePointer, shift: sc?.basePointer, residual: rc?.basePointer)
        }
        return Tensor.recordConv2d(y, x: x, weight: weight, weightContiguous: wc, bias: bias, channelShift: channelShift,
                                   residual: residual) { gc in
            let dX = x.requiresGrad ? pc.inputGradient(dy: gc.basePointer, weight: wc.basePointer) : nil
            // The phase planes are split again rather than kept alive through the graph (x itself is kept anyway).
            let dW = weight.requiresGrad ? withExtendedLifetime(xc) { pc.weightGradient(dy: gc.basePointer, split: pc.split(xc.basePointer)) } : nil
            return (dX, dW)
        }
    }
}
