import Foundation
import SynTensor

/// The parts of diffusers' `AutoencoderKL` config that Stable Diffusion uses.
public struct SDVAEConfiguration: Sendable, Equatable {
    /// Image channels.
    public var inChannels = 3
    /// Image channels out.
    public var outChannels = 3
    /// Latent channels.
    public var latentChannels = 4
    /// Width of each level, finest first.
    public var blockOutChannels = [128, 256, 512, 512]
    /// Residual blocks per encoder level (the decoder has one more).
    public var layersPerBlock = 2
    /// GroupNorm groups.
    public var normGroups = 32
    /// Latents are multiplied by this after encoding (0.18215 for SD 1.x / 2.x).
    public var scalingFactor: Float = 0.18215
    /// Whether the 1x1 `quant_conv` / `post_quant_conv` exist.
    public var quantConv = true
    /// Whether the mid blocks have their attention layer.
    public var midAttention = true

    /// A configuration; the defaults are Stable Diffusion's VAE.
    public init() {}

    /// Image pixels per latent pixel (2^(levels - 1)).
    public var downscale: Int { 1 << (blockOutChannels.count - 1) }

    /// Reads a VAE `config.json`.
    public init(contentsOf url: URL) throws {
        let c = try readJSONObject(url)
        func fail(_ why: String) -> DiffusionError { DiffusionError.badCheckpoint(path: url.path, reason: why) }
        guard let boc = c["block_out_channels"] as? [NSNumber], !boc.isEmpty else { throw fail("block_out_channels is missing") }
        blockOutChannels = boc.map(\.intValue)
        for (k, allowed) in [("down_block_types", "DownEncoderBlock2D"), ("up_block_types", "UpDecoderBlock2D")] {
            if let t = c[k] as? [String], t.count != boc.count || t.contains(where: { $0 != allowed }) {
                throw fail("\(k) must list \(boc.count) \(allowed) blocks")
            }
        }
        func int(_ k: String, _ d: Int) throws -> Int {
            guard let v = c[k], !(v is NSNull) else { return d }
            guard let n = (v as? NSNumber)?.intValue, n > 0 else { throw fail("\(k) must be a positive integer") }
            return n
        }
        inChannels = try int("in_channels", 3)
        outChannels = try int("out_channels", 3)
        latentChannels = try int("latent_channels", 4)
        layersPerBlock = try int("layers_per_block", 1)
        normGroups = try int("norm_num_groups", 32)
        scalingFactor = (c["scaling_factor"] as? NSNumber)?.floatValue ?? 0.18215
        quantConv = (c["use_quant_conv"] as? Bool) ?? true
        if (c["use_post_quant_conv"] as? Bool) ?? true != quantConv { throw fail("use_quant_conv and use_post_quant_conv must agree") }
        midAttention = (c["mid_block_add_attention"] as? Bool) ?? true
        if let a = c["act_fn"] as? String, a != "silu" { throw fail("act_fn \(a) is not supported") }
        if let s = c["shift_factor"], !(s is NSNull) { throw fail("shift_factor is not supported (Stable Diffusion 1.x / 2.x have none)") }
        for ch in blockOutChannels where ch % normGroups != 0 { throw fail("width \(ch) is not divisible by norm_num_groups \(normGroups)") }
    }
}

/// The VAE mid block's single-head self-attention over all pixels (`group_norm`, `to_q`, `to_k`,
/// `to_v`, `to_out.0`, all with bias), added to its input.
final class SDVAEAttention: Module {
    let norm: GroupNorm
    let attn: SDAttention

    init(_ ch: Int, groups: Int) {
        norm = GroupNorm(groups: groups, channels: ch, eps: 1e-6)
        attn = SDAttention(queryDim: ch, contextDim: nil, heads: 1, headDim: ch, bias: true)
        super.init()
    }

    override var children: [(String, Module)] { [("group_norm", norm)] + attn.children }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let B = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
        let t = norm(x).reshaped([B, C, H * W]).permuted([0, 2, 1])
        return attn(t).permuted([0, 2, 1]).reshaped([B, C, H, W]) + x
    }
}

