import Foundation
import SynTensor

/// Settings of the weighted k-nearest-neighbour classifier.
public struct KNNConfig: Codable, Sendable, Equatable {
    /// Number of neighbours that vote (DINO: 20).
    public var k: Int
    /// Vote temperature T: a neighbour with cosine similarity s votes exp(s / T) (DINO: 0.07).
    public var temperature: Double
    /// Test rows per similarity GEMM (one work item for the thread pool).
    public var testChunk: Int
    /// Train rows per similarity GEMM; bounds each worker's buffer to testChunk x trainBlock floats.
    public var trainBlock: Int

    /// DINO's defaults: k = 20, T = 0.07.
    public init(k: Int = 20, temperature: Double = 0.07, testChunk: Int = 256, trainBlock: Int = 8192) {
        self.k = k
        self.temperature = temperature
        self.testChunk = testChunk
        self.trainBlock = trainBlock
    }

    enum CodingKeys: String, CodingKey {
        case k, temperature, testChunk = "test_chunk", trainBlock = "train_block"
    }

    /// Throws a `ParameterError` naming the first value outside its allowed range.
    public func validate() throws {
        try ParameterError.require(k > 0, "k", k, allowed: ">= 1")
        try ParameterError.require(temperature > 0 && temperature.isFinite, "temperature", temperature, allowed: "finite and > 0")
        try ParameterError.require(testChunk > 0, "testChunk", testChunk, allowed: ">= 1")
        try ParameterError.require(trainBlock > 0, "trainBlock", trainBlock, allowed: ">= 1")
    }
}

/// The k nearest train rows of each query: flat [queries x k] arrays, best first per row.
public struct KNNNeighbors: Sendable, Equatable {
    /// Neighbours per query (min(k, train count)).
    public let k: Int
    /// Train row of each neighbour, row-major [queries, k].
    public let indices: [Int]
    /// Cosine similarity of each neighbour, row-major [queries, k].
    public let similarities: [Float]
}

/// kNN evaluation outcome (accuracies in percent).
public struct KNNResult: Codable, Sendable, Equatable {
    /// Neighbours that voted.
    public var k: Int
    /// Vote temperature.
    public var temperature: Double
    /// Top-1 accuracy, percent.
    public var top1: Double
    /// Mean per-class accuracy, percent.
    public var meanPerClass: Double
    /// Per-class accuracy, percent (nil for classes absent from the test set).
    public var perClass: [Double?]
    /// Train rows searched.
    public var trainCount: Int
    /// Test rows scored.
    public var testCount: Int

    enum CodingKeys: String, CodingKey {
        case k, temperature, top1, meanPerClass = "mean_per_class", perClass = "per_class"
        case trainCount = "train_count", testCount = "test_count"
    }
}

/// Weighted kNN on l2-normalized features with cosine similarity, as in DINO's evaluation.
///
/// Reference: Caron et al., "Emerging Properties in Self-Supervised Vision Transformers" (DINO,
/// ICCV 2021), weighted k-NN of Wu et al. 2018: the k most similar train features vote for
/// their class with weight exp(sim / T). Similarities come from GEMMs over blocks of
/// testChunk x trainBlock (never a full N_test x N_train matrix), top-k is a bounded heap per
/// row (not a sort), and test chunks run concurrently. Ties: equal similarities prefer the
/// lower train index; equal vote totals prefer the lower class index.
public struct KNNClassifier: Sendable {
    /// The settings.
    public let config: KNNConfig

    /// A classifier with `config` (DINO defaults when omitted).
    public init(config: KNNConfig = KNNConfig()) {
        self.config = config
    }

    /// The `config.k` most cosine-similar rows of `keys` [N, D] for each row of `queries` [M, D].
    public func nearestNeighbors(queries: Tensor, keys: Tensor) throws -> KNNNeighbors {
        try config.validate()
        guard queries.rank == 2 else { throw EvaluationError.notAMatrix(shape: queries.shape) }
        guard keys.rank == 2 else { throw EvaluationError.notAMatrix(shape: keys.shape) }
        guard queries.shape[1] == keys.shape[1] else {
            throw EvaluationError.dimensionMismatch(train: keys.shape[1], test: queries.shape[1])
        }
        guard keys.shape[0] > 0 else { throw EvaluationError.empty("kNN train set") }
        return withNoGrad {
            let q = queries.detached().l2Normalized(axis: 1).contiguous()
            let kn = keys.detached().l2Normalized(axis: 1).contiguous()
            return search(queries: q, keys: kn)
        }
    }

