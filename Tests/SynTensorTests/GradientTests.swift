import Testing
@testable import SynTensor

/// Finite-difference checks of every differentiable op.
@Suite struct GradientTests {
    let a = testTensor([2, 3], seed: 1)
    let b = testTensor([2, 3], seed: 2)
    let row = testTensor([3], seed: 3)
    let pos = testTensor([2, 3], seed: 4, low: 0.5, high: 2)

    @Test func arithmetic() {
        checkGradients([a, row]) { $0[0] + $0[1] }
        checkGradients([a, row]) { $0[0] - $0[1] }
        checkGradients([a, b]) { $0[0] * $0[1] }
        checkGradients([a, pos]) { $0[0] / $0[1] }
        checkGradients([a]) { -$0[0] * 3 + 2 }
        checkGradients([pos]) { 2 / $0[0] - 1 }
        checkGradients([pos]) { $0[0].pow(1.7) }
        checkGradients([pos, a]) { $0[0].pow($0[1]) }
        checkGradients([a, b]) { $0[0].maximum($0[1]) }
        checkGradients([a, b]) { $0[0].minimum($0[1]) }
        checkGradients([a]) { $0[0].clamp(min: -0.5, max: 0.5) }
    }

    @Test func unary() {
        checkGradients([a]) { $0[0].exp() }
        checkGradients([pos]) { $0[0].log() }
        checkGradients([pos]) { $0[0].sqrt() }
        checkGradients([pos]) { $0[0].rsqrt() }
        checkGradients([a]) { $0[0].abs() }
        checkGradients([a]) { $0[0].tanh() }
        checkGradients([a]) { $0[0].sigmoid() }
        checkGradients([a]) { $0[0].relu() }
        checkGradients([a]) { $0[0].gelu() }
        checkGradients([a]) { $0[0].gelu(approximateTanh: true) }
        checkGradients([a]) { $0[0].silu() }
        checkGradients([a]) { $0[0].sin() }
        checkGradients([a]) { $0[0].cos() }
    }

    @Test func whereAndMask() {
        let cond = Tensor(shape: [2, 3], data: [1, 0, 1, 0, 0, 1])
        checkGradients([a, b]) { Tensor.where(cond, $0[0], $0[1]) }
        checkGradients([a]) { $0[0].maskedFill(cond, 5) }
    }

    @Test func reductions() {
        let x = testTensor([2, 3, 4], seed: 5)
        checkGradients([x]) { $0[0].sum() }
        checkGradients([x]) { $0[0].sum(axes: [0, 2], keepDims: true) }
        checkGradients([x]) { $0[0].mean(axis: 1) }
        checkGradients([x]) { $0[0].variance(axis: 2) }
        checkGradients([x]) { $0[0].variance(axes: [0, 1], correction: 0) }
        checkGradients([x]) { $0[0].max(axis: 1) }
        checkGradients([x]) { $0[0].min(axis: 0, keepDims: true) }
        checkGradients([x]) { $0[0].max() }
        checkGradients([x]) { $0[0].logsumexp(axis: 1) }
        checkGradients([x]) { $0[0].softmax(axis: -1) }
        checkGradients([x]) { $0[0].softmax(axis: 0) }
        checkGradients([x]) { $0[0].logSoftmax(axis: 1) }
    }

    @Test func matmul() {
        let m = testTensor([3, 4], seed: 6), n = testTensor([4, 2], seed: 7)
        checkGradients([m, n]) { $0[0].matmul($0[1]) }
        let bm = testTensor([2, 3, 4], seed: 8)
        checkGradients([bm, n]) { $0[0].matmul($0[1]) }
        let bn = testTensor([2, 4, 2], seed: 9)
        checkGradients([bm, bn]) { $0[0].matmul($0[1]) }
        checkGradients([bm, bn]) { $0[1].transposed(-2, -1).matmul($0[0].transposed(-2, -1)) }
        let bb = testTensor([1, 4, 2], seed: 10)
        checkGradients([bm, bb]) { $0[0].matmul($0[1]) }
        let v = testTensor([4], seed: 11)
        checkGradients([m, v]) { $0[0].matmul($0[1]) }
    }

    @Test func views() {
        let x = testTensor([2, 3, 4], seed: 12)
        checkGradients([x]) { $0[0].reshaped([6, 4]) * 2 }
        checkGradients([x]) { $0[0].permuted([2, 0, 1]).contiguous() }
        checkGradients([x]) { $0[0].transposed(0, 2) * 1.5 }
        checkGradients([row]) { $0[0].expanded([4, 3]) }
        checkGradients([x]) { $0[0].slice(2, 1, 3) }
        checkGradients([x]) { $0[0].slice(2, 0, 4, step: 2) }
        checkGradients([x]) { $0[0].select(1, 2) }
        checkGradients([x]) { $0[0].unsqueezed(1).squeezed(1) * 2 }
        checkGradients([x]) { $0[0].flattened(from: 1) }
    }

    @Test func joining() {
        let x = testTensor([2, 3], seed: 13), y = testTensor([2, 2], seed: 14)
        checkGradients([x, y]) { Tensor.concatenate([$0[0], $0[1]], axis: 1) }
        checkGradients([x, b]) { Tensor.stack([$0[0], $0[1]], axis: 1) }
        checkGradients([x]) { Tensor.concatenate($0[0].split(sizes: [1, 2], axis: 1).reversed(), axis: 1) }
        checkGradients([x]) { $0[0].chunked(2, axis: 1)[0] }
        checkGradients([testTensor([1, 1, 2, 3], seed: 15)]) { $0[0].padded2d(top: 1, bottom: 0, left: 2, right: 1) }
    }

