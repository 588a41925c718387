import SynTensor

/// Patch embedding: a p x p convolution with stride p (timm `patch_embed.proj`).
public final class PatchEmbed: Module {
    /// The projection.
    public let proj: Conv2d

    /// Embeds `channels`-channel images into `width`-wide patch tokens.
    public init(channels: Int, width: Int, patchSize: Int, initialization: ViTInitialization = .timm,
                generator: inout RandomGenerator) {
        proj = Conv2d(channels, width, kernelSize: patchSize, stride: patchSize, generator: &generator)
        if initialization == .mocoV3 {
            // Xavier-uniform of the weight seen as a [width, channels * p * p] matrix, zero bias.
            let bound = (6 / Float(channels * patchSize * patchSize + width)).squareRoot()
            proj.weight.value = .uniform(proj.weight.shape, low: -bound, high: bound, generator: &generator)
            if let b = proj.bias { b.value = .zeros(b.shape) }
        }
        super.init()
    }

    override public var children: [(String, Module)] { [("proj", proj)] }

    /// x [B, C, H, W] -> tokens [B, (H/p)(W/p), D].
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let y = proj(x)
        return y.flattened(from: 2).transposed(1, 2)
    }
}

/// Multi-head self-attention with one packed qkv projection (timm `Attention`: `qkv`, `proj`).
public final class ViTAttention: Module {
    /// Packed q, k, v projection D -> 3D.
    public let qkv: Linear
    /// Output projection.
    public let proj: Linear
    /// Head count.
    public let heads: Int

    /// Attention of width `dim` over `heads` heads.
    public init(dim: Int, heads: Int, qkvBias: Bool, initialization: ViTInitialization = .timm, generator: inout RandomGenerator) {
        switch initialization {
        case .timm:
            qkv = Linear(dim, 3 * dim, bias: qkvBias, weightInit: .vit, generator: &generator)
            proj = Linear(dim, dim, weightInit: .vit, generator: &generator)
        case .mocoV3:
            // Xavier bound of one D x D matrix, not of the packed 3D x D one.
            let bound = (6 / Float(dim + dim)).squareRoot()
            qkv = Linear(dim, 3 * dim, bias: qkvBias, weightInit: .uniform(low: -bound, high: bound), generator: &generator)
            proj = Linear(dim, dim, weightInit: .xavierUniform(gain: 1), generator: &generator)
        }
        self.heads = heads
        super.init()
    }

    override public var children: [(String, Module)] { [("qkv", qkv), ("proj", proj)] }

    /// x [B, N, D] -> [B, N, D].
    public func callAsFunction(_ x: Tensor) -> Tensor {
        proj(qkv(x).packedSelfAttention(heads: heads))
    }
}

/// Pre-norm transformer block: x + attn(norm1(x)), then x + mlp(norm2(x)), with drop path.
public final class ViTBlock: Module {
    /// Norm before attention.
    public let norm1: LayerNorm
    /// Attention.
    public let attn: ViTAttention
    /// Norm before the MLP.
    public let norm2: LayerNorm
    /// MLP (fc1, GELU, fc2).
    public let mlp: MLP
    /// Stochastic depth probability of each residual branch.
    public let dropPath: Float

    /// One block of width `dim`.
    public init(dim: Int, heads: Int, mlpRatio: Int, qkvBias: Bool, eps: Float, dropPath: Float,
                initialization: ViTInitialization = .timm, generator: inout RandomGenerator) {
        norm1 = LayerNorm(dim, eps: eps)
        attn = ViTAttention(dim: dim, heads: heads, qkvBias: qkvBias, initialization: initialization, generator: &generator)
        norm2 = LayerNorm(dim, eps: eps)
        mlp = MLP(dim, hidden: dim * mlpRatio, activation: .gelu,
                  weightInit: initialization == .timm ? .vit : .xavierUniform(gain: 1), generator: &generator)
        self.dropPath = dropPath
        super.init()
    }

    override public var children: [(String, Module)] { [("norm1", norm1), ("attn", attn), ("norm2", norm2), ("mlp", mlp)] }

    /// x [B, N, D] -> [B, N, D].
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let (h, normed) = norm2(x, adding: applyDropPath(attn(norm1(x))))
        return h + applyDropPath(mlp(normed))
    }

    /// Zeroes whole samples of a residual branch with probability `dropPath` (training only),
    /// scaling survivors by 1 / (1 - p) (timm `DropPath`).
    func applyDropPath(_ branch: Tensor) -> Tensor {
        guard isTraining, dropPath > 0 else { return branch }
        let B = branch.shape[0]
        var keep = [Float](repeating: 0, count: B)
        for i in 0..<B { keep[i] = randomGenerator.uniform() < dropPath ? 0 : 1 / (1 - dropPath) }
        return branch * Tensor(shape: [B] + Array(repeating: 1, count: branch.rank - 1), data: keep)
    }
}

