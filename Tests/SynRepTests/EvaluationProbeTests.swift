import Foundation
import Testing
@testable import SynRep
import SynTensor

@Suite("Evaluation: linear probe")
struct EvaluationProbeTests {
    @Test("Stratified split is deterministic, disjoint, complete and per-class proportional")
    func split() {
        let labels = (0..<103).map { $0 % 4 == 3 ? 3 : $0 % 3 } + [7]
        let s = StratifiedSplit(labels: labels, validationFraction: 0.25, seed: 5)
        #expect(s == StratifiedSplit(labels: labels, validationFraction: 0.25, seed: 5))
        #expect(s != StratifiedSplit(labels: labels, validationFraction: 0.25, seed: 6))
        #expect(Set(s.train).isDisjoint(with: s.validation))
        #expect((s.train + s.validation).sorted() == Array(0..<labels.count))
        for c in Set(labels) {
            let total = labels.filter { $0 == c }.count
            let held = s.validation.filter { labels[$0] == c }.count
            if total == 1 { #expect(held == 0) } else { #expect(held == Int((0.25 * Double(total)).rounded())) }
        }
    }

    @Test("Standardizer: zero mean, unit variance on fitted rows; constant features keep scale 1")
    func standardizer() {
        var g = RandomGenerator(seed: 41)
        let data = (0..<(50 * 3)).map { i in i % 3 == 2 ? 5 : g.normal() * 3 + 2 }
        let x = Tensor(shape: [50, 3], data: data)
        let s = FeatureStandardizer(fitting: x)
        #expect(s.scale[2] == 1 && s.mean[2] == 5)
        let z = s.transform(x).scalars
        for j in 0..<2 {
            let col = (0..<50).map { Double(z[$0 * 3 + j]) }
            let mean = col.reduce(0, +) / 50
            let variance = col.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 50
            #expect(abs(mean) < 1e-5 && abs(variance - 1) < 1e-4)
        }
    }

    @Test("Well-separated blobs: > 95% top-1 and mean per-class")
    func separated() throws {
        let train = EvalData.blobs(perClass: 100, classes: 5, dim: 10, separation: 4, seed: 51)
        let test = EvalData.blobs(perClass: 60, classes: 5, dim: 10, separation: 4, seed: 52)
        var seen = 0
        let r = try LinearProbe(config: EvalData.quickProbe).evaluate(train: train, test: test) { _ in seen += 1 }
        #expect(r.top1 > 95 && r.meanPerClass > 95)
        #expect(seen == r.validationCurve.count && seen >= 4)
        #expect(r.validationCurve.map(\.regularization) == r.validationCurve.map(\.regularization).sorted())
        #expect(r.sweepTrainCount + r.validationCount == r.trainCount && r.validationCount == 100)
        #expect(r.classCount == 5 && r.dimension == 10 && r.testCount == 300)
    }

    @Test("Patience stops the coarse walk; nil walks the whole grid")
    func patience() throws {
        let train = EvalData.blobs(perClass: 60, classes: 3, dim: 6, separation: 2, seed: 55)
        let test = EvalData.blobs(perClass: 20, classes: 3, dim: 6, separation: 2, seed: 56)
        let grid = LinearProbeConfig.logSpaced(from: 1e-3, to: 1e3, count: 7)
        let all = try LinearProbe(config: LinearProbeConfig(regularizationGrid: grid, refinementSteps: 0, patience: nil))
            .evaluate(train: train, test: test)
        #expect(all.validationCurve.map(\.regularization) == grid)
        let early = try LinearProbe(config: LinearProbeConfig(regularizationGrid: grid, refinementSteps: 0, patience: 2))
            .evaluate(train: train, test: test)
        // Walked strong to weak: stopped exactly when 2 values in a row failed to beat the best so far.
        let walked = early.validationCurve.sorted { $0.regularization > $1.regularization }.map(\.accuracy)
        var best = -1.0, since = 0
        for (i, a) in walked.enumerated() {
            if a > best { best = a; since = 0 } else { since += 1 }
            if since == 2 { #expect(i == walked.count - 1) }
        }
        #expect(since == 2 || walked.count == grid.count)
        // The same warm-started path: identical fits where both walked.
        let shared = all.validationCurve.suffix(early.validationCurve.count)
        #expect(zip(shared, early.validationCurve).allSatisfy { $0.regularization == $1.regularization && $0.accuracy == $1.accuracy })
        let chosen = early.validationCurve.max { $0.accuracy < $1.accuracy || ($0.accuracy == $1.accuracy && $0.regularization < $1.regularization) }!
        #expect(early.regularization == chosen.regularization)
    }

    @Test("Overlapping Gaussians: accuracy near the Bayes rate Phi(1) = 84.1%")
    func bayesRate() throws {
        let train = EvalData.twoGaussians(count: 1500, dim: 5, a: 1, seed: 61)
        let test = EvalData.twoGaussians(count: 3000, dim: 5, a: 1, seed: 62)
        let bayes = 100 * EvalData.phi(1)
        let r = try LinearProbe(config: EvalData.quickProbe).evaluate(train: train, test: test)
        #expect(abs(r.top1 - bayes) < 2.5, "probe \(r.top1) vs Bayes \(bayes)")
        #expect(r.top1 < bayes + 2.5)
    }

    @Test("Random labels: test accuracy near chance")
    func randomLabels() throws {
        let train = EvalData.randomLabels(count: 600, classes: 4, dim: 6, seed: 71)
        let test = EvalData.randomLabels(count: 1000, classes: 4, dim: 6, seed: 72)
        let r = try LinearProbe(config: EvalData.quickProbe).evaluate(train: train, test: test)
        #expect(abs(r.top1 - 25) < 5, "accuracy \(r.top1)")
    }

    @Test("Raw-pixel baseline: 784-d flattened images go through kNN and the probe")
    func rawPixels() throws {
        // Two stroke patterns (vertical vs horizontal bar) plus pixel noise, as [N, 1, 28, 28].
        func images(_ n: Int, seed: UInt64) -> (Tensor, [Int]) {
            var g = RandomGenerator(seed: seed)
            var data: [Float] = []
            var labels: [Int] = []
            for i in 0..<n {
                let c = i % 2, offset = g.int(below: 10) + 9
                for r in 0..<28 { for col in 0..<28 {
                    let on = c == 0 ? (col >= offset && col < offset + 3) : (r >= offset && r < offset + 3)
                    data.append((on ? 0.8 : 0) + 0.2 * g.uniform())
                } }
                labels.append(c)
            }
            return (Tensor(shape: [n, 1, 28, 28], data: data), labels)
        }
        let (trainImages, trainLabels) = images(120, seed: 81)
        let (testImages, testLabels) = images(60, seed: 82)
        let train = try LabeledFeatures(features: RawPixelBaseline.features(trainImages), labels: trainLabels)
        let test = try LabeledFeatures(features: RawPixelBaseline.features(testImages), labels: testLabels)
        #expect(train.dimension == 784)
        let report = try Evaluation.run(train: train, test: test, name: "raw-pixels",
                                        linear: LinearProbeConfig(regularizationGrid: [1e-2, 1, 1e2], refinementSteps: 0))
        #expect(report.knn!.top1 > 90)
        #expect(report.linear!.top1 > 90)
    }

    @Test("Invalid probe settings are rejected")
    func invalidConfig() {
        let data = EvalData.blobs(perClass: 5, classes: 2, dim: 2, separation: 3, seed: 91)
        #expect(throws: ParameterError.self) {
            try LinearProbe(config: LinearProbeConfig(regularizationGrid: [])).evaluate(train: data, test: data)
        }
        #expect(throws: ParameterError.self) {
            try LinearProbe(config: LinearProbeConfig(validationFraction: 0)).evaluate(train: data, test: data)
        }
        // `synclr eval --probe-grid 0` used to stop in logSpaced's precondition; now the empty grid is
        // refused by name, before the kNN pass runs.
        #expect(LinearProbeConfig.logSpaced(from: 1e-6, to: 1e5, count: 0).isEmpty)
        do {
            _ = try Evaluation.run(train: data, test: data,
                                   linear: LinearProbeConfig(regularizationGrid: LinearProbeConfig.logSpaced(from: 1e-6, to: 1e5, count: 0)))
            Issue.record("an empty grid was accepted")
        } catch let e as ParameterError {
            #expect(e.parameter == "regularizationGrid" && "\(e)".contains("at least 1 value"), "\(e)")
        } catch { Issue.record("unexpected \(error)") }
        #expect(throws: ParameterError("k", 0, allowed: ">= 1")) {
            try Evaluation.run(train: data, test: data, knn: KNNConfig(k: 0), linear: nil)
        }
    }
}
