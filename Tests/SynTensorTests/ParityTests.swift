import Testing
@testable import SynTensor
import SynTestSupport

/// Elementwise ops against PyTorch 2.13 (fixtures from Scripts/fixtures/fixtures_ops.py, elementwise.safetensors).
@Suite struct ElementwiseParityTests {
    let file = Fixtures.elementwise

    @Test func arithmeticWithBroadcasting() {
        checkParity(file, "add_bcast") { $0[0] + $0[1] }
        checkParity(file, "add_transposed") { $0[0].permuted([2, 1, 0]) + $0[1] }
        checkParity(file, "sub_bcast") { $0[0] - $0[1] }
        checkParity(file, "mul_bcast") { $0[0] * $0[1] }
        checkParity(file, "mul_self") { $0[0] * $0[0] }
        checkParity(file, "div_bcast") { $0[0] / $0[1] }
        checkParity(file, "div_transposed") { $0[0] / $0[1].T }
        checkParity(file, "neg") { -$0[0] }
    }

    @Test func scalarArithmetic() {
        checkParityMulti(file, "scalar_ops") { x in
            let a = x[0]
            let ops: [Tensor] = [a + 2.5, 2.5 - a, a * -1.5, a / 4, a - 1, 2.5 + a, -1.5 * a]
            return ops
        }
        checkParity(file, "rdiv_scalar") { 3 / $0[0] }
    }

    @Test func powers() {
        checkParityMulti(file, "pow_scalar") { x in
            let a = x[0]
            return [a.pow(1.7), a.pow(2), a.pow(0.5), a.pow(-1.5), a.pow(3)]
        }
        checkParity(file, "pow_tensor") { $0[0].pow($0[1]) }
        checkParityMulti(file, "pow_scalar_negative_base") { x in [x[0].pow(2), x[0].pow(3), x[0].pow(-1)] }
        checkParityMulti(file, "pow_scalar_zero_base") { x in [x[0].pow(0), x[0].pow(2), x[0].pow(3)] }
        checkParity(file, "pow_tensor_zero_base") { $0[0].pow($0[1]) }
    }

    @Test func unaryMath() {
        checkParity(file, "exp") { $0[0].exp() }
        checkParity(file, "log") { $0[0].log() }
        checkParity(file, "sqrt") { $0[0].sqrt() }
        checkParity(file, "rsqrt") { $0[0].rsqrt() }
        checkParity(file, "abs") { $0[0].abs() }
        checkParity(file, "sin") { $0[0].sin() }
        checkParity(file, "cos") { $0[0].cos() }
        checkParity(file, "tanh") { $0[0].tanh() }
    }

    @Test func activations() {
        checkParity(file, "sigmoid") { $0[0].sigmoid() }
        checkParity(file, "relu") { $0[0].relu() }
        checkParity(file, "gelu_erf") { $0[0].gelu() }
        checkParity(file, "gelu_tanh") { $0[0].gelu(approximateTanh: true) }
        checkParity(file, "silu") { $0[0].silu() }
        checkParityMulti(file, "activations_wide") { x in
            let a = x[0]
            return [a.gelu(), a.gelu(approximateTanh: true), a.sigmoid(), a.silu(), a.tanh(), a.exp()]
        }
    }

    @Test func clampMaximumMinimum() {
        checkParityMulti(file, "clamp") { x in
            [x[0].clamp(min: -0.5, max: 0.7), x[0].clamp(min: -0.2), x[0].clamp(max: 0.3)]
        }
        checkParity(file, "clamp_at_bounds") { $0[0].clamp(min: -0.5, max: 1) }
        checkParity(file, "maximum_bcast") { $0[0].maximum($0[1]) }
        checkParity(file, "minimum_bcast") { $0[0].minimum($0[1]) }
        checkParity(file, "maximum_ties") { $0[0].maximum($0[1]) }
        checkParity(file, "minimum_ties") { $0[0].minimum($0[1]) }
    }

    @Test func whereAndMaskedFill() {
        checkParity(file, "where_bcast") { Tensor.where($0[0], $0[1], $0[2]) }
        checkParity(file, "masked_fill") { $0[0].maskedFill($0[1], -2.5) }
    }

    @Test func views() {
        checkParityMulti(file, "views") { x in
            let a = x[0]
            let outs: [Tensor] = [
                a.transposed(0, 2).reshaped([3, 4]), a.permuted([1, 2, 0]), a.slice(1, 1, 2).expanded([-1, 5, -1]),
                a.unsqueezed(-1), a.select(2, -1), a.narrow(2, start: 1, length: 2), a.slice(2, -3, nil, step: 2),
                a.flattened(from: 1), a.flattened(from: 0, to: 1), a.reshaped([-1, 3]),
                a.unsqueezed(0).unsqueezed(-1).squeezed(), a.T.contiguous(),  // Swift `T` is PyTorch's `mT`
            ]
            return outs
        }
    }

    @Test func creation() {
        expectClose(Tensor.linspace(-1, 2, count: 7), file["creation/linspace_a"], .exact, "linspace(-1, 2, 7)")
        expectClose(Tensor.linspace(0, 1, count: 10), file["creation/linspace_b"], .exact, "linspace(0, 1, 10)")
        expectClose(Tensor.linspace(3, -2, count: 6), file["creation/linspace_c"], .exact, "linspace(3, -2, 6)")
        expectClose(Tensor.arange(0.5, 3, step: 0.3), file["creation/arange_float"], Tolerance(atol: 0, rtol: 1e-6), "arange(0.5, 3, 0.3)")
        expectClose(Tensor.arange(10), file["creation/arange_int"], .exact, "arange(10)")
        expectClose(Tensor.eye(3), file["creation/eye"], .exact, "eye(3)")
    }

    @Test func comparisons() {
        checkParityMulti(file, "comparisons", tol: .exact) { x in
            let a = x[0], b = x[1]
            return [a.greater(b), a.greaterEqual(b), a.less(b), a.lessEqual(b), a.equal(b), a.notEqual(b),
                    a.greater(0.5), a.less(0), a.equal(0.5)]
        }
    }
}
