/// Layer normalization over the last dimension (PyTorch `nn.LayerNorm`).
public final class LayerNorm: Module, UnaryLayer {
    /// Scale [dim] (nil without affine).
    public let weight: Parameter?
    /// Shift [dim] (nil without affine or bias).
    public let bias: Parameter?
    /// Added to the variance.
    public let eps: Float
    /// Normalized size.
    public let dim: Int

    /// A LayerNorm over `dim` features.
    public init(_ dim: Int, eps: Float = 1e-5, affine: Bool = true, bias: Bool = true) {
        self.dim = dim
        self.eps = eps
        weight = affine ? Parameter(.ones([dim])) : nil
        self.bias = affine && bias ? Parameter(.zeros([dim])) : nil
        super.init()
    }

    override public var ownParameters: [(String, Parameter)] {
        var p: [(String, Parameter)] = []
        if let weight { p.append(("weight", weight)) }
        if let bias { p.append(("bias", bias)) }
        return p
    }

    /// Normalizes x [..., dim].
    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.shape.last == dim, "LayerNorm(\(dim)) got input \(x.shape)")
        return x.layerNorm(weight: weight?.value, bias: bias?.value, eps: eps)
    }

    /// `(x + branch, norm(x + branch))` in one pass (`Tensor.addingLayerNorm`): the residual add of
    /// a pre-norm block fused with the norm that follows it.
    public func callAsFunction(_ x: Tensor, adding branch: Tensor) -> (sum: Tensor, normalized: Tensor) {
        precondition(x.shape.last == dim, "LayerNorm(\(dim)) got input \(x.shape)")
        return x.addingLayerNorm(branch, weight: weight?.value, bias: bias?.value, eps: eps)
    }
}

/// RMS normalization over the last dimension (as in Llama).
public final class RMSNorm: Module, UnaryLayer {
    /// Scale [dim].
    public let weight: Parameter
    /// Added to the mean square.
    public let eps: Float

    /// An RMSNorm over `dim` features.
    public init(_ dim: Int, eps: Float = 1e-6) {
        weight = Parameter(.ones([dim]))
        self.eps = eps
        super.init()
    }

    override public var ownParameters: [(String, Parameter)] { [("weight", weight)] }

    /// Normalizes x [..., dim].
    public func callAsFunction(_ x: Tensor) -> Tensor { x.rmsNorm(weight: weight.value, eps: eps) }
}

/// Group normalization of [N, C, ...] (PyTorch `nn.GroupNorm`).
public final class GroupNorm: Module, UnaryLayer {
    /// Number of channel groups.
    public let groups: Int
    /// Scale [C].
    public let weight: Parameter?
    /// Shift [C].
    public let bias: Parameter?
    /// Added to the variance.
    public let eps: Float

    /// GroupNorm with `groups` groups over `channels` channels.
    public init(groups: Int, channels: Int, eps: Float = 1e-5, affine: Bool = true) {
        precondition(channels % groups == 0, "GroupNorm: \(channels) channels not divisible by \(groups) groups")
        self.groups = groups
        self.eps = eps
        weight = affine ? Parameter(.ones([channels])) : nil
        bias = affine ? Parameter(.zeros([channels])) : nil
        super.init()
    }

    override public var ownParameters: [(String, Parameter)] {
        guard let weight, let bias else { return [] }
        return [("weight", weight), ("bias", bias)]
    }

    /// Normalizes x [N, C, ...].
    public func callAsFunction(_ x: Tensor) -> Tensor {
        x.groupNorm(groups: groups, weight: weight?.value, bias: bias?.value, eps: eps)
    }

    /// SiLU of the normalized x, fused into one pass (`Tensor.groupNormSiLU`).
    public func silu(_ x: Tensor) -> Tensor {
        x.groupNormSiLU(groups: groups, weight: weight?.value, bias: bias?.value, eps: eps)
    }
}

/// Lookup table of `count` vectors of size `dim` (PyTorch `nn.Embedding`, N(0, 1) init).
public final class Embedding: Module {
    /// Table [count, dim].
    public let weight: Parameter

    /// A table initialized from N(0, 1).
    public init(_ count: Int, _ dim: Int, generator: inout RandomGenerator) {
        weight = Parameter(.randn([count, dim], generator: &generator))
        super.init()
    }

    override public var ownParameters: [(String, Parameter)] { [("weight", weight)] }

    /// Rows for `ids`, shaped `shape + [dim]` (default [ids.count, dim]).
    public func callAsFunction(_ ids: [Int], shape: [Int]? = nil) -> Tensor {
        let e = weight.value.embedding(ids)
        if let shape { return e.reshaped(shape + [weight.shape[1]]) }
        return e
    }
}

/// 2-D convolution (PyTorch `nn.Conv2d` layout and default init).
public final class Conv2d: Module, UnaryLayer {
    /// Weight [out, in/groups, kh, kw].
    public let weight: Parameter
    /// Bias [out].
    public let bias: Parameter?
    /// Stride (h, w).
    public let stride: (Int, Int)
    /// Zero padding (h, w).
    public let padding: (Int, Int)
    /// Dilation (h, w).
    public let dilation: (Int, Int)
    /// Channel groups.
    public let groups: Int

