import Foundation
import SynTensor

/// The parts of diffusers' `UNet2DConditionModel` config that Stable Diffusion 1.x / 2.x use.
public struct SDUNetConfiguration: Sendable, Equatable {
    /// Latent channels in.
    public var inChannels = 4
    /// Channels out.
    public var outChannels = 4
    /// Width of each level, finest first.
    public var blockOutChannels = [320, 640, 1280, 1280]
    /// Residual blocks per level on the way down (one more on the way up).
    public var layersPerBlock = [2, 2, 2, 2]
    /// Whether each down level (finest first) is a `CrossAttnDownBlock2D`.
    public var downAttention = [true, true, true, false]
    /// Whether each up level (coarsest first) is a `CrossAttnUpBlock2D`.
    public var upAttention = [false, true, true, true]
    /// Whether there is a `UNetMidBlock2DCrossAttn`.
    public var midBlock = true
    /// Attention heads per level, finest first (diffusers reads `attention_head_dim` as this count
    /// when `num_attention_heads` is absent: SD 1.x's 8, SD 2.x's [5, 10, 20, 20]).
    public var heads = [8, 8, 8, 8]
    /// Transformer blocks per spatial transformer.
    public var transformerLayers = 1
    /// Width of the text states.
    public var crossAttentionDim = 768
    /// Linear (SD 2.x) or 1x1-conv (SD 1.x) `proj_in` / `proj_out`.
    public var linearProjection = false
    /// GroupNorm groups.
    public var normGroups = 32
    /// GroupNorm epsilon of the residual blocks and the output norm.
    public var normEps: Float = 1e-5
    /// Width of the timestep embedding (4 x the first level by default).
    public var timeEmbedDim = 1280
    /// Latent side the model was trained at.
    public var sampleSize = 64

    /// A configuration; the defaults are Stable Diffusion 1.5's UNet.
    public init() {}

    /// Reads a UNet `config.json`, rejecting options this implementation does not run.
    public init(contentsOf url: URL) throws {
        let c = try readJSONObject(url)
        func fail(_ why: String) -> DiffusionError { DiffusionError.badCheckpoint(path: url.path, reason: why) }
        func int(_ k: String, _ d: Int) throws -> Int {
            guard let v = c[k], !(v is NSNull) else { return d }
            guard let n = (v as? NSNumber)?.intValue, n > 0 else { throw fail("\(k) must be a positive integer") }
            return n
        }
        func ints(_ k: String, count: Int, _ d: [Int]?) throws -> [Int]? {
            guard let v = c[k], !(v is NSNull) else { return d }
            if let n = (v as? NSNumber)?.intValue { return [Int](repeating: n, count: count) }
            guard let a = v as? [NSNumber], a.count == count else { throw fail("\(k) must be an integer or a list of \(count) integers") }
            return a.map(\.intValue)
        }
        guard let boc = c["block_out_channels"] as? [NSNumber], !boc.isEmpty else { throw fail("block_out_channels is missing") }
        blockOutChannels = boc.map(\.intValue)
        let n = blockOutChannels.count
        guard let down = c["down_block_types"] as? [String], down.count == n,
              let up = c["up_block_types"] as? [String], up.count == n else {
            throw fail("down_block_types and up_block_types must list \(n) blocks")
        }
        for t in down where !["CrossAttnDownBlock2D", "DownBlock2D"].contains(t) { throw fail("down block type \(t) is not supported") }
        for t in up where !["CrossAttnUpBlock2D", "UpBlock2D"].contains(t) { throw fail("up block type \(t) is not supported") }
        downAttention = down.map { $0 == "CrossAttnDownBlock2D" }
        upAttention = up.map { $0 == "CrossAttnUpBlock2D" }
        switch c["mid_block_type"] {
        case nil, is NSNull: midBlock = true
        case let s as String where s == "UNetMidBlock2DCrossAttn": midBlock = true
        case let s as String: throw fail("mid_block_type \(s) is not supported")
        default: throw fail("mid_block_type must be a string")
        }
        inChannels = try int("in_channels", 4)
        outChannels = try int("out_channels", 4)
        layersPerBlock = try ints("layers_per_block", count: n, [2, 2, 2, 2]) ?? []
        // diffusers: num_attention_heads = num_attention_heads or attention_head_dim (a head count).
        guard let h = try ints("num_attention_heads", count: n, nil) ?? ints("attention_head_dim", count: n, [Int](repeating: 8, count: n)) else {
            throw fail("attention_head_dim is missing")
        }
        heads = h
        transformerLayers = try int("transformer_layers_per_block", 1)
        guard let cad = (c["cross_attention_dim"] as? NSNumber)?.intValue else { throw fail("cross_attention_dim must be one integer") }
        crossAttentionDim = cad
        linearProjection = (c["use_linear_projection"] as? Bool) ?? false
        normGroups = try int("norm_num_groups", 32)
        normEps = (c["norm_eps"] as? NSNumber)?.floatValue ?? 1e-5
        timeEmbedDim = try int("time_embedding_dim", blockOutChannels[0] * 4)
        sampleSize = try int("sample_size", 64)
        let defaults: [(String, Any)] = [
            ("flip_sin_to_cos", true), ("freq_shift", 0), ("act_fn", "silu"), ("time_embedding_type", "positional"),
            ("resnet_time_scale_shift", "default"), ("conv_in_kernel", 3), ("conv_out_kernel", 3), ("downsample_padding", 1),
            ("mid_block_scale_factor", 1), ("center_input_sample", false), ("only_cross_attention", false),
            ("dual_cross_attention", false), ("resnet_out_scale_factor", 1), ("resnet_skip_time_act", false),
            ("attention_type", "default"),
        ]
        for (k, d) in defaults {
            guard let v = c[k], !(v is NSNull) else { continue }
            let same: Bool
            switch d {
            case let b as Bool: same = (v as? Bool) == b
            case let i as Int: same = (v as? NSNumber)?.doubleValue == Double(i)
            case let s as String: same = (v as? String) == s
            default: same = false
            }
            if !same { throw fail("\(k) = \(v) is not supported (Stable Diffusion 1.x / 2.x use \(d))") }
        }
        for k in ["class_embed_type", "addition_embed_type", "encoder_hid_dim", "time_cond_proj_dim", "num_class_embeds",
                  "timestep_post_act", "time_embedding_act_fn", "cross_attention_norm"] {
            if let v = c[k], !(v is NSNull) { throw fail("\(k) = \(v) is not supported (Stable Diffusion 1.x / 2.x leave it null)") }
        }
        if let problem = problems.first { throw fail(problem) }
    }

