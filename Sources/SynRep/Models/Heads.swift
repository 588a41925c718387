import SynTensor

/// An MLP head: Linear layers with optional LayerNorm and GELU between them (MoCo v3 projector /
/// predictor shape). Layer k of the MLP is `layers.<3k>` (Linear), `layers.<3k+1>` (norm), `layers.<3k+2>` (act).
public final class MLPHead: Module, UnaryLayer {
    /// The layers in order.
    public let layers: Sequential

    /// dims = [in, hidden..., out]; `norm` adds LayerNorm after each hidden Linear (and after the last if `lastNorm`).
    public init(dims: [Int], norm: Bool = true, lastNorm: Bool = false, generator: inout RandomGenerator) {
        precondition(dims.count >= 2, "MLPHead needs at least [in, out] dims")
        var ls: [any UnaryLayer] = []
        for i in 0..<(dims.count - 1) {
            let last = i == dims.count - 2
            ls.append(Linear(dims[i], dims[i + 1], bias: !(norm && (!last || lastNorm)), weightInit: .vit, generator: &generator))
            if !last {
                if norm { ls.append(LayerNorm(dims[i + 1])) }
                ls.append(Activation(.gelu))
            } else if lastNorm {
                ls.append(LayerNorm(dims[i + 1], affine: false))
            }
        }
        layers = Sequential(ls)
        super.init()
    }

    override public var children: [(String, Module)] { [("layers", layers)] }

    /// x [..., in] -> [..., out].
    public func callAsFunction(_ x: Tensor) -> Tensor { layers(x) }
}

/// iBOT / DINO head: MLP (GELU) to a bottleneck, l2-normalize, then a weight-normalized linear
/// layer to K prototypes with its norm fixed to 1 (`last_layer.weight_g` frozen at 1, `weight_v` trained).
public final class PrototypeHead: Module, UnaryLayer {
    /// Bottleneck MLP.
    public let mlp: MLPHead
    /// Direction of each prototype [K, bottleneck].
    public let weightV: Parameter
    /// Norm of each prototype [K, 1] (frozen at 1, kept for checkpoint compatibility).
    public let weightG: Parameter

    /// dims = [in, hidden..., bottleneck]; `prototypes` = K.
    public init(dims: [Int], prototypes: Int, generator: inout RandomGenerator) {
        mlp = MLPHead(dims: dims, norm: false, generator: &generator)
        weightV = Parameter(Initializer.vit.make([prototypes, dims.last!], generator: &generator))
        weightG = Parameter(.ones([prototypes, 1]), trainable: false)
        super.init()
    }

    override public var ownParameters: [(String, Parameter)] { [("last_layer.weight_g", weightG), ("last_layer.weight_v", weightV)] }
    override public var children: [(String, Module)] { [("mlp", mlp)] }

    /// x [..., in] -> prototype scores [..., K] (cosine similarities times weight_g).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let z = mlp(x).l2Normalized(axis: -1)
        let w = weightV.value.l2Normalized(axis: -1) * weightG.value
        return z.matmul(w.transposed(0, 1))
    }
}
