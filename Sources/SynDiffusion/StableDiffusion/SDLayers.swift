import Foundation
import SynTensor

/// diffusers `ResnetBlock2D` with its names (`norm1`, `conv1`, `time_emb_proj`, `norm2`, `conv2`,
/// `conv_shortcut`): out = shortcut(x) + conv2(SiLU(norm2(conv1(SiLU(norm1 x)) + proj(SiLU emb)))).
/// Without a time embedding (the VAE) `time_emb_proj` is absent.
/// Reference: He et al. 2016; Ho et al. 2020 (DDPM) residual blocks with timestep conditioning.
public final class SDResnetBlock: Module {
    let norm1: GroupNorm, conv1: Conv2d, timeEmbProj: Linear?, norm2: GroupNorm, conv2: Conv2d, shortcut: Conv2d?

    init(_ inC: Int, _ outC: Int, temb: Int?, groups: Int, eps: Float) {
        norm1 = GroupNorm(groups: groups, channels: inC, eps: eps)
        var g = RandomGenerator(seed: 0)
        conv1 = Conv2d(inC, outC, kernelSize: 3, padding: 1, generator: &g)
        timeEmbProj = temb.map { zeroLinear($0, outC) }
        norm2 = GroupNorm(groups: groups, channels: outC, eps: eps)
        conv2 = Conv2d(outC, outC, kernelSize: 3, padding: 1, generator: &g)
        shortcut = inC == outC ? nil : Conv2d(inC, outC, kernelSize: 1, generator: &g)
        super.init()
    }

    override public var children: [(String, Module)] {
        var c: [(String, Module)] = [("norm1", norm1), ("conv1", conv1)]
        if let timeEmbProj { c.append(("time_emb_proj", timeEmbProj)) }
        c += [("norm2", norm2), ("conv2", conv2)]
        if let shortcut { c.append(("conv_shortcut", shortcut)) }
        return c
    }

    func callAsFunction(_ x: Tensor, emb: Tensor?) -> Tensor {
        var h = conv1(norm1.silu(x))
        if let timeEmbProj, let emb {
            let t = timeEmbProj(emb.silu())
            h = h + t.reshaped([t.shape[0], t.shape[1], 1, 1])
        }
        h = conv2(norm2.silu(h))
        return (shortcut.map { $0(x) } ?? x) + h
    }
}

/// Multi-head attention with diffusers' `Attention` names (`to_q`, `to_k`, `to_v` without bias,
/// `to_out.0` with bias) and head dimension `headDim`. The softmax(q k^T / sqrt(d)) v product runs in
/// `Tensor.multiHeadAttention`'s tiled kernel (key blocks with an online softmax), so a 64x64 latent
/// (4,096 tokens) never holds a 4,096 x 4,096 matrix per head.
/// Reference: Vaswani et al. 2017 (scaled dot-product attention); Rombach et al. 2022 (cross-attention conditioning).
public final class SDAttention: Module {
    let toQ: Linear, toK: Linear, toV: Linear, toOut: Linear
    let heads: Int, headDim: Int

    init(queryDim: Int, contextDim: Int?, heads: Int, headDim: Int, bias: Bool = false) {
        let inner = heads * headDim
        self.heads = heads
        self.headDim = headDim
        toQ = zeroLinear(queryDim, inner, bias: bias)
        toK = zeroLinear(contextDim ?? queryDim, inner, bias: bias)
        toV = zeroLinear(contextDim ?? queryDim, inner, bias: bias)
        toOut = zeroLinear(inner, queryDim)
        super.init()
    }

    override public var children: [(String, Module)] { [("to_q", toQ), ("to_k", toK), ("to_v", toV), ("to_out.0", toOut)] }

    /// x [B, N, queryDim] attending to `context` [B, L, contextDim] (itself when nil).
    func callAsFunction(_ x: Tensor, context: Tensor? = nil) -> Tensor {
        let ctx = context ?? x
        let o = Tensor.multiHeadAttention(query: toQ(x), key: toK(ctx), value: toV(ctx), heads: heads)
        return toOut(o)
    }
}

/// diffusers `BasicTransformerBlock` (layer-norm type): self-attention, cross-attention, GEGLU
/// feed-forward (`ff.net.0.proj` to 2 x 4 dim, hidden * GELU(gate), `ff.net.2`), each pre-normed and residual.
/// Reference: Shazeer 2020 ("GLU Variants Improve Transformer", GEGLU); Rombach et al. 2022.
final class SDTransformerBlock: Module {
    let norm1: LayerNorm, attn1: SDAttention, norm2: LayerNorm, attn2: SDAttention, norm3: LayerNorm
    let ffIn: Linear, ffOut: Linear