    @Test func indexing() {
        let table = testTensor([5, 3], seed: 16)
        checkGradients([table]) { $0[0].embedding([4, 0, 4, 2]) }
        checkGradients([table]) { $0[0].indexSelect(axis: 1, indices: [2, 2, 0]) }
        let idx = Tensor(shape: [5, 2], data: [0, 2, 1, 1, 2, 0, 0, 0, 1, 2])
        checkGradients([table]) { $0[0].gather(axis: 1, index: idx) }
    }

    @Test func norms() {
        let x = testTensor([3, 5], seed: 17), w = testTensor([5], seed: 18), bias = testTensor([5], seed: 19)
        let bias4 = testTensor([4], seed: 25)
        checkGradients([x, w, bias]) { $0[0].layerNorm(weight: $0[1], bias: $0[2], eps: 1e-5) }
        checkGradients([x]) { $0[0].layerNorm(weight: nil, bias: nil) }
        let proj = testTensor([4, 5], seed: 24)
        checkGradients([x, proj, bias4]) { $0[0].geluLinear(weight: $0[1], bias: $0[2]) }
        let branch = testTensor([3, 5], seed: 23)
        checkGradients([x, branch, w, bias]) {
            let (sum, normed) = $0[0].addingLayerNorm($0[1], weight: $0[2], bias: $0[3], eps: 1e-5)
            return sum * 0.5 + normed
        }
        checkGradients([x, w]) { $0[0].rmsNorm(weight: $0[1]) }
        let img = testTensor([2, 4, 2, 3], seed: 20), gw = testTensor([4], seed: 21), gb = testTensor([4], seed: 22)
        checkGradients([img, gw, gb]) { $0[0].groupNorm(groups: 2, weight: $0[1], bias: $0[2]) }
        checkGradients([img, gw, gb]) { $0[0].groupNormSiLU(groups: 2, weight: $0[1], bias: $0[2]) }
        checkGradients([x]) { $0[0].l2Normalized(axis: -1) }
        checkGradients([x]) { $0[0].l2Normalized(axis: 0) }
    }

    @Test func convolution() {
        let x = testTensor([2, 2, 5, 5], seed: 23), w = testTensor([3, 2, 3, 3], seed: 24), bias = testTensor([3], seed: 25)
        checkGradients([x, w, bias]) { $0[0].conv2d(weight: $0[1], bias: $0[2], padding: (1, 1)) }
        checkGradients([x, w]) { $0[0].conv2d(weight: $0[1], stride: (2, 2), padding: (1, 0)) }
        let wg = testTensor([4, 1, 2, 2], seed: 26)
        checkGradients([x, wg]) { $0[0].conv2d(weight: $0[1], stride: (1, 2), groups: 2) }
        checkGradients([x, w]) { $0[0].conv2d(weight: $0[1], padding: (2, 2), dilation: (2, 2)) }
    }

    @Test func poolingAndResize() {
        let x = testTensor([1, 2, 4, 5], seed: 27)
        checkGradients([x]) { $0[0].maxPool2d(kernel: (2, 2)) }
        checkGradients([x]) { $0[0].maxPool2d(kernel: (3, 3), stride: (1, 2), padding: (1, 1)) }
        checkGradients([x]) { $0[0].avgPool2d(kernel: (2, 2)) }
        checkGradients([x]) { $0[0].avgPool2d(kernel: (3, 3), stride: (2, 2), padding: (1, 1)) }
        checkGradients([x]) { $0[0].avgPool2d(kernel: (3, 3), stride: (2, 2), padding: (1, 1), countIncludePad: false) }
        for mode in [ResizeMode.nearest, .bilinear, .bicubic] {
            checkGradients([x]) { $0[0].resized(height: 7, width: 3, mode: mode) }
            checkGradients([x]) { $0[0].resized(height: 2, width: 8, mode: mode, alignCorners: mode != .nearest) }
        }
    }

    @Test func lossesAndAttention() {
        let logits = testTensor([3, 4], seed: 28)
        checkGradients([logits]) { $0[0].crossEntropy(labels: [0, 3, 1]) }
        checkGradients([logits]) { $0[0].crossEntropy(labels: [0, 3, 1], labelSmoothing: 0.1) }
        let p = testTensor([3, 4], seed: 29, low: 0, high: 1)
        checkGradients([logits]) { $0[0].crossEntropy(targets: p) }
        checkGradients([logits, b.reshaped([3, 2]).matmul(testTensor([2, 4], seed: 30))]) { $0[0].mseLoss($0[1]) }
        let q = testTensor([2, 2, 3, 4], seed: 31), k = testTensor([2, 2, 5, 4], seed: 32), v = testTensor([2, 2, 5, 3], seed: 33)
        checkGradients([q, k, v]) { Tensor.scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2]) }
        let keep = Tensor(shape: [1, 1, 3, 5], data: [1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 0, 0])
        let mask = Tensor.attentionMask(keep: keep)
        checkGradients([q, k, v]) { Tensor.scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], mask: mask) }
    }
}
