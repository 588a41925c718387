import SynTensor

/// Multi-head attention with diffusers' `Attention` names: `to_q`, `to_k`, `to_v` (no bias) and
/// `to_out.0` (with bias). Self-attention when no context is given, else cross-attention to the
/// context tokens (e.g. caption token states of width `contextDim`) under a key mask.
/// Reference: Vaswani et al. 2017; Rombach et al. 2022 (latent diffusion cross-attention).
public final class Attention: Module {
    /// Query projection.
    public let toQ: Linear
    /// Key projection (from the context width).
    public let toK: Linear
    /// Value projection (from the context width).
    public let toV: Linear
    /// Output projection (diffusers keeps it at index 0 of a ModuleList with a dropout).
    public let toOut: Linear
    /// Number of heads.
    public let heads: Int

    /// Attention of width `dim` over `heads` heads; keys and values come from width `contextDim` (default `dim`).
    public init(dim: Int, heads: Int, contextDim: Int? = nil, zeroInitOutput: Bool = false, generator: inout RandomGenerator) {
        precondition(dim % heads == 0, "attention width \(dim) not divisible by \(heads) heads")
        self.heads = heads
        let cd = contextDim ?? dim
        toQ = Linear(dim, dim, bias: false, generator: &generator)
        toK = Linear(cd, dim, bias: false, generator: &generator)
        toV = Linear(cd, dim, bias: false, generator: &generator)
        toOut = Linear(dim, dim, generator: &generator)
        super.init()
        if zeroInitOutput { zeroParameters(of: toOut) }
    }

    override public var children: [(String, Module)] {
        [("to_q", toQ), ("to_k", toK), ("to_v", toV), ("to_out.0", toOut)]
    }

    /// x [B, N, dim] attending to `context` [B, L, contextDim] (or to itself); `mask` is an additive
    /// key mask broadcastable to [B, heads, N, L] (see `keyMask(_:)`).
    public func callAsFunction(_ x: Tensor, context: Tensor? = nil, mask: Tensor? = nil) -> Tensor {
        let ctx = context ?? x
        // Unmasked: the tiled kernel reads the heads straight out of the projections.
        guard let mask else { return toOut(Tensor.multiHeadAttention(query: toQ(x), key: toK(ctx), value: toV(ctx), heads: heads)) }
        let B = x.shape[0], N = x.shape[1], L = ctx.shape[1], D = toQ.outFeatures, d = D / heads
        let q = toQ(x).reshaped([B, N, heads, d]).permuted([0, 2, 1, 3])
        let k = toK(ctx).reshaped([B, L, heads, d]).permuted([0, 2, 1, 3])
        let v = toV(ctx).reshaped([B, L, heads, d]).permuted([0, 2, 1, 3])
        let o = Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: mask)
        return toOut(o.permuted([0, 2, 1, 3]).reshaped([B, N, D]))
    }

    /// The additive key mask [B, 1, 1, L] (0 keep, -inf drop) for a 0/1 token mask [B, L].
    public static func keyMask(_ mask: Tensor) -> Tensor {
        precondition(mask.rank == 2, "token mask must be [B, L], got \(mask.shape)")
        return Tensor.attentionMask(keep: mask).reshaped([mask.shape[0], 1, 1, mask.shape[1]])
    }
}

/// Position-wise feed-forward with diffusers' `FeedForward(activation_fn="gelu")` names:
/// `net.0.proj` (dim -> inner, then exact GELU) and `net.2` (inner -> dim).
public final class FeedForward: Module {
    /// Input projection.
    public let proj: Linear
    /// Output projection.
    public let out: Linear

    /// A feed-forward of width `dim` with hidden width `mult * dim`.
    public init(dim: Int, mult: Int = 4, generator: inout RandomGenerator) {
        proj = Linear(dim, dim * mult, generator: &generator)
        out = Linear(dim * mult, dim, generator: &generator)
        super.init()
    }

    override public var children: [(String, Module)] { [("net.0.proj", proj), ("net.2", out)] }

