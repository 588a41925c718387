import Foundation
import SynTensor
@testable import SynDiffusion

/// A deterministic stand-in text encoder for tests: a [CLS]-like token, one vector per word (from
/// the word's FNV hash), a [SEP]-like token; mask 1 on those; pooled = mean of the real tokens.
struct ToyTextEncoder: TextEncoder {
    let name = "toy-encoder"
    let width: Int

    init(width: Int = 8) { self.width = width }

    private func vector(_ word: String) -> [Float] {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in word.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        var g = RandomGenerator(seed: h)
        return (0..<width).map { _ in g.normal() }
    }

    func encode(_ texts: [String]) throws -> Conditioning {
        let words = texts.map { ["<cls>"] + $0.lowercased().split(separator: " ").map(String.init) + ["<sep>"] }
        let L = words.map(\.count).max() ?? 2
        var tokens = [Float](repeating: 0, count: texts.count * L * width)
        var mask = [Float](repeating: 0, count: texts.count * L)
        var pooled = [Float](repeating: 0, count: texts.count * width)
        for (b, ws) in words.enumerated() {
            for (l, w) in ws.enumerated() {
                let v = vector(w)
                for j in 0..<width {
                    tokens[(b * L + l) * width + j] = v[j]
                    pooled[b * width + j] += v[j] / Float(ws.count)
                }
                mask[b * L + l] = 1
            }
        }
        return Conditioning(tokens: Tensor(shape: [texts.count, L, width], data: tokens),
                            mask: Tensor(shape: [texts.count, L], data: mask),
                            pooled: Tensor(shape: [texts.count, width], data: pooled))
    }
}

/// A tiny UNet for 8x8 images conditioned on the toy encoder.
func tinyUNetConfig(prediction: PredictionType = .vPrediction) -> UNetConfig {
    UNetConfig(sampleSize: 8, channels: 1, blockOutChannels: [8, 16], layersPerBlock: 1, attentionLevels: [false, true],
               attentionHeadDim: 8, crossAttentionDim: 8, normGroups: 4, timestepChannels: 16, timeEmbedDim: 32,
               pooledProjection: true, predictionType: prediction)
}

/// A fresh temporary directory (removed by the caller's defer).
func temporaryDirectory(_ label: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("synclr-\(label)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
