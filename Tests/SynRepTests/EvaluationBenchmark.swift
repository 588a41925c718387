import Foundation
import Testing
@testable import SynRep
import SynTensor

/// Timing of the protocols at the real sizes; opt-in (set SYNCLR_EVAL_BENCH=1, build with -c release).
///
/// `SYNCLR_EVAL_FMNIST=DIR` (uncompressed IDX files) adds the Fashion-MNIST raw-pixel baseline.
@Suite("Evaluation: benchmark", .serialized, .enabled(if: ProcessInfo.processInfo.environment["SYNCLR_EVAL_BENCH"] != nil))
struct EvaluationBenchmark {
    /// 10 classes of 192-d features: random class means plus correlated (low-rank) and isotropic noise.
    static func syntheticFeatures(count: Int, dim: Int = 192, classes: Int = 10, seed: UInt64) -> LabeledFeatures {
        var means = RandomGenerator(seed: 1000)
        let centre = (0..<(classes * dim)).map { _ in means.normal() * 0.15 }
        let basis = (0..<(16 * dim)).map { _ in means.normal() * 0.5 }
        var g = RandomGenerator(seed: seed)
        var data = [Float](repeating: 0, count: count * dim)
        var labels = [Int](repeating: 0, count: count)
        for i in 0..<count {
            let c = g.int(below: classes)
            labels[i] = c
            let z = (0..<16).map { _ in g.normal() }
            for j in 0..<dim {
                var v = centre[c * dim + j] + g.normal()
                for r in 0..<16 { v += z[r] * basis[r * dim + j] }
                data[i * dim + j] = v + 3
            }
        }
        return try! LabeledFeatures(features: Tensor(shape: [count, dim], data: data), labels: labels)
    }

    /// CPU seconds used by this process so far (all threads).
    private func cpuSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    private func time<T>(_ label: String, _ body: () throws -> T) rethrows -> T {
        let clock = ContinuousClock()
        let t0 = clock.now, c0 = cpuSeconds()
        let r = try body()
        print("[bench] \(label): \(String(format: "%.2f", seconds(clock.now - t0))) s wall, \(String(format: "%.2f", cpuSeconds() - c0)) s CPU")
        return r
    }

    @Test("60000 x 192, 10 classes: single fits, full probe, kNN")
    func synthetic192() throws {
        print("[bench] threads: \(Threading.count)")
        let train = time("generate train") { Self.syntheticFeatures(count: 60000, seed: 1) }
        let test = time("generate test") { Self.syntheticFeatures(count: 10000, seed: 2) }
        let x = FeatureStandardizer(fitting: train.features).transform(train.features)
        let objective = LogisticObjective(x: x, labels: train.labels, classCount: 10, regularization: 1)
        var theta = [Double](repeating: 0.01, count: 193 * 10), grad = theta
        time("20 objective+gradient evaluations") { for _ in 0..<20 { _ = objective(theta, &grad) } }
        theta[0] = 0
        let w = Tensor(shape: [192, 10], repeating: 0.01), gm = Tensor(shape: [60000, 10], repeating: 0.01)
        time("20 x (X W) [60000 x 192] x [192 x 10]") { for _ in 0..<20 { _ = x.matmul(w) } }
        time("20 x (X' G) [192 x 60000] x [60000 x 10]") { for _ in 0..<20 { _ = x.transposed(0, 1).matmul(gm) } }
        let keys = train.features.l2Normalized(axis: 1), queries = test.features.l2Normalized(axis: 1)
        time("kNN similarity GEMMs only (10000 x 60000 x 192, blocks of 256 x 8192)") {
            var start = 0
            while start < 10000 {
                let q = queries.narrow(0, start: start, length: min(256, 10000 - start))
                var b = 0
                while b < 60000 {
                    _ = q.matmul(keys.narrow(0, start: b, length: min(8192, 60000 - b)).transposed(0, 1))
                    b += 8192
                }
                start += 256
            }
        }
        var warm: LogisticModel? = nil
        for lambda in [1e2, 1e0, 1e-2, 1e-4] {
            let fit = time("single fit lambda \(lambda) (warm: \(warm != nil))") {
                LogisticRegression.fit(features: x, labels: train.labels, classCount: 10, regularization: lambda, initial: warm)
            }
            warm = fit.model
            print("[bench]   iterations \(fit.optimizer.iterations), evaluations \(fit.optimizer.evaluations), status \(fit.optimizer.status), |g| \(fit.optimizer.gradientInfNorm)")
        }
        let cold = time("single fit lambda 1e-4 (cold)") {
            LogisticRegression.fit(features: x, labels: train.labels, classCount: 10, regularization: 1e-4)
        }
        print("[bench]   iterations \(cold.optimizer.iterations), evaluations \(cold.optimizer.evaluations), status \(cold.optimizer.status)")
        let report = try time("full evaluation (kNN + probe)") {
            try Evaluation.run(train: train, test: test, name: "synthetic-192") { p in
                print("[bench]   lambda \(p.regularization): val \(String(format: "%.2f", p.accuracy))%, \(p.iterations) it, \(p.status), \(String(format: "%.2f", p.seconds)) s")
            }
        }
        print(report.text)
        let knn = try time("kNN alone") { try KNNClassifier().evaluate(train: train, test: test) }
        print("[bench]   kNN top-1 \(knn.top1)")
    }

    @Test("Fashion-MNIST raw pixels (784-d)", .enabled(if: ProcessInfo.processInfo.environment["SYNCLR_EVAL_FMNIST"] != nil))
    func fashionMNIST() throws {
        let dir = ProcessInfo.processInfo.environment["SYNCLR_EVAL_FMNIST"]!
        func load(_ prefix: String) throws -> LabeledFeatures {
            let images = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(prefix)-images-idx3-ubyte"))
            let labels = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(prefix)-labels-idx1-ubyte"))
            let n = labels.count - 8
            let pixels = images.dropFirst(16).map { Float($0) / 255 }
            return try LabeledFeatures(features: Tensor(shape: [n, 784], data: pixels), labels: labels.dropFirst(8).map { Int($0) })
        }
        let train = try load("train"), test = try load("t10k")
        let report = try time("Fashion-MNIST raw pixels (kNN + probe)") {
            try Evaluation.run(train: train, test: test, name: "raw-pixels") { p in
                print("[bench]   lambda \(p.regularization): val \(String(format: "%.2f", p.accuracy))%, \(p.iterations) it, \(p.status), \(String(format: "%.2f", p.seconds)) s")
            }
        }
        print(report.text)
    }
}
