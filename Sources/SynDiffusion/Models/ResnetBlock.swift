import SynTensor

/// Residual block with timestep conditioning (diffusers `ResnetBlock2D`, names kept):
/// h = conv1(SiLU(norm1(x))) + time_emb_proj(SiLU(emb)); h = conv2(SiLU(norm2(h)));
/// out = shortcut(x) + h, where shortcut is a 1x1 conv when the width changes.
/// Reference: Ho et al. 2020 (DDPM UNet), Dhariwal & Nichol 2021 (ADM) `ResBlock`.
public final class ResnetBlock2D: Module {
    /// GroupNorm on the input.
    public let norm1: GroupNorm
    /// First 3x3 convolution.
    public let conv1: Conv2d
    /// Projection of the (SiLU-activated) embedding to a per-channel bias.
    public let timeEmbProj: Linear
    /// GroupNorm before the second convolution.
    public let norm2: GroupNorm
    /// Second 3x3 convolution (zero-initialized, as ADM's `zero_module`).
    public let conv2: Conv2d
    /// 1x1 convolution on the skip path when input and output widths differ.
    public let convShortcut: Conv2d?

    /// A block from `inChannels` to `outChannels`, conditioned on an embedding of width `embedding`.
    public init(inChannels: Int, outChannels: Int, embedding: Int, groups: Int, zeroInit: Bool = true,
                generator: inout RandomGenerator) {
        norm1 = GroupNorm(groups: groups, channels: inChannels, eps: 1e-5)
        conv1 = Conv2d(inChannels, outChannels, kernelSize: 3, padding: 1, generator: &generator)
        timeEmbProj = Linear(embedding, outChannels, generator: &generator)
        norm2 = GroupNorm(groups: groups, channels: outChannels, eps: 1e-5)
        conv2 = Conv2d(outChannels, outChannels, kernelSize: 3, padding: 1, generator: &generator)
        convShortcut = inChannels == outChannels ? nil : Conv2d(inChannels, outChannels, kernelSize: 1, generator: &generator)
        super.init()
        if zeroInit { zeroParameters(of: conv2) }
    }

    override public var children: [(String, Module)] {
        var c: [(String, Module)] = [("norm1", norm1), ("conv1", conv1), ("time_emb_proj", timeEmbProj),
                                     ("norm2", norm2), ("conv2", conv2)]
        if let convShortcut { c.append(("conv_shortcut", convShortcut)) }
        return c
    }

    /// x [B, Cin, H, W], emb [B, E] -> [B, Cout, H, W].
    public func callAsFunction(_ x: Tensor, emb: Tensor) -> Tensor {
        // The timestep bias and the skip connection are added inside the convolutions' output pass.
        let h = conv1(norm1.silu(x), channelShift: timeEmbProj(emb.silu()))
        let skip = convShortcut.map { $0(x) } ?? x
        return conv2(norm2.silu(h), residual: skip)
    }
}

/// Stride-2 3x3 convolution halving the resolution (diffusers `Downsample2D`, `conv`).
public final class Downsample2D: Module, UnaryLayer {
    /// The strided convolution.
    public let conv: Conv2d

    /// A downsampler keeping `channels`.
    public init(channels: Int, generator: inout RandomGenerator) {
        conv = Conv2d(channels, channels, kernelSize: 3, stride: 2, padding: 1, generator: &generator)
        super.init()
    }

    override public var children: [(String, Module)] { [("conv", conv)] }

    /// [B, C, H, W] -> [B, C, H/2, W/2].
    public func callAsFunction(_ x: Tensor) -> Tensor { conv(x) }
}

/// Nearest-neighbour 2x upsampling followed by a 3x3 convolution (diffusers `Upsample2D`, `conv`).
public final class Upsample2D: Module, UnaryLayer {
    /// The convolution after upsampling.
    public let conv: Conv2d

    /// An upsampler keeping `channels`.
    public init(channels: Int, generator: inout RandomGenerator) {
        conv = Conv2d(channels, channels, kernelSize: 3, padding: 1, generator: &generator)
        super.init()
    }

    override public var children: [(String, Module)] { [("conv", conv)] }

    /// [B, C, H, W] -> [B, C, 2H, 2W].
    public func callAsFunction(_ x: Tensor) -> Tensor {
        conv(x.resized(height: x.shape[2] * 2, width: x.shape[3] * 2, mode: .nearest))
    }
}

/// Sets every parameter of `module` to zero (ADM's `zero_module`, so residual branches start as identity).
func zeroParameters(of module: Module) {
    for p in module.parameters() { p.value = Tensor.zeros(p.shape) }
}
