import Foundation
import SynTensor

/// Training captions grouped by Fashion-MNIST class, with their text-encoder states computed once.
///
/// Entry 0 is always the empty caption (the unconditional prompt used for caption dropout and by
/// guidance); the distinct captions follow in first-appearance order.
public struct CaptionBank {
    /// Distinct caption texts; index 0 is "".
    public let texts: [String]
    /// For each class, indices into `texts` of its captions.
    public let byClass: [[Int]]
    /// Token states [texts.count, L, D] padded to the longest caption.
    public let tokens: Tensor
    /// Token mask [texts.count, L] (1 real, 0 padding).
    public let mask: Tensor
    /// Pooled vectors [texts.count, D].
    public let pooled: Tensor
    /// Real token count of each entry.
    public let lengths: [Int]
    /// Name of the encoder that produced the states.
    public let encoderName: String

    /// Groups the captions of `records` by class (via `FashionMNISTImages.classIndex(ofConcept:)`).
    /// Throws naming `path` when a line lacks a concept, names an unknown class, or a class has no caption.
    public static func group(_ records: [CaptionRecord], path: String) throws -> (texts: [String], byClass: [[Int]]) {
        var texts = [""], index: [String: Int] = ["": 0]
        var byClass = [[Int]](repeating: [], count: FashionMNISTImages.classNames.count)
        for (i, r) in records.enumerated() {
            guard let concept = r.concept else {
                throw DiffusionError.malformedLine(path: path, line: i + 1, reason: "caption \(r.id) has no \"concept\" field")
            }
            guard let cls = FashionMNISTImages.classIndex(ofConcept: concept) else {
                throw DiffusionError.badData(path: path, reason: "caption \(r.id): concept \"\(concept)\" is not a Fashion-MNIST class (accepted: \(FashionMNISTImages.conceptAliases.map { $0[0] }.joined(separator: ", ")))")
            }
            let text = r.caption
            if text.isEmpty { continue }
            let k: Int
            if let known = index[text] { k = known } else {
                k = texts.count
                texts.append(text)
                index[text] = k
            }
            if !byClass[cls].contains(k) { byClass[cls].append(k) }
        }
        if let missing = byClass.firstIndex(where: \.isEmpty) {
            throw DiffusionError.badData(path: path, reason: "no caption for class \"\(FashionMNISTImages.classNames[missing])\"")
        }
        return (texts, byClass)
    }

    /// Encodes `texts` with `encoder` in batches of `batchSize` (progress to `progress`).
    public init(texts: [String], byClass: [[Int]], encoder: any TextEncoder, batchSize: Int = 64,
                progress: ((Int, Int) -> Void)? = nil) throws {
        precondition(texts.first == "", "entry 0 of a caption bank must be the empty caption")
        var states: [(Tensor, [Float], Tensor)] = []
        var maxLen = 1
        var start = 0
        while start < texts.count {
            let chunk = Array(texts[start..<min(start + batchSize, texts.count)])
            let c = try encoder.encode(chunk)
            guard let t = c.tokens, let m = c.mask, let p = c.pooled else {
                throw DiffusionError.badData(path: encoder.name, reason: "the text encoder must return tokens, mask and pooled vectors")
            }
            let ms = m.scalars, L = t.shape[1]
            for b in 0..<chunk.count {
                let len = Int(ms[(b * L)..<(b * L + L)].reduce(0, +))
                maxLen = max(maxLen, len)
                states.append((t.select(0, b).narrow(0, start: 0, length: len).contiguous(),
                               Array(ms[(b * L)..<(b * L + L)].prefix(len)), p.select(0, b).contiguous()))
            }
            start += chunk.count
            progress?(start, texts.count)
        }
        let D = encoder.width
        var tok = [Float](repeating: 0, count: texts.count * maxLen * D)
        var msk = [Float](repeating: 0, count: texts.count * maxLen)
        var pool = [Float](repeating: 0, count: texts.count * D)
        var lengths: [Int] = []
        for (i, (t, m, p)) in states.enumerated() {
            let len = m.count
            lengths.append(len)
            let ts = t.scalars
            for j in 0..<(len * D) { tok[i * maxLen * D + j] = ts[j] }
            for j in 0..<len { msk[i * maxLen + j] = m[j] }
            let ps = p.scalars
            for j in 0..<D { pool[i * D + j] = ps[j] }
        }
        self.init(texts: texts, byClass: byClass,
                  tokens: Tensor(shape: [texts.count, maxLen, D], data: tok),
                  mask: Tensor(shape: [texts.count, maxLen], data: msk),
                  pooled: Tensor(shape: [texts.count, D], data: pool), lengths: lengths, encoderName: encoder.name)
    }

    /// A bank from already computed states.
    public init(texts: [String], byClass: [[Int]], tokens: Tensor, mask: Tensor, pooled: Tensor, lengths: [Int], encoderName: String) {
        self.texts = texts
        self.byClass = byClass
        self.tokens = tokens
        self.mask = mask
        self.pooled = pooled
        self.lengths = lengths
        self.encoderName = encoderName
    }

    /// The conditioning of entries `indices` (a batch), trimmed to the longest of them.
    public func conditioning(_ indices: [Int]) -> Conditioning {
        let len = indices.map { lengths[$0] }.max() ?? 1
        let t = tokens.indexSelect(axis: 0, indices: indices).narrow(1, start: 0, length: len).contiguous()
        let m = mask.indexSelect(axis: 0, indices: indices).narrow(1, start: 0, length: len).contiguous()
        return Conditioning(tokens: t, mask: m, pooled: pooled.indexSelect(axis: 0, indices: indices))
    }

    /// A stable fingerprint of the texts, class grouping and encoder (cache key).
    public static func fingerprint(texts: [String], byClass: [[Int]], encoderName: String) -> String {
        var h = FNV1a()
        func mix(_ s: String) {
            h.combine(s)
            h.combine(byte: 0xFF)
        }
        mix(encoderName)
        for t in texts { mix(t) }
        for c in byClass { mix(c.map(String.init).joined(separator: ",")) }
        return h.hex
    }

    /// Saves the encoded states (so a resumed run uses bit-identical text states).
    public func save(to url: URL) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        let meta = String(decoding: try enc.encode(["texts": texts]), as: UTF8.self)
        let classes = String(decoding: try enc.encode(byClass), as: UTF8.self)
        try Safetensors.save(["tokens": tokens, "mask": mask, "pooled": pooled,
                              "lengths": Tensor(lengths.map(Float.init))], to: url,
                             metadata: ["texts": meta, "by_class": classes, "encoder": encoderName,
                                        "fingerprint": CaptionBank.fingerprint(texts: texts, byClass: byClass, encoderName: encoderName)])
    }

    /// Loads states saved by `save(to:)` if they match `texts`, `byClass` and `encoderName`; nil otherwise.
    public static func load(_ url: URL, texts: [String], byClass: [[Int]], encoderName: String) throws -> CaptionBank? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let file = try SafetensorsFile(url: url)
        guard file.metadata?["fingerprint"] == fingerprint(texts: texts, byClass: byClass, encoderName: encoderName) else { return nil }
        let lengths = try file.tensor("lengths").scalars.map { Int($0) }
        return CaptionBank(texts: texts, byClass: byClass, tokens: try file.tensor("tokens"), mask: try file.tensor("mask"),
                           pooled: try file.tensor("pooled"), lengths: lengths, encoderName: encoderName)
    }
}