/// diffusers `UNetMidBlock2D` without time embedding: resnet, (attention), resnet.
final class SDVAEMid: Module {
    let resnets: [SDResnetBlock], attention: SDVAEAttention?

    init(_ ch: Int, groups: Int, attention: Bool) {
        resnets = (0..<2).map { _ in SDResnetBlock(ch, ch, temb: nil, groups: groups, eps: 1e-6) }
        self.attention = attention ? SDVAEAttention(ch, groups: groups) : nil
        super.init()
    }

    override var children: [(String, Module)] {
        var c: [(String, Module)] = [("resnets.0", resnets[0])]
        if let attention { c.append(("attentions.0", attention)) }
        return c + [("resnets.1", resnets[1])]
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        var h = resnets[0](x, emb: nil)
        if let attention { h = attention(h) }
        return resnets[1](h, emb: nil)
    }
}

/// Residual blocks then an optional resampler (encoder `DownEncoderBlock2D`, decoder `UpDecoderBlock2D`).
final class SDVAELevel: Module {
    let resnets: [SDResnetBlock], down: SDDownsample?, up: SDUpsample?

    init(inC: Int, outC: Int, layers: Int, groups: Int, down: Bool, up: Bool) {
        resnets = (0..<layers).map { SDResnetBlock($0 == 0 ? inC : outC, outC, temb: nil, groups: groups, eps: 1e-6) }
        self.down = down ? SDDownsample(outC, asymmetricPad: true) : nil
        self.up = up ? SDUpsample(outC) : nil
        super.init()
    }

    override var children: [(String, Module)] {
        var c: [(String, Module)] = resnets.enumerated().map { ("resnets.\($0.offset)", $0.element) }
        if let down { c.append(("downsamplers.0", down)) }
        if let up { c.append(("upsamplers.0", up)) }
        return c
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        var h = x
        for r in resnets { h = r(h, emb: nil) }
        if let down { h = down(h) }
        if let up { h = up(h) }
        return h
    }
}

/// A convolution stack with diffusers' encoder/decoder names: `conv_in`, levels, `mid_block`,
/// `conv_norm_out`, `conv_out`.
final class SDVAECoder: Module {
    let convIn: Conv2d, levels: [SDVAELevel], mid: SDVAEMid, normOut: GroupNorm, convOut: Conv2d
    let levelName: String
    let midFirst: Bool

    init(convIn: Conv2d, levels: [SDVAELevel], levelName: String, mid: SDVAEMid, midFirst: Bool, normOut: GroupNorm, convOut: Conv2d) {
        self.convIn = convIn
        self.levels = levels
        self.levelName = levelName
        self.mid = mid
        self.midFirst = midFirst
        self.normOut = normOut
        self.convOut = convOut
        super.init()
    }

    override var children: [(String, Module)] {
        [("conv_in", convIn)] + levels.enumerated().map { ("\(levelName).\($0.offset)", $0.element as Module) }
            + [("mid_block", mid), ("conv_norm_out", normOut), ("conv_out", convOut)]
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        var h = convIn(x)
        if midFirst { h = mid(h) }
        for l in levels { h = l(h) }
        if !midFirst { h = mid(h) }
        return convOut(normOut.silu(h))
    }
}

/// Stable Diffusion's KL autoencoder (diffusers `AutoencoderKL` names): the encoder gives the mean
/// and log-variance of the latent distribution, the decoder maps latents to images in [-1, 1]
/// (before any clamping). Latents are scaled by `config.scalingFactor` between the two.
///
/// Reference: Rombach et al. 2022 (Latent Diffusion, section 3.1 and appendix G); Kingma & Welling 2014 (VAE).
public final class SDAutoencoder: Module {
    /// Hyperparameters.
    public let config: SDVAEConfiguration
    let encoder: SDVAECoder, decoder: SDVAECoder
    let quantConv: Conv2d?, postQuantConv: Conv2d?

