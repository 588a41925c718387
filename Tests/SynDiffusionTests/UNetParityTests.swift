import Foundation
import SynTensor
import Testing
@testable import SynDiffusion

/// A parity fixture of Scripts/fixtures/fixtures_unet.py: weights, inputs, output, loss probe and gradients.
struct UNetFixture {
    let file: SafetensorsFile
    let path: String

    init(_ name: String) throws {
        let url = try fixtureURL("unet_" + name, "safetensors")
        file = try SafetensorsFile(url: url)
        path = url.path
    }

    func tensor(_ name: String) throws -> Tensor { try file.tensor(name) }

    /// Entries `prefix.*` with the prefix removed.
    func group(_ prefix: String) throws -> [String: Tensor] {
        var d: [String: Tensor] = [:]
        for n in file.names where n.hasPrefix(prefix + ".") { d[String(n.dropFirst(prefix.count + 1))] = try file.tensor(n) }
        return d
    }

    /// Loads the weights, runs `forward` (inputs made differentiable where the fixture has their
    /// gradients), and compares output and every gradient.
    func check(_ module: Module, atol: Float = 2e-4, rtol: Float = 2e-4,
               sourceLocation: SourceLocation = #_sourceLocation,
               _ forward: ([String: Tensor]) -> Tensor) throws {
        try module.loadStateDict(try group("param"), source: path)
        var inputs = try group("input")
        let inputGrads = try group("grad.input")
        for k in inputGrads.keys { inputs[k] = inputs[k]!.requiringGrad() }
        let probe = try tensor("probe")
        let (out, grads) = GradMode.$isEnabled.withValue(true) { () -> (Tensor, Gradients) in
            let o = forward(inputs)
            return (o.detached(), (o * probe).sum().backward())
        }
        let expected = try tensor("output")
        #expect(out.shape == expected.shape, "output shape", sourceLocation: sourceLocation)
        expectClose(out, expected, atol: atol, rtol: rtol, "output", sourceLocation)
        for (name, p) in module.namedParameters() {
            guard let g = grads[p] else {
                Issue.record("no gradient reached \(name)", sourceLocation: sourceLocation)
                continue
            }
            expectClose(g, try tensor("grad." + name), atol: atol, rtol: rtol, "grad \(name)", sourceLocation)
        }
        for (k, expectedGrad) in inputGrads {
            guard let g = grads[inputs[k]!] else {
                Issue.record("no gradient reached input \(k)", sourceLocation: sourceLocation)
                continue
            }
            expectClose(g, expectedGrad, atol: atol, rtol: rtol, "grad input \(k)", sourceLocation)
        }
    }
}

/// |a - b| <= atol + rtol * max|b| over all elements (scale-aware for large gradients).
func expectClose(_ a: Tensor, _ b: Tensor, atol: Float, rtol: Float, _ what: String, _ loc: SourceLocation) {
    guard a.shape == b.shape else {
        Issue.record("\(what): shape \(a.shape) vs expected \(b.shape)", sourceLocation: loc)
        return
    }
    let x = a.contiguous().scalars, y = b.contiguous().scalars
    let scale = y.reduce(0) { max($0, abs($1)) }
    let err = maxAbs(x, y)
    #expect(err <= atol + rtol * scale, "\(what): max |diff| \(err) (max |expected| \(scale))", sourceLocation: loc)
}

/// The UNet blocks against their PyTorch twins (Scripts/fixtures/unet_torch.py via Scripts/fixtures/fixtures_unet.py):
/// forward outputs and the gradients of every parameter and differentiable input.
@Suite struct UNetParityTests {
    @Test func resnetBlock() throws {
        var g = RandomGenerator(seed: 1)
        let block = ResnetBlock2D(inChannels: 8, outChannels: 16, embedding: 12, groups: 4, generator: &g)
        try UNetFixture("resnet").check(block) { block($0["x"]!, emb: $0["emb"]!) }
    }

    @Test func spatialTransformerWithMaskedCrossAttention() throws {
        var g = RandomGenerator(seed: 2)
        let block = Transformer2D(channels: 16, heads: 2, contextDim: 12, groups: 4, generator: &g)
        try UNetFixture("transformer").check(block) {
            block($0["x"]!, context: $0["context"]!, keyMask: Attention.keyMask($0["mask"]!))
        }
    }

    @Test func timestepEmbedding() throws {
        let f = try UNetFixture("timestep_features")
        let feats = sinusoidalTimestepEmbedding(try f.tensor("t"), dim: 16)
        expectClose(feats, try f.tensor("features"), atol: 2e-6, rtol: 0, "sinusoidal features", #_sourceLocation)
        var g = RandomGenerator(seed: 3)
        let mlp = TimestepEmbedding(16, width: 24, generator: &g)
        try UNetFixture("timestep").check(mlp) { mlp(sinusoidalTimestepEmbedding($0["t"]!, dim: 16)) }
    }

    @Test func fullUNet() throws {
        let config = UNetConfig(sampleSize: 8, channels: 1, blockOutChannels: [8, 16], layersPerBlock: 1,
                                attentionLevels: [false, true], attentionHeadDim: 8, crossAttentionDim: 12, normGroups: 4,
                                timestepChannels: 16, timeEmbedDim: 32, pooledProjection: true)
        var g = RandomGenerator(seed: 4)
        let unet = UNet2DCondition(config, generator: &g)
        let fixture = try UNetFixture("full")
        #expect(Set(unet.stateDict().keys) == Set(try fixture.group("param").keys), "parameter names match the PyTorch twin")
        try fixture.check(unet, atol: 5e-4, rtol: 5e-4) {
            unet.predict($0["x"]!, timesteps: $0["t"]!,
                         conditioning: Conditioning(tokens: $0["tokens"]!, mask: $0["mask"]!, pooled: $0["pooled"]!))
        }
    }
}
