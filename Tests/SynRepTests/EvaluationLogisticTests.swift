import Foundation
import Testing
@testable import SynRep
import SynTensor
import SynTestSupport

@Suite("Evaluation: logistic regression")
struct EvaluationLogisticTests {
    private struct Solution: Decodable {
        let C: Double
        let lambda: Double
        let weights: [Double]
        let bias: [Double]
        let objective_sum: Double
        let probabilities: [Double]
    }

    private struct Fixture: Decodable {
        let dimension: Int
        let classes: Int
        let features: [Double]
        let labels: [Int]
        let solutions: [Solution]
    }

    private func smallProblem(seed: UInt64) -> (x: [Double], labels: [Int], theta: [Double]) {
        var g = RandomGenerator(seed: seed)
        let x = (0..<(40 * 4)).map { _ in Double(Float(g.normal())) }
        let labels = (0..<40).map { _ in g.int(below: 3) }
        let theta = (0..<15).map { _ in Double(g.normal()) * 0.5 }
        return (x, labels, theta)
    }

    @Test("Objective and gradient match a Double reference, which matches finite differences")
    func gradientCheck() {
        let (x, labels, theta) = smallProblem(seed: 21)
        let lambda = 0.7
        let fast = LogisticObjective(x: Tensor(shape: [40, 4], data: x.map { Float($0) }), labels: labels,
                                     classCount: 3, regularization: lambda)
        var g = [Double](repeating: 0, count: theta.count)
        let f = fast(theta, &g)
        let ref = referenceLogistic(x: x, labels: labels, dim: 4, classes: 3, lambda: lambda, theta: theta)
        #expect(abs(f - ref.value) < 1e-5)
        for k in 0..<theta.count { #expect(abs(g[k] - ref.gradient[k]) < 1e-5, "component \(k)") }
        // Central differences of the reference in Double.
        let h = 1e-6
        for k in 0..<theta.count {
            var p = theta, m = theta
            p[k] += h
            m[k] -= h
            let fd = (referenceLogistic(x: x, labels: labels, dim: 4, classes: 3, lambda: lambda, theta: p).value
                - referenceLogistic(x: x, labels: labels, dim: 4, classes: 3, lambda: lambda, theta: m).value) / (2 * h)
            #expect(abs(fd - ref.gradient[k]) < 1e-7, "component \(k): fd \(fd) vs \(ref.gradient[k])")
        }
        // And coarse central differences of the single-precision objective itself.
        let hf = 1e-2
        var scratch = g
        for k in 0..<theta.count {
            var p = theta, m = theta
            p[k] += hf
            m[k] -= hf
            let fd = (fast(p, &scratch) - fast(m, &scratch)) / (2 * hf)
            #expect(abs(fd - g[k]) < 2e-4, "component \(k): fd \(fd) vs \(g[k])")
        }
    }

    @Test("Fit matches scikit-learn's LogisticRegression (committed fixture)")
    func matchesSklearn() throws {
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(sklearnLogisticFixtureJSON.utf8))
        let n = fixture.labels.count, d = fixture.dimension, c = fixture.classes
        let x = Tensor(shape: [n, d], data: fixture.features.map { Float($0) })
        for s in fixture.solutions {
            let fit = LogisticRegression.fit(features: x, labels: fixture.labels, classCount: c, regularization: s.lambda,
                                             options: LBFGSOptions(maxIterations: 2000, gradientTolerance: 1e-7))
            let wScale = s.weights.map { abs($0) }.max()!
            let wErr = zip(fit.model.weights, s.weights).map { abs($0 - $1) }.max()!
            #expect(wErr < 1e-3 * max(1, wScale), "C=\(s.C): weight error \(wErr) (scale \(wScale))")
            // Softmax is invariant to a shared bias shift; compare centred biases.
            let mine = fit.model.bias.map { $0 - fit.model.bias.reduce(0, +) / Double(c) }
            let theirs = s.bias.map { $0 - s.bias.reduce(0, +) / Double(c) }
            #expect(zip(mine, theirs).allSatisfy { abs($0 - $1) < 1e-3 * max(1, wScale) }, "C=\(s.C): bias \(mine) vs \(theirs)")
            let probs = fit.model.logits(x).softmax(axis: 1).scalars
            let pErr = zip(probs, s.probabilities).map { abs(Double($0) - $1) }.max()!
            #expect(pErr < 1e-4, "C=\(s.C): probability error \(pErr)")
            #expect(abs(fit.optimizer.value * Double(n) - s.objective_sum) < 1e-5 * s.objective_sum)
            // Optimality under an independent Double evaluation of the gradient.
            let ref = referenceLogistic(x: fixture.features, labels: fixture.labels, dim: d, classes: c,
                                        lambda: s.lambda, theta: fit.model.weights + fit.model.bias)
            #expect(ref.gradient.map { abs($0) }.max()! < 1e-5)
        }
    }

    @Test("Separable data without regularization: perfect train accuracy and the iteration cap holds")
    func separable() {
        let data = EvalData.blobs(perClass: 30, classes: 3, dim: 3, separation: 8, seed: 31)
        let fit = LogisticRegression.fit(features: data.features, labels: data.labels, classCount: 3, regularization: 0,
                                         options: LBFGSOptions(maxIterations: 50))
        #expect(fit.optimizer.iterations <= 50)
        #expect(fit.model.predict(data.features) == data.labels)
    }
}