/// Vision Transformer with timm/MAE parameter names and a learned mask token for masked inputs.
public final class VisionTransformer: Module {
    /// Configuration it was built from.
    public let config: ViTConfig
    /// Patch embedding.
    public let patchEmbed: PatchEmbed
    /// Class token [1, 1, D].
    public let clsToken: Parameter
    /// Position embedding [1, 1 + grid^2, D] (CLS first).
    public let posEmbed: Parameter
    /// Token substituted at masked patches (iBOT) [1, 1, D].
    public let maskToken: Parameter
    /// Transformer blocks.
    public let blocks: [ViTBlock]
    /// Final norm.
    public let norm: LayerNorm

    /// A ViT initialized as timm does (trunc-normal 0.02 weights, zero biases, cls/pos std 0.02... ).
    public init(_ config: ViTConfig, generator: inout RandomGenerator) {
        self.config = config
        let D = config.width
        let initialization = config.initialization ?? .timm
        patchEmbed = PatchEmbed(channels: config.channels, width: D, patchSize: config.patchSize, initialization: initialization,
                                generator: &generator)
        clsToken = Parameter(Initializer.truncatedNormal(mean: 0, std: 1e-6, a: -2, b: 2).make([1, 1, D], generator: &generator))
        let tokens = 1 + config.gridSize * config.gridSize
        posEmbed = Parameter(Initializer.vit.make([1, tokens, D], generator: &generator))
        maskToken = Parameter(.zeros([1, 1, D]))
        var blocks: [ViTBlock] = []
        for i in 0..<config.depth {
            let dp = config.depth > 1 ? config.dropPath * Float(i) / Float(config.depth - 1) : config.dropPath
            blocks.append(ViTBlock(dim: D, heads: config.heads, mlpRatio: config.mlpRatio, qkvBias: config.qkvBias,
                                   eps: config.layerNormEps, dropPath: dp, initialization: initialization, generator: &generator))
        }
        self.blocks = blocks
        norm = LayerNorm(D, eps: config.layerNormEps)
        super.init()
    }

    override public var ownParameters: [(String, Parameter)] {
        [("cls_token", clsToken), ("pos_embed", posEmbed), ("mask_token", maskToken)]
    }

    override public var children: [(String, Module)] {
        [("patch_embed", patchEmbed)] + blocks.enumerated().map { ("blocks.\($0.offset)", $0.element) } + [("norm", norm)]
    }

    /// Width of the representation.
    public var width: Int { config.width }

    /// Position embedding for a grid of `gh` x `gw` patches: bicubic resampling of the patch part
    /// when the grid differs from training (e.g. 96 px local crops).
    public func positionEmbedding(gridHeight gh: Int, gridWidth gw: Int) -> Tensor {
        let g = config.gridSize
        let pe = posEmbed.value
        if gh == g && gw == g { return pe }
        let D = config.width
        let cls = pe.slice(1, 0, 1)
        let grid = pe.slice(1, 1).reshaped([1, g, g, D]).permuted([0, 3, 1, 2])
        let resized = grid.resized(height: gh, width: gw, mode: .bicubic).permuted([0, 2, 3, 1]).reshaped([1, gh * gw, D])
        return Tensor.concatenate([cls, resized], axis: 1)
    }

    /// All tokens after the final norm: x [B, C, H, W] -> [B, 1 + N, D].
    /// `mask` [B, N] (1 = masked) replaces those patch tokens with the mask token before adding positions.
    public func forwardTokens(_ x: Tensor, mask: Tensor? = nil) -> Tensor {
        precondition(x.rank == 4 && x.shape[1] == config.channels, "ViT expects [B, \(config.channels), H, W], got \(x.shape)")
        let B = x.shape[0]
        let gh = x.shape[2] / config.patchSize, gw = x.shape[3] / config.patchSize
        var t = patchEmbed(x)
        if let mask {
            precondition(mask.shape == [B, gh * gw], "mask shape \(mask.shape) != [\(B), \(gh * gw)]")
            let m = mask.unsqueezed(-1)
            t = t * (1 - m) + maskToken.value * m
        }
        let cls = clsToken.value.expanded([B, 1, config.width])
        t = Tensor.concatenate([cls, t], axis: 1) + positionEmbedding(gridHeight: gh, gridWidth: gw)
        for blk in blocks { t = blk(t) }
        return norm(t)
    }

    /// The representation: final-norm CLS token [B, D].
    public func callAsFunction(_ x: Tensor) -> Tensor {
        forwardTokens(x).select(1, 0)
    }
}
