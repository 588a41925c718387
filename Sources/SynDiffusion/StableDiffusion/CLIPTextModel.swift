import Foundation
import SynTensor

/// CLIP text-tower hyperparameters (transformers' `CLIPTextConfig`, config.json keys).
public struct CLIPTextConfiguration: Sendable, Equatable {
    /// Vocabulary size.
    public var vocabSize: Int
    /// Model width D.
    public var hiddenSize: Int
    /// Feed-forward width.
    public var intermediateSize: Int
    /// Transformer layers.
    public var layers: Int
    /// Attention heads.
    public var heads: Int
    /// Learned positions (77).
    public var maxPositions: Int
    /// "quick_gelu" (CLIP ViT-L/14, SD 1.x) or "gelu" (OpenCLIP ViT-H/14, SD 2.x).
    public var hiddenAct: String
    /// LayerNorm epsilon.
    public var layerNormEps: Float
    /// End token id (its first position gives the pooled state; 2 means the legacy argmax rule).
    public var eosTokenID: Int

    /// A configuration; the defaults are CLIP ViT-L/14's text tower (Stable Diffusion 1.x).
    public init(vocabSize: Int = 49408, hiddenSize: Int = 768, intermediateSize: Int = 3072, layers: Int = 12, heads: Int = 12,
                maxPositions: Int = 77, hiddenAct: String = "quick_gelu", layerNormEps: Float = 1e-5, eosTokenID: Int = 2) {
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.layers = layers
        self.heads = heads
        self.maxPositions = maxPositions
        self.hiddenAct = hiddenAct
        self.layerNormEps = layerNormEps
        self.eosTokenID = eosTokenID
    }

    /// Reads a text encoder's `config.json` (transformers' defaults for absent keys).
    public init(contentsOf url: URL) throws {
        let c = try readJSONObject(url)
        func int(_ k: String, _ d: Int) throws -> Int {
            guard let v = c[k] else { return d }
            guard let n = (v as? NSNumber)?.intValue, n > 0 else { throw DiffusionError.badCheckpoint(path: url.path, reason: "\(k) must be a positive integer") }
            return n
        }
        self.init(vocabSize: try int("vocab_size", 49408), hiddenSize: try int("hidden_size", 512),
                  intermediateSize: try int("intermediate_size", 2048), layers: try int("num_hidden_layers", 12),
                  heads: try int("num_attention_heads", 8), maxPositions: try int("max_position_embeddings", 77),
                  hiddenAct: c["hidden_act"] as? String ?? "quick_gelu",
                  layerNormEps: (c["layer_norm_eps"] as? NSNumber)?.floatValue ?? 1e-5,
                  eosTokenID: (c["eos_token_id"] as? NSNumber)?.intValue ?? 2)
        guard ["quick_gelu", "gelu"].contains(hiddenAct) else {
            throw DiffusionError.badCheckpoint(path: url.path, reason: "hidden_act \(hiddenAct) is not supported (quick_gelu or gelu)")
        }
        guard hiddenSize % heads == 0 else {
            throw DiffusionError.badCheckpoint(path: url.path, reason: "hidden_size \(hiddenSize) is not divisible by \(heads) heads")
        }
    }
}

/// CLIP's text transformer (transformers' `CLIPTextModel`, parameter names without or with the
/// transformers-4 `text_model.` prefix): token + position embeddings, pre-norm layers with causal
/// self-attention and a quick-GELU or GELU MLP, final LayerNorm.
///
/// Reference: Radford et al. 2021 (CLIP, section 2.4: the text encoder is a masked
/// self-attention Transformer whose activations are layer-normalized).
public final class CLIPTextModel: Module {
    /// Hyperparameters.
    public let config: CLIPTextConfiguration
    let tokenEmbedding: EmbeddingTable
    let positionEmbedding: EmbeddingTable
    let layers: [CLIPEncoderLayer]
    /// The LayerNorm after the last layer.
    public let finalLayerNorm: LayerNorm

