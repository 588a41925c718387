import Foundation
import SynTensor
import Testing
@testable import SynDiffusion

/// HF-style padded BERT forward (additive -inf key mask, `Tensor.scaledDotProductAttention`), the
/// reference the unpadded kernel must reproduce on every real token.
func paddedReference(_ m: BertModel, _ batch: TokenBatch) -> Tensor {
    let B = batch.batch, L = batch.length, D = m.config.hiddenSize, H = m.config.heads, d = D / H
    let e = m.embeddings
    var x = e.word.weight.value.embedding(batch.ids).reshaped([B, L, D])
        + e.position.weight.value.narrow(0, start: 0, length: L) + e.tokenType.weight.value.select(0, 0)
    x = e.norm(x)
    let mask = Tensor.attentionMask(keep: Tensor(shape: [B, 1, 1, L], data: batch.mask))
    func split(_ t: Tensor) -> Tensor { t.reshaped([B, L, H, d]).permuted([0, 2, 1, 3]) }
    for l in m.layers {
        let a = Tensor.scaledDotProductAttention(query: split(l.query(x)), key: split(l.key(x)), value: split(l.value(x)), mask: mask)
        let h = l.attnNorm(x + l.attnOut(a.permuted([0, 2, 1, 3]).contiguous().reshaped([B, L, D])))
        x = l.outNorm(h + l.down(l.up(h).gelu()))
    }
    return x
}

/// A small BERT with random weights (the packed kernel and loading do not depend on the checkpoint).
func randomBert(seed: UInt64) -> BertModel {
    let m = BertModel(config: BertConfiguration(vocabSize: 50, hiddenSize: 24, layers: 2, heads: 3, intermediateSize: 40,
                                                maxPositions: 40, typeVocabSize: 2, layerNormEps: 1e-12))
    var g = RandomGenerator(seed: seed)
    for (_, p) in m.namedParameters() { p.value = Tensor.randn(p.shape, std: 0.5, generator: &g) }
    return m
}

@Suite struct BertModelTests {
    @Test func unpaddedKernelMatchesMaskedAttention() throws {
        let m = randomBert(seed: 7)
        let lengths = [1, 17, 5, 40, 2]
        let L = lengths.max()!
        var ids = [Int](repeating: 0, count: lengths.count * L), mask = [Float](repeating: 0, count: lengths.count * L)
        for (b, n) in lengths.enumerated() {
            for j in 0..<n { ids[b * L + j] = (b * 7 + j * 3) % 50; mask[b * L + j] = 1 }
        }
        let batch = TokenBatch(ids: ids, mask: mask, lengths: lengths, batch: lengths.count, length: L)
        let (ours, ref) = withNoGrad { (m(batch).scalars, paddedReference(m, batch).scalars) }
        var worst: Float = 0
        for (i, keep) in mask.enumerated() {
            for k in 0..<24 {
                if keep != 0 { worst = max(worst, abs(ours[i * 24 + k] - ref[i * 24 + k])) } else { #expect(ours[i * 24 + k] == 0) }
            }
        }
        #expect(worst < 2e-5, "max deviation \(worst)")
    }

    @Test func loadsWithOrWithoutBertPrefixStrictly() throws {
        let src = randomBert(seed: 3)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("synclr-bert-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let batch = TokenBatch(ids: [1, 4, 9, 2, 3, 0], mask: [1, 1, 1, 1, 1, 0], lengths: [3, 2], batch: 2, length: 3)
        let expected = withNoGrad { src(batch).scalars }
        for prefix in ["", "bert."] {
            let url = dir.appendingPathComponent("m\(prefix).safetensors")
            let dict = Dictionary(uniqueKeysWithValues: src.stateDict().map { (prefix + $0.key, $0.value) })
            try Safetensors.save(dict, to: url)
            let dst = BertModel(config: src.config)
            try dst.load(url)
            #expect(withNoGrad { dst(batch).scalars } == expected, "prefix '\(prefix)'")
        }
        // A checkpoint of another shape fails naming the file and the key.
        let wide = BertModel(config: BertConfiguration(vocabSize: 50, hiddenSize: 24, layers: 3, heads: 3, intermediateSize: 40,
                                                       maxPositions: 40, typeVocabSize: 2, layerNormEps: 1e-12))
        let url = dir.appendingPathComponent("m.safetensors")
        #expect {
            try wide.load(url)
        } throws: { error in
            let text = "\(error)"
            return text.contains(url.path) && text.contains("encoder.layer.2.attention.self.query.weight")
        }
    }
}