    /// An autoencoder of `config` with placeholder weights, in eval mode.
    public init(config c: SDVAEConfiguration) {
        config = c
        var g = RandomGenerator(seed: 0)
        let ch = c.blockOutChannels, n = ch.count, G = c.normGroups
        encoder = SDVAECoder(
            convIn: Conv2d(c.inChannels, ch[0], kernelSize: 3, padding: 1, generator: &g),
            levels: (0..<n).map { SDVAELevel(inC: $0 == 0 ? ch[0] : ch[$0 - 1], outC: ch[$0], layers: c.layersPerBlock, groups: G,
                                             down: $0 < n - 1, up: false) },
            levelName: "down_blocks", mid: SDVAEMid(ch[n - 1], groups: G, attention: c.midAttention), midFirst: false,
            normOut: GroupNorm(groups: G, channels: ch[n - 1], eps: 1e-6),
            convOut: Conv2d(ch[n - 1], 2 * c.latentChannels, kernelSize: 3, padding: 1, generator: &g))
        decoder = SDVAECoder(
            convIn: Conv2d(c.latentChannels, ch[n - 1], kernelSize: 3, padding: 1, generator: &g),
            levels: (0..<n).map { i in SDVAELevel(inC: ch[n - 1 - Swift.max(i - 1, 0)], outC: ch[n - 1 - i], layers: c.layersPerBlock + 1,
                                                  groups: G, down: false, up: i < n - 1) },
            levelName: "up_blocks", mid: SDVAEMid(ch[n - 1], groups: G, attention: c.midAttention), midFirst: true,
            normOut: GroupNorm(groups: G, channels: ch[0], eps: 1e-6),
            convOut: Conv2d(ch[0], c.outChannels, kernelSize: 3, padding: 1, generator: &g))
        quantConv = c.quantConv ? Conv2d(2 * c.latentChannels, 2 * c.latentChannels, kernelSize: 1, generator: &g) : nil
        postQuantConv = c.quantConv ? Conv2d(c.latentChannels, c.latentChannels, kernelSize: 1, generator: &g) : nil
        super.init()
        for p in parameters() { p.isTrainable = false }
        eval()
    }

    override public var children: [(String, Module)] {
        var c: [(String, Module)] = [("encoder", encoder), ("decoder", decoder)]
        if let quantConv { c.append(("quant_conv", quantConv)) }
        if let postQuantConv { c.append(("post_quant_conv", postQuantConv)) }
        return c
    }

    /// Loads diffusers-named weights (the older `query`/`key`/`value`/`proj_attn` attention names are accepted).
    public func load(_ url: URL) throws {
        try loadChecked(self, readTensors(url) { Self.modernName($0) }, path: url.path)
    }

    static func modernName(_ k: String) -> String {
        for (old, new) in [(".attentions.0.query.", ".attentions.0.to_q."), (".attentions.0.key.", ".attentions.0.to_k."),
                           (".attentions.0.value.", ".attentions.0.to_v."), (".attentions.0.proj_attn.", ".attentions.0.to_out.0.")]
        where k.contains(old) {
            return k.replacingOccurrences(of: old, with: new)
        }
        return k
    }

    /// Images [B, 3, H, W] in [-1, 1] -> (mean, logvar) [B, 4, H/f, W/f] (logvar clamped to [-30, 20]).
    public func encode(_ image: Tensor) -> (mean: Tensor, logvar: Tensor) {
        withNoGrad {
            var m = encoder(image)
            if let quantConv { m = quantConv(m) }
            let parts = m.chunked(2, axis: 1)
            return (parts[0], parts[1].clamp(min: -30, max: 20))
        }
    }

    /// Unscaled latents [B, 4, h, w] -> images [B, 3, h f, w f] (not clamped).
    public func decode(_ latents: Tensor) -> Tensor {
        withNoGrad {
            let z = postQuantConv.map { $0(latents) } ?? latents
            return decoder(z)
        }
    }
}
