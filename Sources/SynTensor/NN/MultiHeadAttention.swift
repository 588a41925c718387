/// Multi-head attention with PyTorch `nn.MultiheadAttention` parameter names (batch-first inputs).
///
/// Self-attention packs q/k/v into `in_proj_weight` [3E, E]; when keys/values have another width
/// (cross-attention to text tokens) it uses `q_proj_weight`, `k_proj_weight`, `v_proj_weight`.
public final class MultiHeadAttention: Module {
    /// Model width E.
    public let embedDim: Int
    /// Number of heads.
    public let heads: Int
    /// Packed projection [3E, E] (same-width case).
    public let inProjWeight: Parameter?
    /// Separate projections (different key/value widths).
    public let qProjWeight: Parameter?, kProjWeight: Parameter?, vProjWeight: Parameter?
    /// Input projection bias [3E].
    public let inProjBias: Parameter?
    /// Output projection.
    public let outProj: Linear

    /// Attention over `heads` heads of width E / heads; `kdim`/`vdim` default to E.
    public init(embedDim: Int, heads: Int, kdim: Int? = nil, vdim: Int? = nil, bias: Bool = true, generator: inout RandomGenerator) {
        precondition(embedDim % heads == 0, "embedDim \(embedDim) not divisible by heads \(heads)")
        self.embedDim = embedDim
        self.heads = heads
        let kd = kdim ?? embedDim, vd = vdim ?? embedDim
        if kd == embedDim && vd == embedDim {
            inProjWeight = Parameter(Initializer.xavierUniform(gain: 1).make([3 * embedDim, embedDim], generator: &generator))
            qProjWeight = nil; kProjWeight = nil; vProjWeight = nil
        } else {
            inProjWeight = nil
            qProjWeight = Parameter(Initializer.xavierUniform(gain: 1).make([embedDim, embedDim], generator: &generator))
            kProjWeight = Parameter(Initializer.xavierUniform(gain: 1).make([embedDim, kd], generator: &generator))
            vProjWeight = Parameter(Initializer.xavierUniform(gain: 1).make([embedDim, vd], generator: &generator))
        }
        inProjBias = bias ? Parameter(.zeros([3 * embedDim])) : nil
        outProj = Linear(embedDim, embedDim, bias: bias, weightInit: .kaimingUniform(a: Float(5.0.squareRoot())), biasInit: .zeros,
                         generator: &generator)
        super.init()
    }

    override public var ownParameters: [(String, Parameter)] {
        var p: [(String, Parameter)] = []
        if let inProjWeight { p.append(("in_proj_weight", inProjWeight)) }
        if let qProjWeight, let kProjWeight, let vProjWeight {
            p += [("q_proj_weight", qProjWeight), ("k_proj_weight", kProjWeight), ("v_proj_weight", vProjWeight)]
        }
        if let inProjBias { p.append(("in_proj_bias", inProjBias)) }
        return p
    }

    override public var children: [(String, Module)] { [("out_proj", outProj)] }

    /// query [B, Tq, E], key [B, Tk, kdim], value [B, Tk, vdim] -> [B, Tq, E].
    /// `mask` is additive, broadcastable to [B, heads, Tq, Tk].
    public func callAsFunction(query: Tensor, key: Tensor, value: Tensor, mask: Tensor? = nil) -> Tensor {
        let E = embedDim, h = heads, d = E / h
        let q, k, v: Tensor
        let b = inProjBias?.value
        if let w = inProjWeight?.value {
            let ws = w.split(sizes: [E, E, E], axis: 0)
            q = query.matmul(ws[0].T)
            k = key.matmul(ws[1].T)
            v = value.matmul(ws[2].T)
        } else {
            q = query.matmul(qProjWeight!.value.T)
            k = key.matmul(kProjWeight!.value.T)
            v = value.matmul(vProjWeight!.value.T)
        }
        var qb = q, kb = k, vb = v
        if let b {
            let bs = b.split(sizes: [E, E, E], axis: 0)
            qb = q + bs[0]; kb = k + bs[1]; vb = v + bs[2]
        }
        let B = query.shape[0], Tq = query.shape[1], Tk = key.shape[1]
        let qh = qb.reshaped([B, Tq, h, d]).permuted([0, 2, 1, 3])
        let kh = kb.reshaped([B, Tk, h, d]).permuted([0, 2, 1, 3])
        let vh = vb.reshaped([B, Tk, h, d]).permuted([0, 2, 1, 3])
        let o = Tensor.scaledDotProductAttention(query: qh, key: kh, value: vh, mask: mask)
        return outProj(o.permuted([0, 2, 1, 3]).reshaped([B, Tq, E]))
    }

    /// Self-attention over x [B, T, E].
    public func callAsFunction(_ x: Tensor, mask: Tensor? = nil) -> Tensor {
        callAsFunction(query: x, key: x, value: x, mask: mask)
    }
}
