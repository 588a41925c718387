import SynTensor

/// Hyper-parameters of a llama-architecture model, read from GGUF metadata (`{arch}.*` keys).
public struct LlamaConfig: Sendable, Hashable {
    /// Tokens in the vocabulary (rows of the embedding).
    public var vocabSize: Int
    /// Model width.
    public var dim: Int
    /// Transformer blocks.
    public var layers: Int
    /// Query heads.
    public var heads: Int
    /// Key/value heads (grouped-query attention when fewer than `heads`).
    public var kvHeads: Int
    /// Width of one head.
    public var headDim: Int
    /// Hidden width of the SwiGLU MLP.
    public var ffnDim: Int
    /// Longest context the model was trained for.
    public var contextLength: Int
    /// Rotary base frequency.
    public var ropeTheta: Float
    /// Dimensions of each head that are rotated (from the front; pairs of neighbours).
    public var ropeDim: Int
    /// Linear position scaling (positions are divided by it; 1 = none).
    public var ropeScale: Float
    /// RMSNorm epsilon.
    public var rmsEps: Float

    /// Width of the keys and values of all KV heads.
    public var kvDim: Int { kvHeads * headDim }

    /// The configuration in `file`; throws when the architecture is not llama-like or a key is missing.
    public static func from(_ file: GGUFFile) throws -> LlamaConfig {
        let path = file.path
        guard let arch = file["general.architecture"]?.string else {
            throw LlamaError.invalidModel(path: path, reason: "general.architecture is missing")
        }
        guard ["llama", "mistral"].contains(arch) else {
            throw LlamaError.unsupportedModel(path: path, reason: "architecture \"\(arch)\" (this runtime runs llama models)")
        }
        func int(_ key: String) throws -> Int {
            guard let v = file["\(arch).\(key)"]?.int, v > 0 else {
                throw LlamaError.invalidModel(path: path, reason: "\(arch).\(key) is missing or not a positive integer")
            }
            return v
        }
        let dim = try int("embedding_length")
        let heads = try int("attention.head_count")
        let kvHeads = file["\(arch).attention.head_count_kv"]?.int ?? heads
        if kvHeads <= 0 || heads % kvHeads != 0 {
            throw LlamaError.invalidModel(path: path, reason: "\(heads) heads cannot be grouped over \(kvHeads) KV heads")
        }
        let headDim = file["\(arch).attention.key_length"]?.int ?? dim / heads
        if headDim * heads != dim || headDim % 2 != 0 {
            throw LlamaError.unsupportedModel(path: path, reason: "head width \(headDim) x \(heads) heads does not match width \(dim)")
        }
        var vocab = file["\(arch).vocab_size"]?.int ?? 0
        if vocab == 0, let info = file.info("token_embd.weight"), info.dims.count == 2 { vocab = info.dims[1] }
        var scale: Float = 1
        if let type = file["\(arch).rope.scaling.type"]?.string, type != "none" {
            guard type == "linear", let f = file["\(arch).rope.scaling.factor"]?.float, f > 0 else {
                throw LlamaError.unsupportedModel(path: path, reason: "rope scaling \"\(type)\"")
            }
            scale = f
        }
        if file.contains("rope_freqs.weight") {
            throw LlamaError.unsupportedModel(path: path, reason: "per-frequency rope factors (rope_freqs.weight)")
        }
        let ropeDim = file["\(arch).rope.dimension_count"]?.int ?? headDim
        if ropeDim > headDim || ropeDim % 2 != 0 {
            throw LlamaError.invalidModel(path: path, reason: "rope dimension \(ropeDim) for heads of \(headDim)")
        }
        return LlamaConfig(
            vocabSize: vocab, dim: dim, layers: try int("block_count"), heads: heads, kvHeads: kvHeads, headDim: headDim,
            ffnDim: try int("feed_forward_length"), contextLength: file["\(arch).context_length"]?.int ?? 2048,
            ropeTheta: file["\(arch).rope.freq_base"]?.float ?? 10_000, ropeDim: ropeDim, ropeScale: scale,
            rmsEps: file["\(arch).attention.layer_norm_rms_epsilon"]?.float ?? 1e-5)
    }
}