    /// Problems that make the network ill-formed (empty when valid).
    public var problems: [String] {
        var p: [String] = []
        let n = blockOutChannels.count
        if layersPerBlock.count != n || heads.count != n || downAttention.count != n || upAttention.count != n {
            p.append("per-level lists must have \(n) entries")
            return p
        }
        for (i, ch) in blockOutChannels.enumerated() {
            if ch % normGroups != 0 { p.append("block_out_channels[\(i)] = \(ch) is not divisible by norm_num_groups \(normGroups)") }
            if ch % heads[i] != 0 { p.append("block_out_channels[\(i)] = \(ch) is not divisible by \(heads[i]) heads") }
        }
        return p
    }
}

/// One down level: residual blocks (each optionally followed by a spatial transformer), then an
/// optional stride-2 downsampler (diffusers `CrossAttnDownBlock2D` / `DownBlock2D`).
final class SDDownBlock: Module {
    let resnets: [SDResnetBlock], attentions: [SDTransformer2D], down: SDDownsample?

    init(inC: Int, outC: Int, layers: Int, attention: Bool, heads: Int, downsample: Bool, c: SDUNetConfiguration) {
        resnets = (0..<layers).map { SDResnetBlock($0 == 0 ? inC : outC, outC, temb: c.timeEmbedDim, groups: c.normGroups, eps: c.normEps) }
        attentions = attention ? (0..<layers).map { _ in
            SDTransformer2D(channels: outC, heads: heads, headDim: outC / heads, depth: c.transformerLayers,
                            contextDim: c.crossAttentionDim, groups: c.normGroups, linear: c.linearProjection)
        } : []
        down = downsample ? SDDownsample(outC, asymmetricPad: false) : nil
        super.init()
    }

    override var children: [(String, Module)] {
        var c: [(String, Module)] = resnets.enumerated().map { ("resnets.\($0.offset)", $0.element) }
        c += attentions.enumerated().map { ("attentions.\($0.offset)", $0.element) }
        if let down { c.append(("downsamplers.0", down)) }
        return c
    }