    /// x [..., dim] -> [..., dim].
    public func callAsFunction(_ x: Tensor) -> Tensor { out(proj(x).gelu()) }
}

/// Pre-norm transformer block (diffusers `BasicTransformerBlock`): self-attention, cross-attention
/// to the caption tokens, feed-forward, each with a LayerNorm and a residual connection.
public final class BasicTransformerBlock: Module {
    /// Norm before self-attention.
    public let norm1: LayerNorm
    /// Self-attention.
    public let attn1: Attention
    /// Norm before cross-attention.
    public let norm2: LayerNorm
    /// Cross-attention to the context.
    public let attn2: Attention
    /// Norm before the feed-forward.
    public let norm3: LayerNorm
    /// Feed-forward.
    public let ff: FeedForward

    /// A block of width `dim` attending to context tokens of width `contextDim`.
    public init(dim: Int, heads: Int, contextDim: Int, generator: inout RandomGenerator) {
        norm1 = LayerNorm(dim)
        attn1 = Attention(dim: dim, heads: heads, generator: &generator)
        norm2 = LayerNorm(dim)
        attn2 = Attention(dim: dim, heads: heads, contextDim: contextDim, generator: &generator)
        norm3 = LayerNorm(dim)
        ff = FeedForward(dim: dim, generator: &generator)
        super.init()
    }

    override public var children: [(String, Module)] {
        [("norm1", norm1), ("attn1", attn1), ("norm2", norm2), ("attn2", attn2), ("norm3", norm3), ("ff", ff)]
    }

    /// x [B, N, dim], context [B, L, contextDim], keyMask additive [B, 1, 1, L] or nil.
    public func callAsFunction(_ x: Tensor, context: Tensor, keyMask: Tensor?) -> Tensor {
        let (h1, n2) = norm2(x, adding: attn1(norm1(x)))
        let (h2, n3) = norm3(h1, adding: attn2(n2, context: context, mask: keyMask))
        return h2 + ff(n3)
    }
}

/// Spatial transformer over a feature map (diffusers `Transformer2DModel` with
/// `use_linear_projection = true`): GroupNorm, `proj_in`, transformer blocks over the H*W tokens,
/// `proj_out` (zero-initialized), added back to the input.
public final class Transformer2D: Module {
    /// GroupNorm on the input map.
    public let norm: GroupNorm
    /// Linear projection into the token width.
    public let projIn: Linear
    /// The blocks.
    public let blocks: [BasicTransformerBlock]
    /// Linear projection back to the channels.
    public let projOut: Linear

    /// A spatial transformer on `channels` channels with `heads` heads and `depth` blocks.
    public init(channels: Int, heads: Int, contextDim: Int, groups: Int, depth: Int = 1, zeroInit: Bool = true,
                generator: inout RandomGenerator) {
        norm = GroupNorm(groups: groups, channels: channels, eps: 1e-6)
        projIn = Linear(channels, channels, generator: &generator)
        var bs: [BasicTransformerBlock] = []
        for _ in 0..<depth { bs.append(BasicTransformerBlock(dim: channels, heads: heads, contextDim: contextDim, generator: &generator)) }
        blocks = bs
        projOut = Linear(channels, channels, generator: &generator)
        super.init()
        if zeroInit { zeroParameters(of: projOut) }
    }

    override public var children: [(String, Module)] {
        var c: [(String, Module)] = [("norm", norm), ("proj_in", projIn)]
        for (i, b) in blocks.enumerated() { c.append(("transformer_blocks.\(i)", b)) }
        c.append(("proj_out", projOut))
        return c
    }

    /// x [B, C, H, W] attending to `context` [B, L, D] under `keyMask` -> [B, C, H, W].
    public func callAsFunction(_ x: Tensor, context: Tensor, keyMask: Tensor?) -> Tensor {
        let B = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
        var h = norm(x).permuted([0, 2, 3, 1]).reshaped([B, H * W, C])
        h = projIn(h)
        for b in blocks { h = b(h, context: context, keyMask: keyMask) }
        h = projOut(h)
        return x + h.reshaped([B, H, W, C]).permuted([0, 3, 1, 2])
    }
}
