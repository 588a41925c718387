/// y = x W^T + b with W [out, in] (PyTorch `nn.Linear` layout and default init).
public final class Linear: Module, UnaryLayer {
    /// Weight [outFeatures, inFeatures].
    public let weight: Parameter
    /// Bias [outFeatures], if any.
    public let bias: Parameter?

    /// PyTorch's default init: kaiming-uniform(a = sqrt 5) weight, U(+-1/sqrt(in)) bias.
    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, generator: inout RandomGenerator) {
        weight = Parameter(Initializer.kaimingUniform(a: 5.0.squareRoot().float).make([outFeatures, inFeatures], generator: &generator))
        let bound = 1 / Float(inFeatures).squareRoot()
        self.bias = bias ? Parameter(.uniform([outFeatures], low: -bound, high: bound, generator: &generator)) : nil
        super.init()
    }

    /// A layer with explicit weight and bias initializers.
    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, weightInit: Initializer,
                biasInit: Initializer = .zeros, generator: inout RandomGenerator) {
        weight = Parameter(weightInit.make([outFeatures, inFeatures], generator: &generator))
        self.bias = bias ? Parameter(biasInit.make([outFeatures], generator: &generator)) : nil
        super.init()
    }

    override public var ownParameters: [(String, Parameter)] {
        bias.map { [("weight", weight), ("bias", $0)] } ?? [("weight", weight)]
    }

    /// Input features.
    public var inFeatures: Int { weight.shape[1] }
    /// Output features.
    public var outFeatures: Int { weight.shape[0] }

    /// x [..., in] -> [..., out]; the transpose is a BLAS flag, not a copy.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        x.linear(weight: weight.value, bias: bias?.value)
    }
}

extension Double {
    var float: Float { Float(self) }
}
