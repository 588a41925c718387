import Testing
@testable import SynRep
@testable import SynTensor
import SynTestSupport

/// The SynRep ViT against a PyTorch transcription (itself checked against timm's VisionTransformer
/// by Scripts/fixtures/fixtures_synrep.py): 16x16x3 input, patch 4, width 32, depth 2, heads 2.
@Suite struct ViTParityTests {
    let file = RepFixtures.vit
    let tol = Tolerance(atol: 2e-5, rtol: 1e-4)

    func model() throws -> VisionTransformer {
        var g = RandomGenerator(seed: 9)
        let vit = VisionTransformer(ViTConfig(imageSize: 16, patchSize: 4, channels: 3, width: 32, depth: 2, heads: 2), generator: &g)
        try file.initialize(vit)
        return vit
    }

    /// Tokens, CLS and the gradient of sum(tokens * w) for every parameter and the input.
    @Test func tokensAndEveryGradient() throws {
        let vit = try model()
        let names = Set(vit.namedParameters().map(\.0))
        let expected = Set(file.tensors.keys.filter { $0.hasPrefix("grad/") }.map { String($0.dropFirst(5)) })
        #expect(names == expected, "parameter names differ from the PyTorch module's")

        let x = file.hashed("x").requiringGrad()
        let tokens = vit.forwardTokens(x)
        var fwd = expectClose(tokens.detached(), file["tokens"], tol, "tokens")
        fwd = fwd.merged(expectClose(vit(x).detached(), file["tokens"].select(1, 0), tol, "CLS"))
        let g = (tokens * file.hashed("w")).sum().backward()
        var bwd = expectClose(g[x] ?? .zeros(x.shape), file["grad_x"], tol, "grad of input")
        for (name, p) in vit.namedParameters() {
            // Without a mask the mask token is unused (PyTorch: no gradient, stored as zeros).
            #expect(g[p] != nil || name == "mask_token", "no gradient reached \(name)")
            bwd = bwd.merged(expectClose(g[p] ?? .zeros(p.shape), file["grad/\(name)"], tol, "grad of \(name)"))
        }
        report("vit tokens", fwd)
        report("vit grads", bwd)
    }

    /// Masked patches replaced by the mask token: tokens, the mask token's gradient, and no input
    /// gradient through masked patches.
    @Test func maskTokenSubstitution() throws {
        let vit = try model()
        let x = file.hashed("x").requiringGrad()
        let tokens = vit.forwardTokens(x, mask: file["mask"])
        let fwd = expectClose(tokens.detached(), file["masked/tokens"], tol, "masked tokens")
        let g = (tokens * file.hashed("w")).sum().backward()
        var bwd = expectClose(g[x] ?? .zeros(x.shape), file["masked/grad_x"], tol, "masked: grad of input")
        for (name, p) in [("mask_token", vit.maskToken), ("cls_token", vit.clsToken), ("pos_embed", vit.posEmbed)] {
            bwd = bwd.merged(expectClose(g[p] ?? .zeros(p.shape), file["masked/grad/\(name)"], tol, "masked: grad of \(name)"))
        }
        report("vit masked tokens", fwd)
        report("vit masked grads", bwd)
    }

    /// Inputs of another size: the 4x4 position grid resampled bicubically (align_corners false, no
    /// antialias) to 6x6, 2x2 and 3x5; resampled table, tokens and the position-embedding gradient.
    @Test(arguments: [("up", 24, 24), ("down", 8, 8), ("rect", 12, 20)])
    func positionEmbeddingResampling(_ tag: String, _ height: Int, _ width: Int) throws {
        let vit = try model()
        if let pos = file.tensors["\(tag)/pos"] {
            report("vit \(tag) pos", expectClose(vit.positionEmbedding(gridHeight: height / 4, gridWidth: width / 4).detached(),
                                                  pos, tol, "\(tag): resampled position embedding"))
        }
        let x = file.hashed("\(tag)/x")
        #expect(x.shape == [1, 3, height, width])
        let tokens = vit.forwardTokens(x)
        let fwd = expectClose(tokens.detached(), file["\(tag)/tokens"], tol, "\(tag): tokens")
        let g = (tokens * file.hashed("\(tag)/w")).sum().backward()
        let bwd = expectClose(g[vit.posEmbed] ?? .zeros(vit.posEmbed.shape), file["\(tag)/grad/pos_embed"], tol, "\(tag): grad of pos_embed")
        report("vit \(tag) tokens", fwd)
        report("vit \(tag) grad pos_embed", bwd)
    }
}