    init(dim: Int, heads: Int, headDim: Int, contextDim: Int) {
        norm1 = LayerNorm(dim)
        attn1 = SDAttention(queryDim: dim, contextDim: nil, heads: heads, headDim: headDim)
        norm2 = LayerNorm(dim)
        attn2 = SDAttention(queryDim: dim, contextDim: contextDim, heads: heads, headDim: headDim)
        norm3 = LayerNorm(dim)
        ffIn = zeroLinear(dim, dim * 8)
        ffOut = zeroLinear(dim * 4, dim)
        super.init()
    }

    override var children: [(String, Module)] {
        [("norm1", norm1), ("attn1", attn1), ("norm2", norm2), ("attn2", attn2), ("norm3", norm3),
         ("ff", NamedList([("net.0.proj", ffIn), ("net.2", ffOut)]))]
    }

    func callAsFunction(_ x: Tensor, context: Tensor) -> Tensor {
        let (h1, n2) = norm2(x, adding: attn1(norm1(x)))
        let (h2, n3) = norm3(h1, adding: attn2(n2, context: context))
        let parts = ffIn(n3).chunked(2, axis: -1)
        return h2 + ffOut(parts[0] * parts[1].gelu())
    }
}

/// diffusers `Transformer2DModel` on a feature map: GroupNorm (eps 1e-6), `proj_in` (1x1 conv or
/// linear), transformer blocks over the H*W tokens, `proj_out`, plus the input.
final class SDTransformer2D: Module {
    let norm: GroupNorm
    let projIn: Module, projOut: Module
    let blocks: [SDTransformerBlock]
    let linear: Bool

    init(channels: Int, heads: Int, headDim: Int, depth: Int, contextDim: Int, groups: Int, linear: Bool) {
        let inner = heads * headDim
        norm = GroupNorm(groups: groups, channels: channels, eps: 1e-6)
        self.linear = linear
        if linear {
            projIn = zeroLinear(channels, inner)
            projOut = zeroLinear(inner, channels)
        } else {
            var g = RandomGenerator(seed: 0)
            projIn = Conv2d(channels, inner, kernelSize: 1, generator: &g)
            projOut = Conv2d(inner, channels, kernelSize: 1, generator: &g)
        }
        blocks = (0..<depth).map { _ in SDTransformerBlock(dim: inner, heads: heads, headDim: headDim, contextDim: contextDim) }
        super.init()
    }

    override var children: [(String, Module)] {
        [("norm", norm), ("proj_in", projIn)] + blocks.enumerated().map { ("transformer_blocks.\($0.offset)", $0.element as Module) }
            + [("proj_out", projOut)]
    }

    func callAsFunction(_ x: Tensor, context: Tensor) -> Tensor {
        let B = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
        var h = norm(x)
        let inner: Int
        if linear, let p = projIn as? Linear {
            inner = p.outFeatures
            h = p(h.permuted([0, 2, 3, 1]).reshaped([B, H * W, C]))
        } else if let p = projIn as? Conv2d {
            h = p(h)
            inner = h.shape[1]
            h = h.permuted([0, 2, 3, 1]).reshaped([B, H * W, inner])
        } else {
            preconditionFailure("proj_in is neither linear nor a convolution")
        }
        for b in blocks { h = b(h, context: context) }
        if linear, let p = projOut as? Linear {
            h = p(h).reshaped([B, H, W, C]).permuted([0, 3, 1, 2])
        } else if let p = projOut as? Conv2d {
            h = p(h.reshaped([B, H, W, inner]).permuted([0, 3, 1, 2]).contiguous())
        }
        return h + x
    }
}

/// Stride-2 3x3 convolution (`conv`); `asymmetricPad` pads right/bottom by one first and uses no
/// conv padding (the VAE encoder's `Downsample2D(padding=0)`).
final class SDDownsample: Module {
    let conv: Conv2d
    let asymmetricPad: Bool

    init(_ channels: Int, asymmetricPad: Bool) {
        var g = RandomGenerator(seed: 0)
        conv = Conv2d(channels, channels, kernelSize: 3, stride: 2, padding: asymmetricPad ? 0 : 1, generator: &g)
        self.asymmetricPad = asymmetricPad
        super.init()
    }

    override var children: [(String, Module)] { [("conv", conv)] }

    func callAsFunction(_ x: Tensor) -> Tensor {
        conv(asymmetricPad ? x.padded2d(top: 0, bottom: 1, left: 0, right: 1) : x)
    }
}

/// Nearest 2x upsampling then a 3x3 convolution (`conv`), diffusers `Upsample2D`.
final class SDUpsample: Module {
    let conv: Conv2d

    init(_ channels: Int) {
        var g = RandomGenerator(seed: 0)
        conv = Conv2d(channels, channels, kernelSize: 3, padding: 1, generator: &g)
        super.init()
    }

    override var children: [(String, Module)] { [("conv", conv)] }

    func callAsFunction(_ x: Tensor, size: (Int, Int)? = nil) -> Tensor {
        let (h, w) = size ?? (x.shape[2] * 2, x.shape[3] * 2)
        return conv(x.resized(height: h, width: w, mode: .nearest))
    }
}
