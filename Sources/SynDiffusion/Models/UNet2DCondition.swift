import SynTensor

/// A small text-conditioned UNet denoiser (diffusers `UNet2DConditionModel` layout and parameter
/// names) for the built-in text-to-image model: sinusoidal timestep embedding + MLP, residual blocks
/// with GroupNorm/SiLU, spatial transformers with self- and cross-attention to the caption tokens at
/// the coarse levels, skip connections, and an optional projection of the pooled caption vector
/// added to the timestep embedding (diffusers' `add_embedding`).
///
/// References: Ronneberger et al. 2015 (UNet); Ho et al. 2020 (DDPM); Dhariwal & Nichol 2021
/// ("Diffusion Models Beat GANs", ADM architecture); Rombach et al. 2022 (cross-attention conditioning).
public final class UNet2DCondition: Module, NoisePredictor {
    /// The configuration it was built from.
    public let config: UNetConfig
    /// Input convolution.
    public let convIn: Conv2d
    /// Timestep MLP.
    public let timeEmbedding: TimestepEmbedding
    /// Pooled-caption MLP (nil when disabled).
    public let addEmbedding: TimestepEmbedding?
    /// Contracting levels, finest first.
    public let downBlocks: [UNetDownBlock]
    /// Bottleneck.
    public let midBlock: UNetMidBlock
    /// Expanding levels, coarsest first.
    public let upBlocks: [UNetUpBlock]
    /// Output GroupNorm.
    public let convNormOut: GroupNorm
    /// Output convolution (zero-initialized).
    public let convOut: Conv2d

    /// A freshly initialized network (PyTorch default inits, residual branches zeroed as ADM).
    public init(_ config: UNetConfig, generator: inout RandomGenerator) {
        precondition(config.problems.isEmpty, "invalid UNet config: \(config.problems.joined(separator: "; "))")
        self.config = config
        let ch = config.blockOutChannels, n = ch.count
        convIn = Conv2d(config.channels, ch[0], kernelSize: 3, padding: 1, generator: &generator)
        timeEmbedding = TimestepEmbedding(config.timestepChannels, width: config.timeEmbedDim, generator: &generator)
        addEmbedding = config.pooledProjection
            ? TimestepEmbedding(config.crossAttentionDim, width: config.timeEmbedDim, generator: &generator) : nil
        var downs: [UNetDownBlock] = []
        for i in 0..<n {
            downs.append(UNetDownBlock(inChannels: i == 0 ? ch[0] : ch[i - 1], outChannels: ch[i], layers: config.layersPerBlock,
                                       attention: config.attentionLevels[i], downsample: i < n - 1, config: config,
                                       generator: &generator))
        }
        downBlocks = downs
        midBlock = UNetMidBlock(channels: ch[n - 1], config: config, generator: &generator)
        var ups: [UNetUpBlock] = []
        var prev = ch[n - 1]
        for i in 0..<n {
            let level = n - 1 - i
            let out = ch[level], skipIn = ch[max(level - 1, 0)]
            ups.append(UNetUpBlock(prevChannels: prev, outChannels: out, skipInChannels: skipIn, layers: config.layersPerBlock + 1,
                                   attention: config.attentionLevels[level], upsample: level > 0, config: config,
                                   generator: &generator))
            prev = out
        }
        upBlocks = ups
        convNormOut = GroupNorm(groups: config.normGroups, channels: ch[0], eps: 1e-5)
        convOut = Conv2d(ch[0], config.channels, kernelSize: 3, padding: 1, generator: &generator)
        super.init()
        zeroParameters(of: convOut)
    }

    override public var children: [(String, Module)] {
        var c: [(String, Module)] = [("conv_in", convIn), ("time_embedding", timeEmbedding)]
        if let addEmbedding { c.append(("add_embedding", addEmbedding)) }
        c += downBlocks.enumerated().map { ("down_blocks.\($0.offset)", $0.element) }
        c.append(("mid_block", midBlock))
        c += upBlocks.enumerated().map { ("up_blocks.\($0.offset)", $0.element) }
        c += [("conv_norm_out", convNormOut), ("conv_out", convOut)]
        return c
    }

    /// The prediction (eps or v, per `config.predictionType`) for x_t [B, C, H, W] at timesteps [B],
    /// attending to `conditioning.tokens` [B, L, D] under `conditioning.mask` [B, L] and adding the
    /// projected `conditioning.pooled` [B, D] to the timestep embedding.
    public func predict(_ sample: Tensor, timesteps: Tensor, conditioning: Conditioning) -> Tensor {
        guard let tokens = conditioning.tokens else {
            preconditionFailure("UNet2DCondition needs caption token states (conditioning.tokens)")
        }
        return forward(sample, timesteps: timesteps, tokens: tokens, mask: conditioning.mask, pooled: conditioning.pooled)
    }

    /// The network on explicit inputs; `pooled` is required when the config projects it.
    public func forward(_ sample: Tensor, timesteps: Tensor, tokens: Tensor, mask: Tensor?, pooled: Tensor?) -> Tensor {
        let B = sample.shape[0]
        precondition(sample.rank == 4 && sample.shape[1] == config.channels && sample.shape[2] % (1 << (downBlocks.count - 1)) == 0,
                     "UNet input must be [B, \(config.channels), H, W] with H, W divisible by \(1 << (downBlocks.count - 1)), got \(sample.shape)")
        precondition(timesteps.shape == [B], "timesteps must be [\(B)], got \(timesteps.shape)")
        precondition(tokens.rank == 3 && tokens.shape[0] == B && tokens.shape[2] == config.crossAttentionDim,
                     "caption tokens must be [\(B), L, \(config.crossAttentionDim)], got \(tokens.shape)")
        var emb = timeEmbedding(sinusoidalTimestepEmbedding(timesteps, dim: config.timestepChannels))
        if let addEmbedding {
            guard let pooled else { preconditionFailure("this UNet adds the pooled caption vector; conditioning.pooled is missing") }
            precondition(pooled.shape == [B, config.crossAttentionDim],
                         "pooled caption vector must be [\(B), \(config.crossAttentionDim)], got \(pooled.shape)")
            emb = emb + addEmbedding(pooled)
        }
        let keyMask = mask.map { Attention.keyMask($0) }
        var h = convIn(sample)
        var skips = [h]
        for block in downBlocks { h = block(h, emb: emb, context: tokens, keyMask: keyMask, skips: &skips) }
        h = midBlock(h, emb: emb, context: tokens, keyMask: keyMask)
        for block in upBlocks { h = block(h, emb: emb, context: tokens, keyMask: keyMask, skips: &skips) }
        precondition(skips.isEmpty, "UNet skip bookkeeping left \(skips.count) tensors")
        return convOut(convNormOut.silu(h))
    }
}