    /// Predicted class of each test row by similarity-weighted votes of its train neighbours.
    public func predict(train: LabeledFeatures, test: Tensor, classCount: Int? = nil) throws -> [Int] {
        let classes = max(classCount ?? 0, train.classCount)
        let nn = try nearestNeighbors(queries: test, keys: train.features)
        return vote(nn, labels: train.labels, classCount: classes)
    }

    /// Runs kNN with `train` as the memory bank and scores it on `test`.
    public func evaluate(train: LabeledFeatures, test: LabeledFeatures, classCount: Int? = nil) throws -> KNNResult {
        let classes = try resolveClassCount(train: train, test: test, explicit: classCount)
        let nn = try nearestNeighbors(queries: test.features, keys: train.features)
        let predictions = vote(nn, labels: train.labels, classCount: classes)
        let m = ClassificationMetrics(predictions: predictions, labels: test.labels, classCount: classes)
        return KNNResult(k: nn.k, temperature: config.temperature, top1: m.top1, meanPerClass: m.meanPerClass,
                         perClass: m.perClass, trainCount: train.count, testCount: test.count)
    }

    /// Weighted vote: class score = sum over neighbours of that class of exp(sim / T); argmax, ties to the lower class.
    func vote(_ nn: KNNNeighbors, labels: [Int], classCount: Int) -> [Int] {
        let rows = nn.k == 0 ? 0 : nn.indices.count / nn.k
        var scores = [Double](repeating: 0, count: classCount)
        var out = [Int](repeating: 0, count: rows)
        let invT = 1 / config.temperature
        for r in 0..<rows {
            for c in 0..<classCount { scores[c] = 0 }
            for j in 0..<nn.k {
                let idx = nn.indices[r * nn.k + j]
                if idx < 0 { continue }
                scores[labels[idx]] += Foundation.exp(Double(nn.similarities[r * nn.k + j]) * invT)
            }
            var best = 0
            for c in 1..<max(classCount, 1) where scores[c] > scores[best] { best = c }
            out[r] = best
        }
        return out
    }

    /// Blocked GEMM + heap search over normalized, dense `queries` [M, D] and `keys` [N, D].
    private func search(queries: Tensor, keys: Tensor) -> KNNNeighbors {
        let m = queries.shape[0], n = keys.shape[0]
        let k = min(config.k, n)
        var indices = [Int](repeating: -1, count: m * k)
        var sims = [Float](repeating: -.infinity, count: m * k)
        let chunk = config.testChunk, block = config.trainBlock
        let chunks = (m + chunk - 1) / chunk
        indices.withUnsafeMutableBufferPointer { ib in
            sims.withUnsafeMutableBufferPointer { sb in
                let ip = SharedPointer(ib.baseAddress!), sp = SharedPointer(sb.baseAddress!)
                Threading.concurrentPerform(chunks) { c in
                    let lo = c * chunk, rows = min(chunk, m - lo)
                    let q = queries.narrow(0, start: lo, length: rows)
                    var heaps = (0..<rows).map { _ in TopKSelection(k: k) }
                    var start = 0
                    while start < n {
                        let len = min(block, n - start)
                        let s = q.matmul(keys.narrow(0, start: start, length: len).transposed(0, 1))
                        s.withUnsafeBufferPointer { buf in
                            for r in 0..<rows {
                                heaps[r].offer(buf.baseAddress! + r * len, count: len, base: start)
                            }
                        }
                        start += len
                    }
                    for r in 0..<rows {
                        for (j, item) in heaps[r].sorted().enumerated() {
                            ip.p[(lo + r) * k + j] = item.index
                            sp.p[(lo + r) * k + j] = item.similarity
                        }
                    }
                }
            }
        }
        return KNNNeighbors(k: k, indices: indices, similarities: sims)
    }
}
