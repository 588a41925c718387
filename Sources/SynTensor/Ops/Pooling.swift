extension Tensor {
    /// Max pooling over [N, C, H, W] (padding counts as -inf, as PyTorch).
    public func maxPool2d(kernel: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0)) -> Tensor {
        let x = self
        precondition(rank == 4, "maxPool2d needs [N, C, H, W], got \(shape)")
        let s = stride ?? kernel
        let geo = Pool2DGeometry(planes: shape[0] * shape[1], H: shape[2], W: shape[3], kh: kernel.0, kw: kernel.1,
                                 sh: s.0, sw: s.1, ph: padding.0, pw: padding.1)
        let xc = x.contiguousNoGrad()
        let y = Tensor(uninitializedShape: [shape[0], shape[1], geo.Ho, geo.Wo])
        var idx = [Int32](repeating: 0, count: y.count)
        idx.withUnsafeMutableBufferPointer { maxPool2dForward(xc.basePointer, y.basePointer, $0.baseAddress!, geo) }
        return Tensor.record(y, inputs: [x], op: "max_pool2d") { g in
            let gc = g.contiguousNoGrad()
            let dx = Tensor.zeros(x.shape)
            let per = geo.Ho * geo.Wo
            for p in 0..<geo.planes {
                for o in 0..<per where idx[p * per + o] >= 0 {
                    dx.basePointer[p * geo.H * geo.W + Int(idx[p * per + o])] += gc.basePointer[p * per + o]
                }
            }
            return [dx]
        }
    }

    /// Average pooling over [N, C, H, W].
    public func avgPool2d(kernel: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0),
                          countIncludePad: Bool = true) -> Tensor {
        let x = self
        precondition(rank == 4, "avgPool2d needs [N, C, H, W], got \(shape)")
        let s = stride ?? kernel
        let geo = Pool2DGeometry(planes: shape[0] * shape[1], H: shape[2], W: shape[3], kh: kernel.0, kw: kernel.1,
                                 sh: s.0, sw: s.1, ph: padding.0, pw: padding.1)
        let xc = x.contiguousNoGrad()
        let y = Tensor(uninitializedShape: [shape[0], shape[1], geo.Ho, geo.Wo])
        avgPool2dForward(xc.basePointer, y.basePointer, geo, countIncludePad: countIncludePad)
        return Tensor.record(y, inputs: [x], op: "avg_pool2d") { g in
            let gc = g.contiguousNoGrad()
            let dx = Tensor.zeros(x.shape)
            avgPool2dBackward(gc.basePointer, dx.basePointer, geo, countIncludePad: countIncludePad)
            return [dx]
        }
    }

    /// Resizes the last two dims of [..., H, W] (as `F.interpolate` without antialiasing).
    public func resized(height: Int, width: Int, mode: ResizeMode = .bilinear, alignCorners: Bool = false) -> Tensor {
        let x = self
        precondition(rank >= 2, "resize needs [..., H, W], got \(shape)")
        let H = shape[rank - 2], W = shape[rank - 1]
        if H == height && W == width && mode != .bicubic { return self }
        let planes = count / Swift.max(H * W, 1)
        let ty = resizeTaps(inSize: H, outSize: height, mode: mode, alignCorners: alignCorners)
        let tx = resizeTaps(inSize: W, outSize: width, mode: mode, alignCorners: alignCorners)
        let xc = x.contiguousNoGrad()
        let y = Tensor(uninitializedShape: Array(shape.dropLast(2)) + [height, width])
        resizeForward(xc.basePointer, y.basePointer, planes: planes, H: H, W: W, Ho: height, Wo: width, ty: ty, tx: tx)
        return Tensor.record(y, inputs: [x], op: "resize") { g in
            let gc = g.contiguousNoGrad()
            let dx = Tensor(uninitializedShape: x.shape)
            resizeBackward(gc.basePointer, dx.basePointer, planes: planes, H: H, W: W, Ho: height, Wo: width, ty: ty, tx: tx)
            return [dx]
        }
    }
}
