extension Tensor {
    /// Matrix product with PyTorch `matmul` semantics (1-D operands promoted, batch dims broadcast).
    public func matmul(_ other: Tensor) -> Tensor {
        if rank == 1 && other.rank == 1 {
            return (self * other).sum()
        }
        if rank == 1 { return unsqueezed(0).matmul(other).squeezed(-2) }
        if other.rank == 1 { return matmul(other.unsqueezed(-1)).squeezed(-1) }
        let a = self, b = other
        let out = matmulKernel(a, b)
        return Tensor.record(out, inputs: [a, b], op: "matmul") { g in
            var ga: Tensor? = nil, gb: Tensor? = nil
            if a.requiresGrad { ga = matmulKernel(g, b.transposed(-2, -1)) }
            if b.requiresGrad {
                if b.rank == 2 && !b.isContiguous && b.transposed(0, 1).isContiguous {
                    // b = W^T of a dense W (x W^T: bias-free layers, attention projections): the
                    // gradient is computed in W's own layout, so W's comes out dense instead of as a
                    // transposed view that clipping and AdamW would copy every step.
                    let af = a.reshapedNoGrad([-1, a.shape[a.rank - 1]])
                    let gf = g.reshapedNoGrad([-1, g.shape[g.rank - 1]])
                    gb = matmulKernel(gf.transposed(0, 1), af).transposed(0, 1)
                } else if b.rank == 2 && a.rank > 2 {
                    // Weight gradient: fold the batch into the reduction dimension (one GEMM).
                    let af = a.reshapedNoGrad([-1, a.shape[a.rank - 1]])
                    let gf = g.reshapedNoGrad([-1, g.shape[g.rank - 1]])
                    gb = matmulKernel(af.transposed(0, 1), gf)
                } else {
                    gb = matmulKernel(a.transposed(-2, -1), g)
                }
            }
            return [ga, gb]
        }
    }

    /// Reshape without an autodiff record (used inside pullbacks).
    func reshapedNoGrad(_ newShape: [Int]) -> Tensor {
        let s = resolveShape(newShape)
        let src = contiguousNoGrad()
        return src.viewNoGrad(Layout(contiguous: s, offset: src.layout.offset))
    }
}

/// Matrix product with PyTorch `matmul` semantics.
public func matmul(_ a: Tensor, _ b: Tensor) -> Tensor { a.matmul(b) }