    func callAsFunction(_ x: Tensor, emb: Tensor, context: Tensor, skips: inout [Tensor]) -> Tensor {
        var h = x
        for (j, r) in resnets.enumerated() {
            h = r(h, emb: emb)
            if !attentions.isEmpty { h = attentions[j](h, context: context) }
            skips.append(h)
        }
        if let down {
            h = down(h)
            skips.append(h)
        }
        return h
    }
}

/// One up level: residual blocks on [h, skip] (each optionally followed by a spatial transformer),
/// then an optional upsampler (diffusers `CrossAttnUpBlock2D` / `UpBlock2D`).
final class SDUpBlock: Module {
    let resnets: [SDResnetBlock], attentions: [SDTransformer2D], up: SDUpsample?

    init(prevC: Int, outC: Int, skipInC: Int, layers: Int, attention: Bool, heads: Int, upsample: Bool, c: SDUNetConfiguration) {
        resnets = (0..<layers).map { j in
            let skip = j == layers - 1 ? skipInC : outC
            return SDResnetBlock((j == 0 ? prevC : outC) + skip, outC, temb: c.timeEmbedDim, groups: c.normGroups, eps: c.normEps)
        }
        attentions = attention ? (0..<layers).map { _ in
            SDTransformer2D(channels: outC, heads: heads, headDim: outC / heads, depth: c.transformerLayers,
                            contextDim: c.crossAttentionDim, groups: c.normGroups, linear: c.linearProjection)
        } : []
        up = upsample ? SDUpsample(outC) : nil
        super.init()
    }

    override var children: [(String, Module)] {
        var c: [(String, Module)] = resnets.enumerated().map { ("resnets.\($0.offset)", $0.element) }
        c += attentions.enumerated().map { ("attentions.\($0.offset)", $0.element) }
        if let up { c.append(("upsamplers.0", up)) }
        return c
    }

    func callAsFunction(_ x: Tensor, emb: Tensor, context: Tensor, skips: inout [Tensor], upsampleSize: (Int, Int)?) -> Tensor {
        var h = x
        for (j, r) in resnets.enumerated() {
            h = r(Tensor.concatenate([h, skips.removeLast()], axis: 1), emb: emb)
            if !attentions.isEmpty { h = attentions[j](h, context: context) }
        }
        if let up { h = up(h, size: upsampleSize) }
        return h
    }
}

/// diffusers `UNetMidBlock2DCrossAttn`: resnet, spatial transformer, resnet.
final class SDMidBlock: Module {
    let resnets: [SDResnetBlock], attention: SDTransformer2D

    init(_ ch: Int, heads: Int, c: SDUNetConfiguration) {
        resnets = (0..<2).map { _ in SDResnetBlock(ch, ch, temb: c.timeEmbedDim, groups: c.normGroups, eps: c.normEps) }
        attention = SDTransformer2D(channels: ch, heads: heads, headDim: ch / heads, depth: c.transformerLayers,
                                    contextDim: c.crossAttentionDim, groups: c.normGroups, linear: c.linearProjection)
        super.init()
    }

    override var children: [(String, Module)] { [("resnets.0", resnets[0]), ("attentions.0", attention), ("resnets.1", resnets[1])] }

    func callAsFunction(_ x: Tensor, emb: Tensor, context: Tensor) -> Tensor {
        resnets[1](attention(resnets[0](x, emb: emb), context: context), emb: emb)
    }
}

/// Stable Diffusion's denoiser, diffusers' `UNet2DConditionModel` with its parameter names so a
/// diffusers `unet/diffusion_pytorch_model.safetensors` loads directly: sinusoidal timestep
/// features + MLP, residual blocks with the time embedding, spatial transformers with self- and
/// cross-attention to the text states, skip connections, epsilon or v output (as its scheduler says).
///
/// Reference: Rombach et al. 2022 ("High-Resolution Image Synthesis with Latent Diffusion
/// Models", section 3.3 and appendix); Ronneberger et al. 2015 (UNet); Ho et al. 2020 (DDPM).
public final class SDUNet: Module, NoisePredictor {
    /// Hyperparameters.
    public let config: SDUNetConfiguration
    let convIn: Conv2d, timeEmbedding: TimestepEmbedding
    let downBlocks: [SDDownBlock], mid: SDMidBlock?, upBlocks: [SDUpBlock]
    let normOut: GroupNorm, convOut: Conv2d

