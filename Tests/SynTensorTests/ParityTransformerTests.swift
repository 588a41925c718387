import Testing
@testable import SynTensor
import SynTestSupport

/// timm ViT attention: one qkv Linear, scaled dot-product attention per head, output projection.
final class ParityAttention: Module {
    /// Packed q/k/v projection [3C, C].
    let qkv: Linear
    /// Output projection.
    let proj: Linear
    /// Number of heads.
    let heads: Int
    /// Use the fused `packedSelfAttention` kernel instead of `scaledDotProductAttention` on head views.
    let fused: Bool

    /// Attention over `dim` features split into `heads` heads.
    init(dim: Int, heads: Int, fused: Bool, generator: inout RandomGenerator) {
        qkv = Linear(dim, dim * 3, generator: &generator)
        proj = Linear(dim, dim, generator: &generator)
        self.heads = heads
        self.fused = fused
        super.init()
    }

    override var children: [(String, Module)] { [("qkv", qkv), ("proj", proj)] }

    /// x [B, N, C] -> [B, N, C].
    func callAsFunction(_ x: Tensor) -> Tensor {
        if fused { return proj(qkv(x).packedSelfAttention(heads: heads)) }
        let B = x.shape[0], N = x.shape[1], C = x.shape[2]
        let packed = qkv(x).reshaped([B, N, 3, heads, C / heads]).permuted([2, 0, 3, 1, 4])
        let o = Tensor.scaledDotProductAttention(query: packed.select(0, 0), key: packed.select(0, 1), value: packed.select(0, 2))
        return proj(o.transposed(1, 2).reshaped([B, N, C]))
    }
}

/// timm ViT `Block` (pre-norm): x + attn(norm1(x)), then x + mlp(norm2(x)).
final class ParityBlock: Module, UnaryLayer {
    /// Norm before attention.
    let norm1: LayerNorm
    /// Self-attention.
    let attn: ParityAttention
    /// Norm before the MLP.
    let norm2: LayerNorm
    /// fc1 -> GELU -> fc2.
    let mlp: MLP

    /// A block of width `dim`.
    init(dim: Int, heads: Int, hidden: Int, fused: Bool, generator: inout RandomGenerator) {
        norm1 = LayerNorm(dim)
        attn = ParityAttention(dim: dim, heads: heads, fused: fused, generator: &generator)
        norm2 = LayerNorm(dim)
        mlp = MLP(dim, hidden: hidden, generator: &generator)
        super.init()
    }

    override var children: [(String, Module)] { [("norm1", norm1), ("attn", attn), ("norm2", norm2), ("mlp", mlp)] }

    /// x [B, N, C] -> [B, N, C].
    func callAsFunction(_ x: Tensor) -> Tensor {
        let (h, normed) = norm2(x, adding: attn(norm1(x)))
        return h + mlp(normed)
    }
}

/// Two blocks, a final norm and a linear head on the mean token (as in Scripts/fixtures/fixtures_ops.py).
final class ParityTransformer: Module {
    /// The blocks, named `blocks.0`, `blocks.1`.
    let blocks: Sequential
    /// Final norm.
    let norm: LayerNorm
    /// Classifier.
    let head: Linear

    /// The fixture's model: width 8, 2 heads, MLP hidden 16, 5 classes.
    init(fused: Bool, generator: inout RandomGenerator) {
        let b0 = ParityBlock(dim: 8, heads: 2, hidden: 16, fused: fused, generator: &generator)
        let b1 = ParityBlock(dim: 8, heads: 2, hidden: 16, fused: fused, generator: &generator)
        blocks = Sequential([b0, b1])
        norm = LayerNorm(8)
        head = Linear(8, 5, generator: &generator)
        super.init()
    }

    override var children: [(String, Module)] { [("blocks", blocks), ("norm", norm), ("head", head)] }

    /// Tokens [B, N, C] -> logits [B, classes].
    func callAsFunction(_ x: Tensor) -> Tensor {
        head(norm(blocks(x)).mean(axis: 1))
    }
}

/// A whole 2-block pre-norm transformer against PyTorch: loss, logits, every parameter gradient.
@Suite struct TransformerParityTests {
    let file = Fixtures.transformer

    /// `fused` runs attention through `packedSelfAttention` (as SynRep's ViT) instead of `scaledDotProductAttention`.
    @Test(arguments: [false, true])
    func forwardLossAndEveryGradient(fused: Bool) throws {
        var g = RandomGenerator(seed: 1)
        let model = ParityTransformer(fused: fused, generator: &g)
        var state: [String: Tensor] = [:]
        for (key, t) in file.tensors where key.hasPrefix("param/") { state[String(key.dropFirst(6))] = t }
        let report = try model.loadStateDict(state)
        #expect(report.isClean, "\(report)")
        let names = model.namedParameters().map { $0.0 }
        #expect(Set(names) == Set(state.keys), "Swift parameter names differ from PyTorch's state_dict")

        let x = file["input"].requiringGrad()
        let labels = ints(file["labels"])
        var logits = Tensor(0)
        let (loss, grads) = valueAndGrad(model) { m in
            logits = m(x)
            return logits.crossEntropy(labels: labels)
        }
        let tol = Tolerance(atol: 1e-5, rtol: 1e-4)
        var worst = expectClose(loss, file["loss"].reshaped([]), tol, "loss")
        worst = worst.merged(expectClose(logits.detached(), file["logits"], tol, "logits"))
        var gradWorst = expectClose(grads[x] ?? Tensor.zeros(x.shape), file["grad_input"], tol, "grad of input")
        for (name, p) in model.namedParameters() {
            let gp = grads[p]
            #expect(gp != nil, "no gradient reached \(name)")
            gradWorst = gradWorst.merged(expectClose(gp ?? Tensor.zeros(p.shape), file["grad/\(name)"], tol, "grad of \(name)"))
        }
        if parityReport {
            print("PARITY transformer\(fused ? "_fused" : ""): forward abs \(worst.maxAbs) rel \(worst.maxRel); grads abs \(gradWorst.maxAbs) rel \(gradWorst.maxRel)")
        }
    }
}
