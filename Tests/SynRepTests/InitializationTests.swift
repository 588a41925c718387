import Foundation
import Testing
import SynTensor
@testable import SynRep

/// MoCo v3's ViT initialization (Chen et al. 2021, their `vits.py`): Xavier-uniform Linear layers with
/// q, k and v bounded as three D x D matrices, a Xavier-uniform patch embedding, zero biases.
@Suite struct InitializationTests {
    func check(_ t: Tensor, bound: Float, _ name: String) {
        let v = t.scalars
        let maxAbs = v.map(abs).max() ?? 0
        let std = (v.map { $0 * $0 }.reduce(0, +) / Float(v.count)).squareRoot()
        // U(-b, b): every value inside the bound, some near it, standard deviation b / sqrt 3.
        #expect(maxAbs <= bound && maxAbs > 0.98 * bound, "\(name): max |w| \(maxAbs) vs bound \(bound)")
        #expect(abs(std - bound / Float(3).squareRoot()) < 0.03 * bound, "\(name): std \(std) vs \(bound / Float(3).squareRoot())")
    }

    @Test func mocoV3BoundsEveryWeightAndZeroesBiases() {
        var config = ViTConfig.vitNano32
        config.channels = 1
        config.initialization = .mocoV3
        var g = RandomGenerator(seed: 3)
        let vit = VisionTransformer(config, generator: &g)
        let D = config.width
        check(vit.patchEmbed.proj.weight.value, bound: (6 / Float(16 + D)).squareRoot(), "patch_embed.proj.weight")
        for (i, b) in vit.blocks.enumerated() {
            check(b.attn.qkv.weight.value, bound: (6 / Float(2 * D)).squareRoot(), "blocks.\(i).attn.qkv.weight")
            check(b.attn.proj.weight.value, bound: (6 / Float(2 * D)).squareRoot(), "blocks.\(i).attn.proj.weight")
            check(b.mlp.fc1.weight.value, bound: (6 / Float(5 * D)).squareRoot(), "blocks.\(i).mlp.fc1.weight")
            check(b.mlp.fc2.weight.value, bound: (6 / Float(5 * D)).squareRoot(), "blocks.\(i).mlp.fc2.weight")
        }
        for (name, p) in vit.namedParameters() where name.hasSuffix(".bias") && !name.contains("norm") {
            #expect(p.value.scalars.allSatisfy { $0 == 0 }, "\(name) is not zero")
        }
    }

    @Test func timmStaysTheDefaultAndKeepsItsStream() {
        var a = ViTConfig.vitPico32, b = ViTConfig.vitPico32
        b.initialization = .timm
        var ga = RandomGenerator(seed: 1), gb = RandomGenerator(seed: 1)
        let va = VisionTransformer(a, generator: &ga), vb = VisionTransformer(b, generator: &gb)
        for ((n, p), (_, q)) in zip(va.namedParameters(), vb.namedParameters()) {
            #expect(p.value.scalars == q.value.scalars, "\(n) differs")
        }
        // nil (timm) is left out of the encoded configuration, so older run hashes still match.
        a.initialization = nil
        let json = String(decoding: (try? JSONEncoder().encode(a)) ?? Data(), as: UTF8.self)
        #expect(!json.contains("initialization"))
    }
}
