import SynTensor

/// One level of the contracting path (diffusers `CrossAttnDownBlock2D` / `DownBlock2D`):
/// residual blocks, each optionally followed by a spatial transformer, then an optional downsampler.
public final class UNetDownBlock: Module {
    /// Residual blocks.
    public let resnets: [ResnetBlock2D]
    /// Spatial transformers after each residual block (empty without attention).
    public let attentions: [Transformer2D]
    /// Halves the resolution (nil on the coarsest level).
    public let downsampler: Downsample2D?

    /// A level from `inChannels` to `outChannels`.
    public init(inChannels: Int, outChannels: Int, layers: Int, attention: Bool, downsample: Bool, config: UNetConfig,
                generator: inout RandomGenerator) {
        var r: [ResnetBlock2D] = [], a: [Transformer2D] = []
        for j in 0..<layers {
            r.append(ResnetBlock2D(inChannels: j == 0 ? inChannels : outChannels, outChannels: outChannels,
                                   embedding: config.timeEmbedDim, groups: config.normGroups, generator: &generator))
            if attention {
                a.append(Transformer2D(channels: outChannels, heads: outChannels / config.attentionHeadDim,
                                       contextDim: config.crossAttentionDim, groups: config.normGroups, generator: &generator))
            }
        }
        resnets = r
        attentions = a
        downsampler = downsample ? Downsample2D(channels: outChannels, generator: &generator) : nil
        super.init()
    }

    override public var children: [(String, Module)] {
        var c: [(String, Module)] = resnets.enumerated().map { ("resnets.\($0.offset)", $0.element) }
        c += attentions.enumerated().map { ("attentions.\($0.offset)", $0.element) }
        if let downsampler { c.append(("downsamplers.0", downsampler)) }
        return c
    }

    /// Runs the level, appending every intermediate output to `skips`.
    func callAsFunction(_ x: Tensor, emb: Tensor, context: Tensor, keyMask: Tensor?, skips: inout [Tensor]) -> Tensor {
        var h = x
        for (j, r) in resnets.enumerated() {
            h = r(h, emb: emb)
            if !attentions.isEmpty { h = attentions[j](h, context: context, keyMask: keyMask) }
            skips.append(h)
        }
        if let downsampler {
            h = downsampler(h)
            skips.append(h)
        }
        return h
    }
}

/// One level of the expanding path (diffusers `CrossAttnUpBlock2D` / `UpBlock2D`): residual blocks
/// on [h, skip] concatenated along channels, each optionally followed by a spatial transformer,
/// then an optional upsampler.
public final class UNetUpBlock: Module {
    /// Residual blocks.
    public let resnets: [ResnetBlock2D]
    /// Spatial transformers after each residual block (empty without attention).
    public let attentions: [Transformer2D]
    /// Doubles the resolution (nil on the finest level).
    public let upsampler: Upsample2D?

    /// A level producing `outChannels`; `prevChannels` arrive from below and the skips carry
    /// `outChannels` except the last, which carries `skipInChannels` (diffusers' channel bookkeeping).
    public init(prevChannels: Int, outChannels: Int, skipInChannels: Int, layers: Int, attention: Bool, upsample: Bool,
                config: UNetConfig, generator: inout RandomGenerator) {
        var r: [ResnetBlock2D] = [], a: [Transformer2D] = []
        for j in 0..<layers {
            let skip = j == layers - 1 ? skipInChannels : outChannels
            let inC = (j == 0 ? prevChannels : outChannels) + skip
            r.append(ResnetBlock2D(inChannels: inC, outChannels: outChannels, embedding: config.timeEmbedDim,
                                   groups: config.normGroups, generator: &generator))
            if attention {
                a.append(Transformer2D(channels: outChannels, heads: outChannels / config.attentionHeadDim,
                                       contextDim: config.crossAttentionDim, groups: config.normGroups, generator: &generator))
            }
        }
        resnets = r
        attentions = a
        upsampler = upsample ? Upsample2D(channels: outChannels, generator: &generator) : nil
        super.init()
    }

    override public var children: [(String, Module)] {
        var c: [(String, Module)] = resnets.enumerated().map { ("resnets.\($0.offset)", $0.element) }
        c += attentions.enumerated().map { ("attentions.\($0.offset)", $0.element) }
        if let upsampler { c.append(("upsamplers.0", upsampler)) }
        return c
    }

    /// Runs the level, consuming skips from the end of `skips`.
    func callAsFunction(_ x: Tensor, emb: Tensor, context: Tensor, keyMask: Tensor?, skips: inout [Tensor]) -> Tensor {
        var h = x
        for (j, r) in resnets.enumerated() {
            let skip = skips.removeLast()
            h = r(Tensor.concatenate([h, skip], axis: 1), emb: emb)
            if !attentions.isEmpty { h = attentions[j](h, context: context, keyMask: keyMask) }
        }
        if let upsampler { h = upsampler(h) }
        return h
    }
}

/// The bottleneck (diffusers `UNetMidBlock2DCrossAttn`): resnet, spatial transformer, resnet.
public final class UNetMidBlock: Module {
    /// The two residual blocks.
    public let resnets: [ResnetBlock2D]
    /// The spatial transformer between them.
    public let attention: Transformer2D

    /// A bottleneck of `channels` channels.
    public init(channels: Int, config: UNetConfig, generator: inout RandomGenerator) {
        let r0 = ResnetBlock2D(inChannels: channels, outChannels: channels, embedding: config.timeEmbedDim,
                               groups: config.normGroups, generator: &generator)
        attention = Transformer2D(channels: channels, heads: channels / config.attentionHeadDim,
                                  contextDim: config.crossAttentionDim, groups: config.normGroups, generator: &generator)
        let r1 = ResnetBlock2D(inChannels: channels, outChannels: channels, embedding: config.timeEmbedDim,
                               groups: config.normGroups, generator: &generator)
        resnets = [r0, r1]
        super.init()
    }

    override public var children: [(String, Module)] {
        [("resnets.0", resnets[0]), ("attentions.0", attention), ("resnets.1", resnets[1])]
    }

    /// x [B, C, h, w] -> same shape.
    func callAsFunction(_ x: Tensor, emb: Tensor, context: Tensor, keyMask: Tensor?) -> Tensor {
        let h = resnets[0](x, emb: emb)
        return resnets[1](attention(h, context: context, keyMask: keyMask), emb: emb)
    }
}
