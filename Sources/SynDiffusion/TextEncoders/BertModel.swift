import Foundation
import SynTensor

/// BERT's hyperparameters as `transformers`' `BertConfig` (config.json keys).
///
/// Reference: BERT (Devlin et al., 2019); HF `BertConfig`. Only absolute position embeddings and
/// the erf GELU ("gelu") are supported, which is what MiniLM / BERT checkpoints use.
public struct BertConfiguration: Sendable, Equatable, Codable {
    /// Vocabulary size.
    public var vocabSize: Int
    /// Model width D.
    public var hiddenSize: Int
    /// Number of transformer layers.
    public var layers: Int
    /// Attention heads per layer.
    public var heads: Int
    /// Feed-forward width.
    public var intermediateSize: Int
    /// Number of learned positions (the longest usable sequence).
    public var maxPositions: Int
    /// Number of token types (segment ids).
    public var typeVocabSize: Int
    /// LayerNorm epsilon.
    public var layerNormEps: Float
    /// Feed-forward activation ("gelu" = erf GELU, "gelu_new"/"gelu_pytorch_tanh" = tanh approximation, "relu").
    public var hiddenAct: String

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", layers = "num_hidden_layers"
        case heads = "num_attention_heads", intermediateSize = "intermediate_size"
        case maxPositions = "max_position_embeddings", typeVocabSize = "type_vocab_size"
        case layerNormEps = "layer_norm_eps", hiddenAct = "hidden_act"
    }

    /// A configuration; the defaults are all-MiniLM-L6-v2's.
    public init(vocabSize: Int = 30522, hiddenSize: Int = 384, layers: Int = 6, heads: Int = 12,
                intermediateSize: Int = 1536, maxPositions: Int = 512, typeVocabSize: Int = 2,
                layerNormEps: Float = 1e-12, hiddenAct: String = "gelu") {
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.layers = layers
        self.heads = heads
        self.intermediateSize = intermediateSize
        self.maxPositions = maxPositions
        self.typeVocabSize = typeVocabSize
        self.layerNormEps = layerNormEps
        self.hiddenAct = hiddenAct
    }

    /// Reads a `config.json`, checking what this implementation supports.
    public init(contentsOf url: URL) throws {
        guard FileManager.default.fileExists(atPath: url.path) else { throw TextEncoderError.missingFile(url.path) }
        let c = try JSONDecoder().decode(BertConfiguration.self, from: Data(contentsOf: url))
        if let raw = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any],
           let kind = raw["position_embedding_type"] as? String, kind != "absolute" {
            throw TextEncoderError.invalidConfiguration("\(url.path): position_embedding_type \(kind) is not supported")
        }
        guard c.hiddenSize % c.heads == 0 else {
            throw TextEncoderError.invalidConfiguration("\(url.path): hidden_size \(c.hiddenSize) not divisible by \(c.heads) heads")
        }
        guard ["gelu", "gelu_new", "gelu_pytorch_tanh", "relu"].contains(c.hiddenAct) else {
            throw TextEncoderError.invalidConfiguration("\(url.path): hidden_act \(c.hiddenAct) is not supported")
        }
        self = c
    }
}

/// BERT's encoder: embeddings (word + position + token type, LayerNorm) and post-norm transformer
/// layers, with `transformers`' `BertModel` parameter names (`embeddings.word_embeddings.weight`,
/// `encoder.layer.0.attention.self.query.weight`, ..., `pooler.dense.weight`).
///
/// Reference: BERT (Devlin et al., 2019); HF `BertModel` (eval mode, token type 0, absolute positions).
public final class BertModel: Module {
    /// Hyperparameters.
    public let config: BertConfiguration
    let embeddings: BertEmbeddings
    let layers: [BertLayer]
    let pooler: BertPooler
    private let encoder: Module

    /// A BERT with zero weights (load real ones with `loadSafetensors`), in eval mode.
    public init(config: BertConfiguration) {
        self.config = config
        embeddings = BertEmbeddings(config)
        layers = (0..<config.layers).map { _ in BertLayer(config) }
        pooler = BertPooler(config.hiddenSize)
        encoder = NamedList(layers.enumerated().map { ("layer.\($0.offset)", $0.element) })
        super.init()
        for p in parameters() { p.isTrainable = false }
        eval()
    }

    override public var children: [(String, Module)] {
        [("embeddings", embeddings), ("encoder", encoder), ("pooler", pooler)]
    }

    /// Loads `model.safetensors` (keys with or without a `bert.` prefix; strict).
    public func load(_ url: URL) throws {
        guard FileManager.default.fileExists(atPath: url.path) else { throw TextEncoderError.missingFile(url.path) }
        let names = try SafetensorsFile(url: url).names
        let prefix = names.contains("bert.embeddings.word_embeddings.weight") ? "bert." : ""
        try loadSafetensors(url, strict: true, prefix: prefix)
    }

    /// Last hidden states [B, L, D] of a padded batch (ids and 0/1 mask row-major [B, L]).
    public func callAsFunction(_ batch: TokenBatch) -> Tensor {
        let B = batch.batch, L = batch.length
        precondition(L <= config.maxPositions, "sequence length \(L) exceeds \(config.maxPositions) positions")
        var x = embeddings(batch.ids, batch: B, length: L)
        // Additive key mask [B, 1, 1, L]: 0 for real tokens, -inf for padding.
        let keep = Tensor(shape: [B, 1, 1, L], data: batch.mask)
        let mask: Tensor? = batch.mask.contains(0) ? Tensor.attentionMask(keep: keep) : nil
        for layer in layers { x = layer(x, mask: mask) }
        return x
    }
}