    /// A text model with zero weights (load real ones with `load(_:)`), in eval mode.
    public init(config: CLIPTextConfiguration) {
        self.config = config
        tokenEmbedding = EmbeddingTable(config.vocabSize, config.hiddenSize)
        positionEmbedding = EmbeddingTable(config.maxPositions, config.hiddenSize)
        layers = (0..<config.layers).map { _ in CLIPEncoderLayer(config) }
        finalLayerNorm = LayerNorm(config.hiddenSize, eps: config.layerNormEps)
        super.init()
        for p in parameters() { p.isTrainable = false }
        eval()
    }

    override public var children: [(String, Module)] {
        [("embeddings", NamedList([("token_embedding", tokenEmbedding), ("position_embedding", positionEmbedding)])),
         ("encoder", NamedList(layers.enumerated().map { ("layers.\($0.offset)", $0.element) })),
         ("final_layer_norm", finalLayerNorm)]
    }

    /// Loads a safetensors state dict (`text_model.` prefix optional, `position_ids` ignored);
    /// errors name the file and every missing, unexpected or mis-shaped tensor.
    public func load(_ url: URL) throws {
        let dict = try readTensors(url) { name in
            let key = name.hasPrefix("text_model.") ? String(name.dropFirst("text_model.".count)) : name
            return key == "embeddings.position_ids" ? nil : key
        }
        try loadChecked(self, dict, path: url.path)
    }

    /// Hidden states [B, L, D] of `ids` (B rows of equal length L <= maxPositions), passed through
    /// the final LayerNorm after the last layer (`skip` 0, transformers' `last_hidden_state`) or
    /// after layer count - skip (diffusers' `clip_skip`: `final_layer_norm(hidden_states[-(skip + 1)])`).
    public func callAsFunction(_ ids: [[Int]], skip: Int = 0) -> Tensor {
        precondition(!ids.isEmpty && Set(ids.map(\.count)).count == 1, "token rows must be non-empty and of one length")
        precondition(skip >= 0 && skip < layers.count, "skip \(skip) must be in 0..<\(layers.count)")
        let B = ids.count, L = ids[0].count, D = config.hiddenSize
        precondition(L <= config.maxPositions, "\(L) tokens exceed \(config.maxPositions) positions")
        return withNoGrad {
            let tok = tokenEmbedding.weight.value.embedding(ids.flatMap { $0 }).reshaped([B, L, D])
            let pos = positionEmbedding.weight.value.narrow(0, start: 0, length: L).reshaped([1, L, D])
            var x = tok + pos
            let mask = Tensor(shape: [1, 1, L, L], data: (0..<(L * L)).map { $0 % L <= $0 / L ? 0 : -Float.infinity })
            for layer in layers.prefix(layers.count - skip) { x = layer(x, causalMask: mask) }
            return finalLayerNorm(x)
        }
    }

    /// The pooled state [B, D] of final-normed `hidden` [B, L, D]: the end token's position (the
    /// first `eosTokenID`, or the largest id when the config's eos id is the legacy 2), as transformers.
    public func pooled(_ hidden: Tensor, ids: [[Int]]) -> Tensor {
        let rows = ids.enumerated().map { b, row -> Tensor in
            let j: Int
            if config.eosTokenID == 2 {
                j = row.indices.max { row[$0] < row[$1] || (row[$0] == row[$1] && $0 > $1) } ?? 0
            } else {
                j = row.firstIndex(of: config.eosTokenID) ?? 0
            }
            return hidden.select(0, b).select(0, j)
        }
        return Tensor.stack(rows, axis: 0)
    }
}

/// One pre-norm CLIP layer: x + attn(LN1 x) (causal), then x + fc2(act(fc1(LN2 x))).
final class CLIPEncoderLayer: Module {
    let q: Linear, k: Linear, v: Linear, out: Linear
    let norm1: LayerNorm, norm2: LayerNorm
    let fc1: Linear, fc2: Linear
    let heads: Int
    let quickGELU: Bool

