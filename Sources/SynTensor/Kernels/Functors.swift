// Element functions of the hot elementwise ops, as functor types (see ElementwiseKernels.swift).

struct AddF: BinaryFunctor { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a + b } }
struct SubF: BinaryFunctor { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a - b } }
struct MulF: BinaryFunctor { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a * b } }
struct DivF: BinaryFunctor { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a / b } }
struct NegF: UnaryFunctor { @inline(__always) func callAsFunction(_ x: Float) -> Float { -x } }
struct ScaleF: UnaryFunctor {
    let s: Float
    @inline(__always) func callAsFunction(_ x: Float) -> Float { x * s }
}
struct DivScalarF: UnaryFunctor {
    let s: Float
    @inline(__always) func callAsFunction(_ x: Float) -> Float { x / s }
}
struct ShiftF: UnaryFunctor {
    let s: Float
    @inline(__always) func callAsFunction(_ x: Float) -> Float { x + s }
}
struct ExpF: UnaryFunctor { @inline(__always) func callAsFunction(_ x: Float) -> Float { fastExp(x) } }
struct ReluF: UnaryFunctor { @inline(__always) func callAsFunction(_ x: Float) -> Float { Swift.max(x, 0) } }
/// g * 1[y > 0] (ReLU backward from the output).
struct ReluGradF: BinaryFunctor { @inline(__always) func callAsFunction(_ g: Float, _ y: Float) -> Float { y > 0 ? g : 0 } }
struct GeluF: UnaryFunctor { @inline(__always) func callAsFunction(_ x: Float) -> Float { geluErfScalar(x) } }
/// g * GELU'(x).
struct GeluGradF: BinaryFunctor { @inline(__always) func callAsFunction(_ g: Float, _ x: Float) -> Float { g * geluErfGrad(x) } }
struct GeluTanhF: UnaryFunctor { @inline(__always) func callAsFunction(_ x: Float) -> Float { geluTanhScalar(x) } }
/// g * GELU_tanh'(x).
struct GeluTanhGradF: BinaryFunctor { @inline(__always) func callAsFunction(_ g: Float, _ x: Float) -> Float { g * geluTanhGrad(x) } }
struct SiluF: UnaryFunctor { @inline(__always) func callAsFunction(_ x: Float) -> Float { x * sigmoidScalar(x) } }
/// g * SiLU'(x).
struct SiluGradF: BinaryFunctor {
    @inline(__always) func callAsFunction(_ g: Float, _ x: Float) -> Float {
        let s = sigmoidScalar(x)
        return g * s * (1 + x * (1 - s))
    }
}
struct SigmoidF: UnaryFunctor { @inline(__always) func callAsFunction(_ x: Float) -> Float { sigmoidScalar(x) } }
/// g * y (1 - y) (sigmoid backward from the output).
struct SigmoidGradF: BinaryFunctor { @inline(__always) func callAsFunction(_ g: Float, _ y: Float) -> Float { g * y * (1 - y) } }
struct TanhF: UnaryFunctor { @inline(__always) func callAsFunction(_ x: Float) -> Float { fastTanh(x) } }
/// g (1 - y^2) (tanh backward from the output).
struct TanhGradF: BinaryFunctor { @inline(__always) func callAsFunction(_ g: Float, _ y: Float) -> Float { g * (1 - y * y) } }
