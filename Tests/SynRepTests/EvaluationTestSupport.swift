import Foundation
@testable import SynRep
import SynTensor

/// Synthetic labeled features for the evaluation tests.
enum EvalData {
    /// Gaussian blobs: class c has mean `separation * e_c` (c < dim) and identity covariance.
    static func blobs(perClass: Int, classes: Int, dim: Int, separation: Float, seed: UInt64) -> LabeledFeatures {
        var g = RandomGenerator(seed: seed)
        var data: [Float] = []
        var labels: [Int] = []
        for i in 0..<(perClass * classes) {
            let c = i % classes
            for j in 0..<dim { data.append(g.normal() + (j == c ? separation : 0)) }
            labels.append(c)
        }
        return try! LabeledFeatures(features: Tensor(shape: [labels.count, dim], data: data), labels: labels)
    }

    /// Two classes with means +-a along the first axis and unit variance: Bayes accuracy Phi(a).
    static func twoGaussians(count: Int, dim: Int, a: Float, seed: UInt64) -> LabeledFeatures {
        var g = RandomGenerator(seed: seed)
        var data: [Float] = []
        var labels: [Int] = []
        for i in 0..<count {
            let c = i % 2
            for j in 0..<dim { data.append(g.normal() + (j == 0 ? (c == 0 ? -a : a) : 0)) }
            labels.append(c)
        }
        return try! LabeledFeatures(features: Tensor(shape: [count, dim], data: data), labels: labels)
    }

    /// Standard-normal features with labels drawn independently of them.
    static func randomLabels(count: Int, classes: Int, dim: Int, seed: UInt64) -> LabeledFeatures {
        var g = RandomGenerator(seed: seed)
        let data = (0..<(count * dim)).map { _ in g.normal() }
        let labels = (0..<count).map { _ in g.int(below: classes) }
        return try! LabeledFeatures(features: Tensor(shape: [count, dim], data: data), labels: labels)
    }

    /// Standard normal CDF.
    static func phi(_ x: Double) -> Double { 0.5 * erfc(-x / 2.0.squareRoot()) }

    /// A fast probe configuration for debug-build tests.
    static let quickProbe = LinearProbeConfig(
        regularizationGrid: LinearProbeConfig.logSpaced(from: 1e-4, to: 1e2, count: 7), refinementSteps: 1)
}

/// Reference multinomial logistic objective in Double: sum CE + lambda ||W||^2, divided by N.
func referenceLogistic(x: [Double], labels: [Int], dim: Int, classes: Int, lambda: Double,
                       theta: [Double]) -> (value: Double, gradient: [Double]) {
    let n = labels.count
    var grad = [Double](repeating: 0, count: theta.count)
    var loss = 0.0
    for i in 0..<n {
        var z = [Double](repeating: 0, count: classes)
        for c in 0..<classes {
            var s = theta[dim * classes + c]
            for j in 0..<dim { s += x[i * dim + j] * theta[j * classes + c] }
            z[c] = s
        }
        let m = z.max()!
        let lse = m + log(z.reduce(0) { $0 + exp($1 - m) })
        loss += lse - z[labels[i]]
        for c in 0..<classes {
            let r = exp(z[c] - lse) - (c == labels[i] ? 1 : 0)
            for j in 0..<dim { grad[j * classes + c] += r * x[i * dim + j] }
            grad[dim * classes + c] += r
        }
    }
    var penalty = 0.0
    for k in 0..<(dim * classes) {
        penalty += theta[k] * theta[k]
        grad[k] += 2 * lambda * theta[k]
    }
    return ((loss + lambda * penalty) / Double(n), grad.map { $0 / Double(n) })
}
