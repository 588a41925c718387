import Testing
@testable import SynTensor

@Suite struct ModuleTests {
    final class Block: Module, UnaryLayer {
        let attn: MultiHeadAttention
        let mlp: MLP
        let norm: LayerNorm
        init(generator: inout RandomGenerator) {
            attn = MultiHeadAttention(embedDim: 8, heads: 2, generator: &generator)
            mlp = MLP(8, hidden: 16, generator: &generator)
            norm = LayerNorm(8)
            super.init()
        }
        override var children: [(String, Module)] { [("attn", attn), ("mlp", mlp), ("norm", norm)] }
        func callAsFunction(_ x: Tensor) -> Tensor { x + mlp(norm(x + attn(x))) }
    }

    @Test func dottedNamesFollowPyTorch() {
        var g = RandomGenerator(seed: 0)
        let seq = Sequential([Block(generator: &g), Dropout(0.1)])
        let names = seq.namedParameters().map { $0.0 }
        #expect(names == ["0.attn.in_proj_weight", "0.attn.in_proj_bias", "0.attn.out_proj.weight", "0.attn.out_proj.bias",
                          "0.mlp.fc1.weight", "0.mlp.fc1.bias", "0.mlp.fc2.weight", "0.mlp.fc2.bias",
                          "0.norm.weight", "0.norm.bias"])
        seq.eval()
        #expect(seq.namedModules().allSatisfy { !$0.1.isTraining })
        seq.train()
        #expect(seq.namedModules().allSatisfy { $0.1.isTraining })
    }

    @Test func stateDictRoundTripAndErrors() throws {
        var g = RandomGenerator(seed: 1)
        let a = MLP(4, hidden: 6, generator: &g), b = MLP(4, hidden: 6, generator: &g)
        try b.loadStateDict(a.stateDict())
        #expect(b.fc1.weight.value.scalars == a.fc1.weight.value.scalars)
        // Loaded parameters keep their identity, so existing gradient keys stay valid.
        let idBefore = b.fc2.bias!.id
        try b.loadStateDict(a.stateDict())
        #expect(b.fc2.bias!.id == idBefore)

        var bad = a.stateDict()
        bad["fc1.weight"] = Tensor.zeros([5, 4])
        bad["extra.weight"] = Tensor.zeros([1])
        bad["fc2.bias"] = nil
        #expect(throws: StateDictError.self) { try b.loadStateDict(bad) }
        let report = try b.loadStateDict(bad, strict: false)
        #expect(report.missing == ["fc2.bias"])
        #expect(report.unexpected == ["extra.weight"])
        #expect(report.mismatched.map(\.name) == ["fc1.weight"])
        #expect("\(StateDictError.incompatible(source: "x.safetensors", report: report))".contains("fc1.weight"))
    }

    @Test func gradientAccumulationEqualsFullBatch() {
        var g = RandomGenerator(seed: 2)
        let m = Linear(3, 2, generator: &g)
        let x = Tensor.randn([4, 3], generator: &g)
        let labels = [0, 1, 1, 0]
        let full = valueAndGrad(m) { $0(x).crossEntropy(labels: labels) }.grads
        var acc = Gradients()
        for half in 0..<2 {
            let xs = x.slice(0, half * 2, half * 2 + 2)
            acc.accumulate(valueAndGrad(m) { $0(xs).crossEntropy(labels: Array(labels[half * 2..<half * 2 + 2])) }.grads)
        }
        acc.scale(by: 0.5)
        for p in m.parameters() {
            for (u, v) in zip(full[p]!.scalars, acc[p]!.scalars) { #expect(abs(u - v) < 1e-6) }
        }
    }

    @Test func noGradRecordsNothing() {
        let x = Tensor([1, 2, 3]).requiringGrad()
        let y = withNoGrad { (x * 2).sum() }
        #expect(!y.requiresGrad)
        #expect(y.gradientOperation == nil)
    }

    @Test func mlpLearnsSpirals() {
        // Convergence: a 2-hidden-layer MLP must separate 3 noisy spiral arms (>= 95% train accuracy).
        var g = RandomGenerator(seed: 3)
        var xs: [Float] = [], ys: [Int] = []
        for c in 0..<3 {
            for i in 0..<100 {
                let r = Float(i) / 100
                let t = Float(c) * 2.0944 + r * 4 + g.normal() * 0.1
                xs += [r * cosf(t), r * sinf(t)]
                ys.append(c)
            }
        }
        let x = Tensor(shape: [300, 2], data: xs)
        let model = Sequential([Linear(2, 64, generator: &g), Activation(.relu), Linear(64, 64, generator: &g),
                                Activation(.relu), Linear(64, 3, generator: &g)])
        let opt = AdamW(ParameterGroup.decayAndNoDecay(model.namedParameters()), learningRate: 1e-2, weightDecay: 1e-4)
        var first: Float = 0, last: Float = 0
        for step in 0..<300 {
            let (loss, grads) = valueAndGrad(model) { $0(x).crossEntropy(labels: ys) }
            opt.step(grads)
            if step == 0 { first = loss.item() }
            last = loss.item()
        }
        let pred = withNoGrad { model(x) }.argmax(axis: 1).scalars
        let acc = Float(zip(pred, ys).filter { Int($0.0) == $0.1 }.count) / 300
        #expect(first > 1.0)
        #expect(last < 0.1)
        #expect(acc >= 0.95)
    }
}

import Foundation
func cosf(_ x: Float) -> Float { Float(Foundation.cos(Double(x))) }
func sinf(_ x: Float) -> Float { Float(Foundation.sin(Double(x))) }
