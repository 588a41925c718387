import SynTensor

/// What a denoiser is conditioned on, batch-first: text-encoder token states, their mask and a
/// pooled vector (any may be absent). Guidance concatenates two of these along the batch.
public struct Conditioning: Sendable {
    /// Token embeddings [B, L, D] (cross-attention context).
    public var tokens: Tensor?
    /// Attention mask [B, L]: 1 for real tokens, 0 for padding.
    public var mask: Tensor?
    /// Pooled embedding [B, D] (or any per-item vector, e.g. a class embedding).
    public var pooled: Tensor?

    /// A conditioning from any of its parts.
    public init(tokens: Tensor? = nil, mask: Tensor? = nil, pooled: Tensor? = nil) {
        self.tokens = tokens
        self.mask = mask
        self.pooled = pooled
    }

    /// Batch size B shared by the present parts (nil when all are absent).
    public var batchSize: Int? {
        let sizes = [tokens, mask, pooled].compactMap { $0?.shape.first }
        precondition(Set(sizes).count <= 1, "conditioning parts disagree on batch size: \(sizes)")
        return sizes.first
    }

    /// `parts` stacked along the batch, in order; each part must be present in all or in none.
    public static func concatenated(_ parts: [Conditioning]) -> Conditioning {
        func join(_ field: KeyPath<Conditioning, Tensor?>, _ name: String) -> Tensor? {
            let present = parts.compactMap { $0[keyPath: field] }
            if present.isEmpty { return nil }
            precondition(present.count == parts.count, "conditioning '\(name)' is present in only some of the parts")
            return Tensor.concatenate(present, axis: 0)
        }
        return Conditioning(tokens: join(\.tokens, "tokens"), mask: join(\.mask, "mask"), pooled: join(\.pooled, "pooled"))
    }
}

/// A denoiser: given noisy samples x_t [B, C, H, W], timesteps [B] and a conditioning of batch B,
/// returns eps or v (as its scheduler's `predictionType` expects), shaped like x_t.
/// A Stable Diffusion UNet, this package's small UNet or a test stand-in can all conform.
public protocol NoisePredictor {
    /// The prediction for `sample` at `timesteps` under `conditioning`.
    func predict(_ sample: Tensor, timesteps: Tensor, conditioning: Conditioning) -> Tensor
}
