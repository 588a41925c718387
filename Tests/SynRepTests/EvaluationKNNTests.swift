import Foundation
import Testing
@testable import SynRep
import SynTensor

@Suite("Evaluation: kNN")
struct EvaluationKNNTests {
    private func features(_ rows: [[Float]], _ labels: [Int]) throws -> LabeledFeatures {
        try LabeledFeatures(features: Tensor(shape: [rows.count, rows[0].count], data: rows.flatMap { $0 }), labels: labels)
    }

    @Test("Hand-built example: neighbours, similarity ties and weighted votes")
    func handBuilt() throws {
        // t4 is t0 scaled: equal similarity to every query, so the lower index (t0) ranks first.
        let train = try features([[1, 0], [0, 1], [1, 1], [-1, 0], [2, 0]], [0, 1, 1, 2, 0])
        let q = Tensor(shape: [2, 2], data: [1, 0.2, 0.6, 1])
        let knn = KNNClassifier(config: KNNConfig(k: 3))
        let nn = try knn.nearestNeighbors(queries: q, keys: train.features)
        #expect(nn.k == 3)
        #expect(nn.indices == [0, 4, 2, 2, 1, 0])
        let s0 = Float(1 / 1.04.squareRoot()), s2 = Float(1.2 / (1.04.squareRoot() * 2.0.squareRoot()))
        for (got, want) in zip(nn.similarities.prefix(3), [s0, s0, s2]) { #expect(abs(got - want) < 1e-5) }
        #expect(try knn.predict(train: train, test: q) == [0, 1])
    }

    @Test("Temperature weighting beats a majority of less similar neighbours")
    func weighting() throws {
        let train = try features([[1, 0.05], [1, 0.6], [1, -0.6]], [0, 1, 1])
        let q = Tensor(shape: [1, 2], data: [1, 0])
        #expect(try KNNClassifier(config: KNNConfig(k: 3, temperature: 0.07)).predict(train: train, test: q) == [0])
        #expect(try KNNClassifier(config: KNNConfig(k: 3, temperature: 1)).predict(train: train, test: q) == [1])
    }

    @Test("Equal vote totals go to the lower class; k larger than the train set is clamped")
    func voteTieAndClamp() throws {
        let train = try features([[0, 1], [0, -1]], [1, 0])
        let q = Tensor(shape: [1, 2], data: [1, 0])
        let knn = KNNClassifier(config: KNNConfig(k: 20))
        let nn = try knn.nearestNeighbors(queries: q, keys: train.features)
        #expect(nn.k == 2)
        #expect(try knn.predict(train: train, test: q) == [0])
    }

    @Test("Blocked, chunked, concurrent search equals a brute-force sort")
    func matchesBruteForce() throws {
        let train = EvalData.randomLabels(count: 53, classes: 4, dim: 6, seed: 1)
        let test = EvalData.randomLabels(count: 17, classes: 4, dim: 6, seed: 2)
        let k = 7
        let nn = try KNNClassifier(config: KNNConfig(k: k, testChunk: 3, trainBlock: 5))
            .nearestNeighbors(queries: test.features, keys: train.features)
        let a = test.features.l2Normalized(axis: 1).scalars, b = train.features.l2Normalized(axis: 1).scalars
        for i in 0..<test.count {
            var sims: [(Int, Double)] = []
            for j in 0..<train.count {
                var s = 0.0
                for d in 0..<6 { s += Double(a[i * 6 + d]) * Double(b[j * 6 + d]) }
                sims.append((j, s))
            }
            sims.sort { $0.1 > $1.1 }
            #expect(Array(nn.indices[(i * k)..<((i + 1) * k)]) == sims.prefix(k).map { $0.0 })
        }
        let whole = try KNNClassifier(config: KNNConfig(k: k)).nearestNeighbors(queries: test.features, keys: train.features)
        #expect(whole == nn)
    }

    @Test("Well-separated blobs are classified almost perfectly, random labels at chance")
    func accuracyRegimes() throws {
        let train = EvalData.blobs(perClass: 150, classes: 4, dim: 8, separation: 4, seed: 3)
        let test = EvalData.blobs(perClass: 100, classes: 4, dim: 8, separation: 4, seed: 4)
        let r = try KNNClassifier().evaluate(train: train, test: test)
        #expect(r.top1 > 95)
        #expect(r.meanPerClass > 95)
        #expect(r.k == 20 && r.temperature == 0.07 && r.testCount == 400)

        let noiseTrain = EvalData.randomLabels(count: 600, classes: 4, dim: 8, seed: 5)
        let noiseTest = EvalData.randomLabels(count: 800, classes: 4, dim: 8, seed: 6)
        let chance = try KNNClassifier().evaluate(train: noiseTrain, test: noiseTest)
        #expect(abs(chance.top1 - 25) < 6)
    }

    @Test("Malformed inputs give clear errors")
    func errors() throws {
        #expect(throws: EvaluationError.labelCountMismatch(rows: 2, labels: 1)) {
            try LabeledFeatures(features: Tensor(shape: [2, 2], data: [1, 2, 3, 4]), labels: [0])
        }
        #expect(throws: EvaluationError.nonFiniteFeature(row: 1, column: 0)) {
            try LabeledFeatures(features: Tensor(shape: [2, 2], data: [1, 2, .nan, 4]), labels: [0, 1])
        }
        let a = try features([[1, 0]], [0]), b = try features([[1, 0, 0]], [0])
        #expect(throws: EvaluationError.dimensionMismatch(train: 2, test: 3)) { try KNNClassifier().evaluate(train: a, test: b) }
        #expect(throws: ParameterError.self) { try KNNClassifier(config: KNNConfig(k: 0)).evaluate(train: a, test: a) }
    }
}

@Suite("Evaluation: metrics and report")
struct EvaluationMetricsTests {
    @Test("Top-1 and mean per-class accuracy")
    func metrics() {
        // Class 0: 3 of 4 right; class 1: 0 of 1; class 2 absent.
        let m = ClassificationMetrics(predictions: [0, 0, 0, 1, 0], labels: [0, 0, 0, 0, 1], classCount: 3)
        #expect(m.top1 == 60)
        #expect(m.meanPerClass == 37.5)
        #expect(m.perClass == [75, 0, nil])
    }

    @Test("JSON has the CLI's headline keys and round-trips")
    func reportJSON() throws {
        let train = EvalData.blobs(perClass: 40, classes: 3, dim: 4, separation: 4, seed: 8)
        let test = EvalData.blobs(perClass: 20, classes: 3, dim: 4, separation: 4, seed: 9)
        let report = try Evaluation.run(train: train, test: test, name: "blobs", linear: EvalData.quickProbe)
        let json = try report.json()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        for key in ["knn_top1", "knn_mean_per_class", "linear_top1", "linear_mean_per_class", "linear_regularization", "knn", "linear"] {
            #expect(object[key] != nil, "missing \(key)")
        }
        #expect(object["linear_top1"] as? Double == report.linear?.top1)
        let decoded = try JSONDecoder().decode(EvaluationReport.self, from: Data(json.utf8))
        #expect(decoded == report)
        #expect(report.text.contains("kNN (k=20"))
        #expect(report.text.contains("linear probe: top-1"))
        let converged = try #require(report.linear).status.converged
        #expect(report.text.contains(converged ? "refit converged" : "refit stopped after"), "\(report.text)")
    }
}
