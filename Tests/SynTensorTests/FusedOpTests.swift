import Testing
@testable import SynTensor

/// Fused kernels must agree with the composed reference ops, in value and gradient.
@Suite struct FusedOpTests {
    func reference(_ qkv: Tensor, heads: Int) -> Tensor {
        let B = qkv.shape[0], N = qkv.shape[1], D = qkv.shape[2] / 3
        let h = qkv.reshaped([B, N, 3, heads, D / heads]).permuted([2, 0, 3, 1, 4])
        let o = Tensor.scaledDotProductAttention(query: h.select(0, 0), key: h.select(0, 1), value: h.select(0, 2))
        return o.permuted([0, 2, 1, 3]).reshaped([B, N, D])
    }

    @Test func packedAttentionMatchesComposed() {
        let qkv = testTensor([3, 5, 12], seed: 40)
        let fused = qkv.packedSelfAttention(heads: 2).scalars
        let ref = reference(qkv, heads: 2).scalars
        for (a, b) in zip(fused, ref) { #expect(abs(a - b) < 1e-5) }
        checkGradients([qkv]) { $0[0].packedSelfAttention(heads: 2) }
    }

    @Test func packedAttentionLargeBatchThreads() {
        // Many (batch, head) pairs run concurrently through OpenBLAS; results must not depend on it.
        let qkv = testTensor([16, 17, 48], seed: 41)
        let a = qkv.packedSelfAttention(heads: 4).scalars
        let b = reference(qkv, heads: 4).scalars
        var maxErr: Float = 0
        for (x, y) in zip(a, b) { maxErr = max(maxErr, abs(x - y)) }
        #expect(maxErr < 1e-5)
    }

    @Test func linearMatchesMatmul() {
        let x = testTensor([2, 3, 4], seed: 42), w = testTensor([5, 4], seed: 43), b = testTensor([5], seed: 44)
        let y = x.linear(weight: w, bias: b).scalars
        let r = (x.matmul(w.T) + b).scalars
        for (p, q) in zip(y, r) { #expect(abs(p - q) < 1e-5) }
        checkGradients([x, w, b]) { $0[0].linear(weight: $0[1], bias: $0[2]) }
        checkGradients([x.transposed(0, 1), w, b]) { $0[0].linear(weight: $0[1], bias: $0[2]) }
    }

    /// Through `x W^T` (a linear without bias, attention projections) the weight's gradient is dense
    /// in the weight's layout (clipping and AdamW read it without a copy), and `linear` without a
    /// bias equals matmul bit for bit in the output and both gradients.
    @Test func linearWithoutBiasGradientIsDense() {
        let x = testTensor([3, 37, 24], seed: 45).requiringGrad(), w = testTensor([40, 24], seed: 46).requiringGrad()
        let seed = testTensor([3, 37, 40], seed: 47)
        let y = x.linear(weight: w, bias: nil)
        let r = x.matmul(w.T)
        #expect(y.scalars == r.scalars)
        let g = (y * seed).sum().backward(), gr = (r * seed).sum().backward()
        #expect(g[w]!.isContiguous && g[w]!.shape == [40, 24])
        #expect(gr[w]!.isContiguous && gr[w]!.shape == [40, 24])
        // A 2-D input and a weight used elsewhere too (its gradients summed) stay dense.
        let x2 = testTensor([5, 24], seed: 48)
        let g2 = (x2.matmul(w.T).sum() + x.matmul(w.T).sum()).backward()
        #expect(g2[w]!.isContiguous)
        #expect(g[w]!.scalars == gr[w]!.scalars)
        #expect(g[x]!.scalars == gr[x]!.scalars)
        checkGradients([x, w]) { $0[0].linear(weight: $0[1], bias: nil) }
    }
}