    /// A network of `config` with placeholder weights (load real ones with `load(_:)`), in eval mode.
    public init(config c: SDUNetConfiguration) {
        precondition(c.problems.isEmpty, "invalid UNet config: \(c.problems.joined(separator: "; "))")
        config = c
        var g = RandomGenerator(seed: 0)
        let ch = c.blockOutChannels, n = ch.count
        convIn = Conv2d(c.inChannels, ch[0], kernelSize: 3, padding: 1, generator: &g)
        timeEmbedding = TimestepEmbedding(ch[0], width: c.timeEmbedDim, generator: &g)
        downBlocks = (0..<n).map { i in
            SDDownBlock(inC: i == 0 ? ch[0] : ch[i - 1], outC: ch[i], layers: c.layersPerBlock[i], attention: c.downAttention[i],
                        heads: c.heads[i], downsample: i < n - 1, c: c)
        }
        mid = c.midBlock ? SDMidBlock(ch[n - 1], heads: c.heads[n - 1], c: c) : nil
        var ups: [SDUpBlock] = []
        for i in 0..<n {
            let level = n - 1 - i
            ups.append(SDUpBlock(prevC: ch[Swift.min(level + 1, n - 1)], outC: ch[level], skipInC: ch[Swift.max(level - 1, 0)],
                                 layers: c.layersPerBlock[level] + 1, attention: c.upAttention[i], heads: c.heads[level],
                                 upsample: i < n - 1, c: c))
        }
        upBlocks = ups
        normOut = GroupNorm(groups: c.normGroups, channels: ch[0], eps: c.normEps)
        convOut = Conv2d(ch[0], c.outChannels, kernelSize: 3, padding: 1, generator: &g)
        super.init()
        for p in parameters() { p.isTrainable = false }
        eval()
    }

    override public var children: [(String, Module)] {
        var c: [(String, Module)] = [("conv_in", convIn), ("time_embedding", timeEmbedding)]
        c += downBlocks.enumerated().map { ("down_blocks.\($0.offset)", $0.element) }
        if let mid { c.append(("mid_block", mid)) }
        c += upBlocks.enumerated().map { ("up_blocks.\($0.offset)", $0.element) }
        c += [("conv_norm_out", normOut), ("conv_out", convOut)]
        return c
    }

    /// Loads diffusers-named weights from a safetensors file (float32, float16 or bfloat16).
    public func load(_ url: URL) throws { try loadChecked(self, readTensors(url), path: url.path) }

    /// The model output for `sample` [B, C, h, w] at `timesteps` [B] attending to `conditioning.tokens` [B, L, D].
    public func predict(_ sample: Tensor, timesteps: Tensor, conditioning: Conditioning) -> Tensor {
        guard let tokens = conditioning.tokens else { preconditionFailure("the Stable Diffusion UNet needs text token states") }
        return forward(sample, timesteps: timesteps, context: tokens)
    }

    /// The network on explicit inputs.
    public func forward(_ sample: Tensor, timesteps: Tensor, context: Tensor) -> Tensor {
        let B = sample.shape[0]
        precondition(sample.rank == 4 && sample.shape[1] == config.inChannels, "UNet input must be [B, \(config.inChannels), h, w], got \(sample.shape)")
        precondition(timesteps.shape == [B], "timesteps must be [\(B)], got \(timesteps.shape)")
        precondition(context.rank == 3 && context.shape[0] == B && context.shape[2] == config.crossAttentionDim,
                     "text states must be [\(B), L, \(config.crossAttentionDim)], got \(context.shape)")
        return withNoGrad {
            let emb = timeEmbedding(sinusoidalTimestepEmbedding(timesteps, dim: config.blockOutChannels[0]))
            var h = convIn(sample)
            var skips = [h]
            for block in downBlocks { h = block(h, emb: emb, context: context, skips: &skips) }
            if let mid { h = mid(h, emb: emb, context: context) }
            for (i, block) in upBlocks.enumerated() {
                let taken = block.resnets.count
                // The skip that the next level will consume fixes the upsampled size (odd sides).
                let next = skips.count - taken - 1
                let size: (Int, Int)? = i < upBlocks.count - 1 && next >= 0 ? (skips[next].shape[2], skips[next].shape[3]) : nil
                h = block(h, emb: emb, context: context, skips: &skips, upsampleSize: size)
            }
            return convOut(normOut.silu(h))
        }
    }
}
