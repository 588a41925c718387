import Testing
@testable import SynTensor
import SynTestSupport

/// Reductions, the softmax family and matmul against PyTorch 2.13 (reductions.safetensors).
@Suite struct ReductionParityTests {
    let file = Fixtures.reductions

    @Test func sumAndMean() {
        checkParity(file, "sum_all") { $0[0].sum() }
        checkParity(file, "sum_axes02_keep") { $0[0].sum(axes: [0, 2], keepDims: true) }
        checkParity(file, "sum_neg1") { $0[0].sum(axis: -1) }
        checkParity(file, "sum_transposed") { $0[0].permuted([2, 0, 1]).sum(axis: 1) }
        checkParity(file, "sum_expanded") { $0[0].expanded([3, 4]).sum(axis: 0) }
        checkParity(file, "mean_axis1") { $0[0].mean(axis: 1) }
        checkParity(file, "mean_axes_neg1_0_keep") { $0[0].mean(axes: [-1, 0], keepDims: true) }
        checkParity(file, "mean_all") { $0[0].mean() }
    }

    @Test func maxAndMin() {
        checkParity(file, "max_axis1") { $0[0].max(axis: 1) }
        checkParity(file, "max_neg1_keep") { $0[0].max(axis: -1, keepDims: true) }
        checkParity(file, "max_all") { $0[0].max() }
        checkParity(file, "max_dim_ties") { $0[0].max(axis: 1) }
        checkParity(file, "max_all_ties") { $0[0].max() }
        checkParity(file, "max_all_1d_ties") { $0[0].max() }
        checkParity(file, "amax_axes02_ties") { $0[0].max(axes: [0, 2]) }
        checkParity(file, "min_axis0_keep") { $0[0].min(axis: 0, keepDims: true) }
        checkParity(file, "min_all") { $0[0].min() }
        checkParity(file, "amin_axes12_keep_ties") { $0[0].min(axes: [1, 2], keepDims: true) }
        checkParityMulti(file, "argmax_argmin", tol: .exact) { x in
            let a = x[0]
            return [a.argmax(axis: 1), a.argmax(axis: -1, keepDims: true), a.argmin(axis: 0), a.argmin(axis: 2, keepDims: true)]
        }
    }

    @Test func variance() {
        checkParity(file, "var_axis2") { $0[0].variance(axis: 2) }
        checkParity(file, "var_axes01_corr0") { $0[0].variance(axes: [0, 1], correction: 0) }
        checkParity(file, "var_axis1_keep") { $0[0].variance(axis: 1, keepDims: true) }
        checkParity(file, "var_all") { $0[0].variance() }
    }

    @Test func logsumexp() {
        checkParity(file, "logsumexp_axis1") { $0[0].logsumexp(axis: 1) }
        checkParity(file, "logsumexp_neg1_keep") { $0[0].logsumexp(axis: -1, keepDims: true) }
        checkParity(file, "logsumexp_axis0_large") { $0[0].logsumexp(axis: 0) }
    }

    @Test func softmaxFamily() {
        checkParity(file, "softmax_neg1") { $0[0].softmax(axis: -1) }
        checkParity(file, "softmax_axis0") { $0[0].softmax(axis: 0) }
        checkParity(file, "softmax_transposed") { $0[0].transposed(0, 2).softmax(axis: 1) }
        checkParity(file, "softmax_large") { $0[0].softmax(axis: -1) }
        checkParity(file, "softmax_sliced") { $0[0].slice(0, 1).slice(1, 2).softmax(axis: -1) }
        let blocked = Tensor(shape: [3, 5], data: [0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0])
        checkParity(file, "softmax_neginf") { $0[0].maskedFill(blocked, -Float.infinity).softmax(axis: -1) }
        checkParity(file, "log_softmax_axis1") { $0[0].logSoftmax(axis: 1) }
        checkParity(file, "log_softmax_neg1") { $0[0].logSoftmax(axis: -1) }
        checkParity(file, "log_softmax_large") { $0[0].logSoftmax(axis: -1) }
    }

    @Test func matmul() {
        for name in ["mm", "bmm_2d", "bmm", "bmm_bcast", "bmm_bcast_left2d", "vec_mm", "mm_vec", "dot", "vec_bmm", "bmm_vec"] {
            checkParity(file, name) { $0[0].matmul($0[1]) }
        }
        checkParity(file, "mm_transposed") { $0[0].T.matmul($0[1].T) }
        checkParity(file, "bmm_transposed") { $0[0].transposed(-2, -1).matmul($0[1].transposed(-2, -1)) }
        checkParity(file, "mm_sliced") { $0[0].slice(0, 1, 4).slice(1, 0, nil, step: 2).matmul($0[1]) }
        checkParity(file, "bmm_expanded") { $0[0].expanded([2, 3, 4]).matmul($0[1]) }
        checkParity(file, "mm_expanded_columns") { $0[0].expanded([3, 4]).matmul($0[1]) }
    }
}