/// A module whose children are given by name (so `encoder.layer.0...` keys resolve).
final class NamedList: Module {
    let items: [(String, Module)]
    init(_ items: [(String, Module)]) {
        self.items = items
        super.init()
    }
    override var children: [(String, Module)] { items }
}

/// Word + position + token-type embeddings then LayerNorm (dropout is inert in eval).
final class BertEmbeddings: Module {
    let word: EmbeddingTable, position: EmbeddingTable, tokenType: EmbeddingTable
    let norm: LayerNorm
    /// `position_ids` buffer [1, maxPositions] kept so strict loading accepts the checkpoint.
    let positionIDs: Parameter

    init(_ c: BertConfiguration) {
        word = EmbeddingTable(c.vocabSize, c.hiddenSize)
        position = EmbeddingTable(c.maxPositions, c.hiddenSize)
        tokenType = EmbeddingTable(c.typeVocabSize, c.hiddenSize)
        norm = LayerNorm(c.hiddenSize, eps: c.layerNormEps)
        positionIDs = Parameter(Tensor(shape: [1, c.maxPositions], data: (0..<c.maxPositions).map(Float.init)), trainable: false)
        super.init()
    }

    override var children: [(String, Module)] {
        [("word_embeddings", word), ("position_embeddings", position), ("token_type_embeddings", tokenType), ("LayerNorm", norm)]
    }
    override var ownBuffers: [(String, Parameter)] { [("position_ids", positionIDs)] }

    func callAsFunction(_ ids: [Int], batch B: Int, length L: Int) -> Tensor {
        let D = word.weight.shape[1]
        let w = word.weight.value.embedding(ids).reshaped([B, L, D])
        let p = position.weight.value.narrow(0, start: 0, length: L)
        let t = tokenType.weight.value.select(0, 0)
        return norm(w + (p + t))
    }
}

/// An embedding table [count, dim] with PyTorch `nn.Embedding`'s parameter name, zero-initialized
/// (the real values come from a checkpoint, so no random init is spent on 30k x 384 rows).
final class EmbeddingTable: Module {
    let weight: Parameter
    init(_ count: Int, _ dim: Int) {
        weight = Parameter(.zeros([count, dim]))
        super.init()
    }
    override var ownParameters: [(String, Parameter)] { [("weight", weight)] }
}

/// A linear layer with zero init (its weights are loaded).
private func zeroLinear(_ inF: Int, _ outF: Int) -> Linear {
    var g = RandomGenerator(seed: 0)
    return Linear(inF, outF, weightInit: .zeros, biasInit: .zeros, generator: &g)
}

/// Post-norm transformer layer: x = LN(x + Attn(x)); x = LN(x + W2 act(W1 x)).
final class BertLayer: Module {
    let query: Linear, key: Linear, value: Linear, attnOut: Linear, attnNorm: LayerNorm
    let up: Linear, down: Linear, outNorm: LayerNorm
    let heads: Int
    let act: String
    private let tree: Module

    init(_ c: BertConfiguration) {
        let D = c.hiddenSize
        query = zeroLinear(D, D); key = zeroLinear(D, D); value = zeroLinear(D, D)
        attnOut = zeroLinear(D, D); attnNorm = LayerNorm(D, eps: c.layerNormEps)
        up = zeroLinear(D, c.intermediateSize); down = zeroLinear(c.intermediateSize, D)
        outNorm = LayerNorm(D, eps: c.layerNormEps)
        heads = c.heads
        act = c.hiddenAct
        tree = NamedList([
            ("attention", NamedList([
                ("self", NamedList([("query", query), ("key", key), ("value", value)])),
                ("output", NamedList([("dense", attnOut), ("LayerNorm", attnNorm)])),
            ])),
            ("intermediate", NamedList([("dense", up)])),
            ("output", NamedList([("dense", down), ("LayerNorm", outNorm)])),
        ])
        super.init()
    }

    override var children: [(String, Module)] { tree.children }

    func callAsFunction(_ x: Tensor, mask: Tensor?) -> Tensor {
        let B = x.shape[0], L = x.shape[1], D = x.shape[2], d = D / heads
        func split(_ t: Tensor) -> Tensor { t.reshaped([B, L, heads, d]).permuted([0, 2, 1, 3]) }
        let a = Tensor.scaledDotProductAttention(query: split(query(x)), key: split(key(x)), value: split(value(x)), mask: mask)
        let merged = a.permuted([0, 2, 1, 3]).contiguous().reshaped([B, L, D])
        let h = attnNorm(x + attnOut(merged))
        let inner = up(h)
        let activated: Tensor
        switch act {
        case "gelu_new", "gelu_pytorch_tanh": activated = inner.gelu(approximateTanh: true)
        case "relu": activated = inner.relu()
        default: activated = inner.gelu()
        }
        return outNorm(h + down(activated))
    }
}

/// BERT's pooler (dense + tanh on [CLS]); loaded for completeness, sentence embeddings use mean pooling.
final class BertPooler: Module {
    let dense: Linear
    init(_ D: Int) {
        dense = zeroLinear(D, D)
        super.init()
    }
    override var children: [(String, Module)] { [("dense", dense)] }
}