    /// A convolution with PyTorch's default kaiming-uniform(a = sqrt 5) init.
    public init(_ inChannels: Int, _ outChannels: Int, kernel: (Int, Int), stride: (Int, Int) = (1, 1),
                padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), groups: Int = 1, bias: Bool = true,
                generator: inout RandomGenerator) {
        let shape = [outChannels, inChannels / groups, kernel.0, kernel.1]
        weight = Parameter(Initializer.kaimingUniform(a: Float(5.0.squareRoot())).make(shape, generator: &generator))
        let fanIn = Float(inChannels / groups * kernel.0 * kernel.1)
        let bound = 1 / fanIn.squareRoot()
        self.bias = bias ? Parameter(.uniform([outChannels], low: -bound, high: bound, generator: &generator)) : nil
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
        super.init()
    }

    /// Square-kernel convenience initializer.
    public convenience init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                            groups: Int = 1, bias: Bool = true, generator: inout RandomGenerator) {
        self.init(inChannels, outChannels, kernel: (kernelSize, kernelSize), stride: (stride, stride),
                  padding: (padding, padding), groups: groups, bias: bias, generator: &generator)
    }

    override public var ownParameters: [(String, Parameter)] {
        bias.map { [("weight", weight), ("bias", $0)] } ?? [("weight", weight)]
    }

    /// x [N, C, H, W] -> [N, O, Ho, Wo].
    public func callAsFunction(_ x: Tensor) -> Tensor {
        x.conv2d(weight: weight.value, bias: bias?.value, stride: stride, padding: padding, dilation: dilation, groups: groups)
    }

    /// `self(x) + channelShift.reshaped([N, O, 1, 1]) + residual` with the adds done as the
    /// convolution writes its output (`Tensor.conv2d(weight:bias:stride:padding:dilation:groups:channelShift:residual:)`).
    public func callAsFunction(_ x: Tensor, channelShift: Tensor? = nil, residual: Tensor? = nil) -> Tensor {
        x.conv2d(weight: weight.value, bias: bias?.value, stride: stride, padding: padding, dilation: dilation, groups: groups,
                 channelShift: channelShift, residual: residual)
    }
}

/// Randomly zeroes activations in training mode (PyTorch `nn.Dropout`).
public final class Dropout: Module, UnaryLayer {
    /// Drop probability.
    public let p: Float

    /// Dropout with probability `p`.
    public init(_ p: Float) {
        self.p = p
        super.init()
    }

    /// Applies dropout using this module's random stream.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        x.dropout(p, training: isTraining, generator: &randomGenerator)
    }
}

/// Elementwise activation as a layer.
public final class Activation: Module, UnaryLayer {
    /// Supported activations.
    public enum Kind: String, Sendable, Codable {
        /// Exact (erf) GELU.
        case gelu
        /// GELU with the tanh approximation.
        case geluTanh
        /// ReLU.
        case relu
        /// SiLU / swish.
        case silu
        /// tanh.
        case tanh
        /// Identity.
        case identity
    }
    /// Which activation.
    public let kind: Kind

    /// An activation layer.
    public init(_ kind: Kind) {
        self.kind = kind
        super.init()
    }

    /// Applies the activation.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        switch kind {
        case .gelu: return x.gelu()
        case .geluTanh: return x.gelu(approximateTanh: true)
        case .relu: return x.relu()
        case .silu: return x.silu()
        case .tanh: return x.tanh()
        case .identity: return x
        }
    }
}

/// Layers applied in order, named "0", "1", ... as in PyTorch `nn.Sequential`.
public final class Sequential: Module, UnaryLayer {
    /// The layers.
    public let layers: [any UnaryLayer]

    /// A sequence of layers.
    public init(_ layers: [any UnaryLayer]) {
        self.layers = layers
        super.init()
    }

    override public var children: [(String, Module)] { layers.enumerated().map { (String($0.offset), $0.element) } }

    /// Applies each layer in turn.
    public func callAsFunction(_ x: Tensor) -> Tensor { layers.reduce(x) { $1($0) } }
}

/// Two-layer perceptron fc1 -> activation -> fc2 (timm `Mlp` names).
public final class MLP: Module, UnaryLayer {
    /// First projection.
    public let fc1: Linear
    /// Second projection.
    public let fc2: Linear
    /// Hidden activation.
    public let activation: Activation.Kind

    /// An MLP in -> hidden -> out.
    public init(_ inFeatures: Int, hidden: Int, out: Int? = nil, activation: Activation.Kind = .gelu,
                weightInit: Initializer? = nil, generator: inout RandomGenerator) {
        if let weightInit {
            fc1 = Linear(inFeatures, hidden, weightInit: weightInit, generator: &generator)
            fc2 = Linear(hidden, out ?? inFeatures, weightInit: weightInit, generator: &generator)
        } else {
            fc1 = Linear(inFeatures, hidden, generator: &generator)
            fc2 = Linear(hidden, out ?? inFeatures, generator: &generator)
        }
        self.activation = activation
        super.init()
    }

    override public var children: [(String, Module)] { [("fc1", fc1), ("fc2", fc2)] }

    /// x [..., in] -> [..., out]; with GELU the hidden activation is recomputed in the backward pass
    /// instead of stored (`Tensor.geluLinear`, same values and gradients).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        if activation == .gelu { return fc1(x).geluLinear(weight: fc2.weight.value, bias: fc2.bias?.value) }
        return fc2(Activation(activation)(fc1(x)))
    }
}
