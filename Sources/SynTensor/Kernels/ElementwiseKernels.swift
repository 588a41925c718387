import Foundation

// Generic elementwise drivers. The per-element function is a functor type parameter: each
// driver is specialized per functor, so the element function inlines into (and vectorizes with)
// the loop. A closure argument would stay an indirect call per element, because the loop body
// runs in a worker closure the optimizer cannot see through.

/// f(x) for the unary drivers.
protocol UnaryFunctor { func callAsFunction(_ x: Float) -> Float }
/// f(a, b) for the binary drivers.
protocol BinaryFunctor { func callAsFunction(_ a: Float, _ b: Float) -> Float }
/// f(a, b, c) for the ternary drivers.
protocol TernaryFunctor { func callAsFunction(_ a: Float, _ b: Float, _ c: Float) -> Float }

/// Adapts a closure (cold paths: an indirect call per element).
struct ClosureUnary: UnaryFunctor {
    let f: (Float) -> Float
    @inline(__always) func callAsFunction(_ x: Float) -> Float { f(x) }
}
/// Adapts a closure (cold paths).
struct ClosureBinary: BinaryFunctor {
    let f: (Float, Float) -> Float
    @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { f(a, b) }
}
/// Adapts a closure (cold paths).
struct ClosureTernary: TernaryFunctor {
    let f: (Float, Float, Float) -> Float
    @inline(__always) func callAsFunction(_ a: Float, _ b: Float, _ c: Float) -> Float { f(a, b, c) }
}

@inline(__always) func mapUnary(_ x: Tensor, _ f: @escaping (Float) -> Float) -> Tensor { mapUnary(x, ClosureUnary(f: f)) }
@inline(__always) func mapBinary(_ a: Tensor, _ b: Tensor, _ f: @escaping (Float, Float) -> Float) -> Tensor {
    mapBinary(a, b, ClosureBinary(f: f))
}
@inline(__always) func mapTernary(_ a: Tensor, _ b: Tensor, _ c: Tensor, _ f: @escaping (Float, Float, Float) -> Float) -> Tensor {
    mapTernary(a, b, c, ClosureTernary(f: f))
}

/// out[i] = f(x[i]) over a dense result; x may be strided.
func mapUnary<F: UnaryFunctor>(_ x: Tensor, _ f: F) -> Tensor {
    let xc = x.contiguous()
    let n = xc.count
    let out = Tensor(uninitializedShape: x.shape)
    let src = SendablePointer(xc.basePointer), dst = SendablePointer(out.basePointer)
    parallelRows(rows: n, work: n * 4) { r in
        let s = src.p, d = dst.p
        for i in r { d[i] = f(s[i]) }
    }
    return withExtendedLifetime(xc) { out }
}

/// out = f(a, b) with NumPy broadcasting; the result is dense.
func mapBinary<F: BinaryFunctor>(_ a: Tensor, _ b: Tensor, _ f: F) -> Tensor {
    let shape: [Int]
    if a.shape == b.shape { shape = a.shape } else {
        guard let s = Layout.broadcastShapes(a.shape, b.shape) else {
            preconditionFailure("shapes \(a.shape) and \(b.shape) do not broadcast")
        }
        shape = s
    }
    let out = Tensor(uninitializedShape: shape)
    let n = out.count
    if n == 0 { return out }
    let pa = SendablePointer(a.basePointer), pb = SendablePointer(b.basePointer), po = SendablePointer(out.basePointer)
    if a.shape == b.shape && a.isContiguous && b.isContiguous {
        parallelRows(rows: n, work: n * 2) { r in
            let x = pa.p, y = pb.p, o = po.p
            for i in r { o[i] = f(x[i], y[i]) }
        }
    } else if b.count == 1 && a.shape == shape && a.isContiguous {
        let s = b.basePointer.pointee
        parallelRows(rows: n, work: n * 2) { r in
            let x = pa.p, o = po.p
            for i in r { o[i] = f(x[i], s) }
        }
    } else if a.count == 1 && b.shape == shape && b.isContiguous {
        let s = a.basePointer.pointee
        parallelRows(rows: n, work: n * 2) { r in
            let y = pb.p, o = po.p
            for i in r { o[i] = f(s, y[i]) }
        }
    } else {
        let sa = a.layout.broadcastStrides(to: shape), sb = b.layout.broadcastStrides(to: shape)
        let so = Layout.contiguousStrides(shape)
        let (cs, cst) = coalesce(shape: shape, strides: [so, sa, sb])
        let inner = cs.last!
        let ia = cst[1].last!, ib = cst[2].last!
        parallelRows(rows: n / inner, work: n * 2) { rows in
            var cur = RowCursor(shape: cs, strides: cst, startRow: rows.lowerBound)
            for _ in rows {
                let o = po.p + cur.offsets[0], x = pa.p + cur.offsets[1], y = pb.p + cur.offsets[2]
                if ia == 1 && ib == 1 {
                    for i in 0..<inner { o[i] = f(x[i], y[i]) }
                } else if ia == 1 && ib == 0 {
                    let v = y.pointee
                    for i in 0..<inner { o[i] = f(x[i], v) }
                } else if ia == 0 && ib == 1 {
                    let v = x.pointee
                    for i in 0..<inner { o[i] = f(v, y[i]) }
                } else {
                    for i in 0..<inner { o[i] = f(x[i * ia], y[i * ib]) }
                }
                cur.advance()
            }
        }
    }
    return withExtendedLifetime((a, b)) { out }
}

/// out = f(a, b, c) with broadcasting of all three (used by `where` and fused backward terms).
func mapTernary<F: TernaryFunctor>(_ a: Tensor, _ b: Tensor, _ c: Tensor, _ f: F) -> Tensor {
    guard let s1 = Layout.broadcastShapes(a.shape, b.shape), let shape = Layout.broadcastShapes(s1, c.shape) else {
        preconditionFailure("shapes \(a.shape), \(b.shape), \(c.shape) do not broadcast")
    }
    let out = Tensor(uninitializedShape: shape)
    let n = out.count
    if n == 0 { return out }
    let pa = SendablePointer(a.basePointer), pb = SendablePointer(b.basePointer)
    let pc = SendablePointer(c.basePointer), po = SendablePointer(out.basePointer)
    if a.shape == shape && b.shape == shape && c.shape == shape && a.isContiguous && b.isContiguous && c.isContiguous {
        parallelRows(rows: n, work: n * 3) { r in
            let x = pa.p, y = pb.p, z = pc.p, o = po.p
            for i in r { o[i] = f(x[i], y[i], z[i]) }
        }
    } else {
        let so = Layout.contiguousStrides(shape)
        let (cs, cst) = coalesce(shape: shape, strides: [so, a.layout.broadcastStrides(to: shape),
                                                         b.layout.broadcastStrides(to: shape), c.layout.broadcastStrides(to: shape)])
        let inner = cs.last!
        let ia = cst[1].last!, ib = cst[2].last!, ic = cst[3].last!
        parallelRows(rows: n / inner, work: n * 3) { rows in
            var cur = RowCursor(shape: cs, strides: cst, startRow: rows.lowerBound)
            for _ in rows {
                let o = po.p + cur.offsets[0], x = pa.p + cur.offsets[1]
                let y = pb.p + cur.offsets[2], z = pc.p + cur.offsets[3]
                for i in 0..<inner { o[i] = f(x[i * ia], y[i * ib], z[i * ic]) }
                cur.advance()
            }
        }
    }
    return withExtendedLifetime((a, b, c)) { out }
}
