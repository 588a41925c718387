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
        for layer in layers { layer.prepare() }
    }

    /// Last hidden states [B, L, D] of a padded batch; padding positions are zero.
    ///
    /// Runs unpadded: the real tokens of all sequences are packed into [T, D] rows for the
    /// projections, and each sequence attends over its own tokens only, which equals HF's masked
    /// attention on every real position without spending work on padding.
    public func callAsFunction(_ batch: TokenBatch) -> Tensor {
        let (states, offsets) = packedStates(batch)
        let B = batch.batch, L = batch.length, D = config.hiddenSize
        var out = Tensor.zeros([B, L, D])
        states.withUnsafeBufferPointer { sp in
            out.withUnsafeMutableBufferPointer { op in
                for b in 0..<B {
                    let n = offsets[b + 1] - offsets[b]
                    (op.baseAddress! + b * L * D).update(from: sp.baseAddress! + offsets[b] * D, count: n * D)
                }
            }
        }
        return out
    }

    /// Hidden states of the real tokens only, packed [T, D] in sequence order, with each
    /// sequence's row range `offsets[b]..<offsets[b + 1]` (real tokens must precede padding).
    public func packedStates(_ batch: TokenBatch) -> (states: Tensor, offsets: [Int]) {
        let B = batch.batch, L = batch.length
        var offsets = [0], ids: [Int] = [], positions: [Int] = []
        for b in 0..<B {
            let n = batch.lengths[b]
            precondition(n <= config.maxPositions, "sequence length \(n) exceeds \(config.maxPositions) positions")
            ids += batch.ids[(b * L)..<(b * L + n)]
            positions += 0..<n
            offsets.append(offsets[b] + n)
        }
        var x = embeddings(ids, positions: positions)
        for layer in layers { x = layer(x, offsets: offsets) }
        return (x, offsets)
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

    /// LayerNorm(word[id] + position[pos] + tokenType[0]) for each token: [T, D].
    func callAsFunction(_ ids: [Int], positions: [Int]) -> Tensor {
        let w = word.weight.value.embedding(ids)
        let p = position.weight.value.embedding(positions)
        let t = tokenType.weight.value.select(0, 0)
        return norm(w + p + t)
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

    /// The q/k/v projections fused into one [3D, D] weight and [3D] bias, with the tensors they
    /// were built from (a load gives parameters fresh storage, which makes the cache stale).
    private var fused: (sources: [TensorStorage], weight: Tensor, bias: Tensor)?

    private var qkvSources: [TensorStorage] {
        [query, key, value].flatMap { [$0.weight.value.storage, $0.bias!.value.storage] }
    }

    /// Rebuilds the fused q/k/v projection (`BertModel.load` calls it).
    func prepare() {
        let parts = [query, key, value]
        fused = (qkvSources, Tensor.concatenate(parts.map(\.weight.value), axis: 0),
                 Tensor.concatenate(parts.map { $0.bias!.value }, axis: 0))
    }

    /// The fused projection: the cache when current, else built for this call only (the
    /// forward pass never mutates the module).
    private func fusedQKV() -> (Tensor, Tensor) {
        if let f = fused, zip(f.sources, qkvSources).allSatisfy({ $0 === $1 }) { return (f.weight, f.bias) }
        let parts = [query, key, value]
        return (Tensor.concatenate(parts.map(\.weight.value), axis: 0), Tensor.concatenate(parts.map { $0.bias!.value }, axis: 0))
    }

    /// x [T, D] packed tokens of the sequences delimited by `offsets` -> [T, D].
    func callAsFunction(_ x: Tensor, offsets: [Int]) -> Tensor {
        let (w, b) = fusedQKV()
        let qkv = x.linear(weight: w, bias: b)
        let h = attnNorm(x, adding: attnOut(packedAttention(qkv, offsets: offsets, heads: heads))).normalized
        let inner = up(h)
        let activated: Tensor
        switch act {
        case "gelu_new", "gelu_pytorch_tanh": activated = inner.gelu(approximateTanh: true)
        case "relu": activated = inner.relu()
        default: activated = inner.gelu()
        }
        return outNorm(h, adding: down(activated)).normalized
    }
}

/// Multi-head softmax(q k^T / sqrt(d)) v within each sequence of packed qkv rows [T, 3D]
/// (q, k, v blocks of `heads` heads each, as the fused projection lays them out) -> [T, D].
/// One job per (sequence, head); q.k dot products in 8-wide SIMD, the weighted sum of v rows as
/// contiguous multiply-adds. Inference only (no autodiff record).
func packedAttention(_ qkv: Tensor, offsets: [Int], heads H: Int) -> Tensor {
    let T = qkv.shape[0], D3 = qkv.shape[1], D = D3 / 3, d = D / H
    precondition(D3 == 3 * D && D == H * d && offsets.last == T, "packedAttention: bad qkv \(qkv.shape) for \(H) heads")
    let B = offsets.count - 1
    let scale = 1 / Float(d).squareRoot()
    let maxLen = (0..<B).map { offsets[$0 + 1] - offsets[$0] }.max() ?? 0
    var out = Tensor.zeros([T, D])
    qkv.withUnsafeBufferPointer { sp in
        out.withUnsafeMutableBufferPointer { op in
            let S = sp.baseAddress!, O = op.baseAddress!
            Threading.concurrentPerform(B * H) { job in
                let b = job / H, h = job % H
                let start = offsets[b], n = offsets[b + 1] - start
                withUnsafeTemporaryAllocation(of: Float.self, capacity: Swift.max(maxLen, 1)) { tmp in
                    let p = tmp.baseAddress!
                    for i in 0..<n {
                        let q = S + (start + i) * D3 + h * d
                        var m = -Float.infinity
                        for j in 0..<n {
                            let s = dot(q, S + (start + j) * D3 + D + h * d, d) * scale
                            p[j] = s
                            m = Swift.max(m, s)
                        }
                        var sum: Float = 0
                        for j in 0..<n {
                            let e = Foundation.exp(p[j] - m)
                            p[j] = e
                            sum += e
                        }
                        let inv = 1 / sum
                        let o = O + (start + i) * D + h * d
                        for j in 0..<n {
                            let wj = p[j] * inv, v = S + (start + j) * D3 + 2 * D + h * d
                            for c in 0..<d { o[c] += wj * v[c] }
                        }
                    }
                }
            }
        }
    }
    return out
}

/// Dot product of two length-`n` float vectors, 8 lanes at a time.
@inline(__always)
private func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = SIMD8<Float>()
    var c = 0
    while c + 8 <= n {
        let x = UnsafeRawPointer(a + c).loadUnaligned(as: SIMD8<Float>.self)
        let y = UnsafeRawPointer(b + c).loadUnaligned(as: SIMD8<Float>.self)
        acc += x * y
        c += 8
    }
    var s = acc.sum()
    while c < n {
        s += a[c] * b[c]
        c += 1
    }
    return s
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
