import Foundation
import SynDiffusion
import SynRep
import SynTensor

/// One workload measured on both sides: a Swift closure and the name of the same job in bench_torch.py.
struct Workload {
    var name: String
    var unit: String
    var higherIsBetter: Bool
    /// Converts seconds per repetition into the reported unit.
    var convert: (Double) -> Double
    /// Builds the Swift job (setup outside the timing).
    var make: () -> () -> Void
}

/// Wall-clock seconds of `body`.
func seconds(_ body: () -> Void) -> Double {
    let t = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - t) / 1e9
}

/// SGEMM, ViT block and ViT training-step workloads (issue 2's table).
func tensorWorkloads(quick: Bool) -> [Workload] {
    var list: [Workload] = []
    let gemms: [(Int, Int, Int)] = [(512, 512, 512), (1024, 1024, 1024)] + (quick ? [] : [(2048, 2048, 2048)]) +
        [(4160, 192, 576), (6304, 384, 1152), (6304, 384, 1536), (6304, 1536, 384)]
    for (m, k, n) in gemms {
        let flops = 2.0 * Double(m * k * n)
        list.append(Workload(name: "sgemm_\(m)x\(k)x\(n)", unit: "GFLOP/s", higherIsBetter: true,
                             convert: { flops / $0 / 1e9 }, make: {
            var g = RandomGenerator(seed: 1)
            let a = Tensor.randn([m, k], generator: &g), b = Tensor.randn([k, n], generator: &g)
            return { _ = a.matmul(b) }
        }))
    }
    list.append(Workload(name: "vit_s_block", unit: "ms", higherIsBetter: false, convert: { $0 * 1e3 }, make: {
        var g = RandomGenerator(seed: 2)
        let block = ViTBlock(dim: 384, heads: 6, mlpRatio: 4, qkvBias: true, eps: 1e-6, dropPath: 0, generator: &g)
        let x = Tensor.randn([32, 197, 384], generator: &g).requiringGrad()
        return { _ = block(x).sum().backward() }
    }))
    list.append(Workload(name: "vit_tiny_step", unit: "ms", higherIsBetter: false, convert: { $0 * 1e3 }, make: {
        var g = RandomGenerator(seed: 3)
        let model = VisionTransformer(ViTConfig(imageSize: 32, patchSize: 4, channels: 3, width: 192, depth: 12, heads: 3), generator: &g)
        let head = Linear(192, 10, generator: &g)
        let params = model.namedParameters() + head.namedParameters(prefix: "head.")
        let opt = AdamW([ParameterGroup(params)], learningRate: 1e-3, weightDecay: 0.05)
        let x = Tensor.randn([64, 3, 32, 32], generator: &g)
        let y = (0..<64).map { $0 % 10 }
        return {
            let loss = head(model(x)).crossEntropy(labels: y)
            opt.step(loss.backward())
        }
    }))
    list.append(Workload(name: "minilm_encode_64", unit: "ms", higherIsBetter: false, convert: { $0 * 1e3 }, make: {
        guard let encoder = try? MiniLMTextEncoder() else {
            print("minilm_encode_64: all-MiniLM-L6-v2 not installed (run Scripts/setup/install_models.sh); timing nothing")
            return {}
        }
        let captions = benchCaptions(64)
        return { _ = try? encoder.encode(captions) }
    }))
    return list
}

/// `n` short, varied captions (same list as bench_torch.py's `captions`).
func benchCaptions(_ n: Int) -> [String] {
    let things = ["dog", "red sports car", "bowl of ramen", "sunflower", "old lighthouse", "leather ankle boot",
                  "striped shirt", "airliner"]
    let places = ["on a beach at sunset", "in a snowy forest", "on a kitchen table", "next to a brick wall",
                  "under a cloudy sky", "in a busy street", "on a white background", "in a field of grass"]
    return (0..<n).map { "a photo of a \(things[$0 % things.count]) \(places[($0 / things.count) % places.count])" }
}