    init(_ c: CLIPTextConfiguration) {
        let D = c.hiddenSize
        q = zeroLinear(D, D); k = zeroLinear(D, D); v = zeroLinear(D, D); out = zeroLinear(D, D)
        norm1 = LayerNorm(D, eps: c.layerNormEps)
        norm2 = LayerNorm(D, eps: c.layerNormEps)
        fc1 = zeroLinear(D, c.intermediateSize)
        fc2 = zeroLinear(c.intermediateSize, D)
        heads = c.heads
        quickGELU = c.hiddenAct == "quick_gelu"
        super.init()
    }

    override var children: [(String, Module)] {
        [("self_attn", NamedList([("q_proj", q), ("k_proj", k), ("v_proj", v), ("out_proj", out)])),
         ("layer_norm1", norm1), ("mlp", NamedList([("fc1", fc1), ("fc2", fc2)])), ("layer_norm2", norm2)]
    }

    func callAsFunction(_ x: Tensor, causalMask: Tensor) -> Tensor {
        let B = x.shape[0], L = x.shape[1], D = x.shape[2], d = D / heads
        let h = norm1(x)
        func split(_ t: Tensor) -> Tensor { t.reshaped([B, L, heads, d]).permuted([0, 2, 1, 3]) }
        let o = Tensor.scaledDotProductAttention(query: split(q(h)), key: split(k(h)), value: split(v(h)), mask: causalMask)
        let (y, normed) = norm2(x, adding: out(o.permuted([0, 2, 1, 3]).reshaped([B, L, D])))
        let inner = fc1(normed)
        let act = quickGELU ? inner * (1.702 * inner).sigmoid() : inner.gelu()
        return y + fc2(act)
    }
}

/// A linear layer with zero weights (its values are loaded).
func zeroLinear(_ inF: Int, _ outF: Int, bias: Bool = true) -> Linear {
    var g = RandomGenerator(seed: 0)
    return Linear(inF, outF, bias: bias, weightInit: .zeros, biasInit: .zeros, generator: &g)
}

/// A Stable Diffusion text encoder: CLIP tokenizer + CLIP text model, giving the 77 token states
/// (no mask: Stable Diffusion attends to the padding positions too) and the pooled end-token state.
public final class CLIPTextEncoder: TextEncoder {
    /// Identifier recorded in manifests.
    public let name: String
    /// The tokenizer (pad token from its folder).
    public let tokenizer: CLIPTokenizer
    /// The text transformer.
    public let model: CLIPTextModel
    /// Layers skipped from the end (diffusers' `clip_skip`; 0 for Stable Diffusion's default).
    public let skip: Int
    /// Width of the token states.
    public var width: Int { model.config.hiddenSize }

    /// Wraps a tokenizer and a loaded model.
    public init(name: String, tokenizer: CLIPTokenizer, model: CLIPTextModel, skip: Int = 0) {
        self.name = name
        self.tokenizer = tokenizer
        self.model = model
        self.skip = skip
    }

    /// Token states [B, 77, D] and pooled [B, D]; "" is the unconditional prompt.
    public func encode(_ texts: [String]) throws -> Conditioning {
        guard !texts.isEmpty else { return Conditioning(tokens: Tensor(shape: [0, tokenizer.maxLength, width], data: [])) }
        let ids = texts.map { tokenizer.encodePadded($0) }
        if let bad = ids.joined().first(where: { $0 < 0 || $0 >= model.config.vocabSize }) {
            throw TextEncoderError.invalidVocabulary("token id \(bad) is outside the text model's \(model.config.vocabSize)-token vocabulary")
        }
        let hidden = model(ids, skip: skip)
        let last = skip == 0 ? hidden : model(ids)
        return Conditioning(tokens: hidden, pooled: model.pooled(last, ids: ids))
    }
}
