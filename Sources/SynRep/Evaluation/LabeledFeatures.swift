import SynTensor

/// Why an evaluation could not run: malformed features, labels or configuration.
public enum EvaluationError: Error, Equatable, CustomStringConvertible {
    /// Features must be a rank-2 tensor [N, D].
    case notAMatrix(shape: [Int])
    /// The number of labels differs from the number of feature rows.
    case labelCountMismatch(rows: Int, labels: Int)
    /// A split has no rows (or no features).
    case empty(String)
    /// Labels are class indices, so they cannot be negative.
    case negativeLabel(row: Int, label: Int)
    /// A label is not below the declared class count.
    case labelOutOfRange(label: Int, classCount: Int)
    /// Train and test features have different widths.
    case dimensionMismatch(train: Int, test: Int)
    /// A feature is NaN or infinite.
    case nonFiniteFeature(row: Int, column: Int)
    /// A configuration value is out of its valid range.
    case invalidConfiguration(String)

    /// A one-line explanation.
    public var description: String {
        switch self {
        case .notAMatrix(let shape): return "features must be a matrix [N, D], got shape \(shape)"
        case .labelCountMismatch(let rows, let labels): return "\(rows) feature rows but \(labels) labels"
        case .empty(let what): return "\(what) is empty"
        case .negativeLabel(let row, let label): return "label \(label) at row \(row) is negative"
        case .labelOutOfRange(let label, let classCount): return "label \(label) is not below the class count \(classCount)"
        case .dimensionMismatch(let train, let test): return "train features are \(train)-d but test features are \(test)-d"
        case .nonFiniteFeature(let row, let column): return "feature [\(row), \(column)] is not finite"
        case .invalidConfiguration(let why): return "invalid evaluation configuration: \(why)"
        }
    }
}

/// A labeled feature matrix: `features` [N, D] (dense, no gradient) and one class index per row.
public struct LabeledFeatures: Sendable {
    /// Dense row-major features [N, D].
    public let features: Tensor
    /// Class index of each row (0-based).
    public let labels: [Int]

    /// Validates shape, labels and finiteness, and keeps a dense, gradient-free view of `features`.
    public init(features: Tensor, labels: [Int]) throws {
        guard features.rank == 2 else { throw EvaluationError.notAMatrix(shape: features.shape) }
        guard features.shape[0] == labels.count else {
            throw EvaluationError.labelCountMismatch(rows: features.shape[0], labels: labels.count)
        }
        guard features.shape[0] > 0, features.shape[1] > 0 else { throw EvaluationError.empty("feature matrix \(features.shape)") }
        if let row = labels.firstIndex(where: { $0 < 0 }) {
            throw EvaluationError.negativeLabel(row: row, label: labels[row])
        }
        let dense = features.detached().contiguous()
        let d = features.shape[1]
        let bad: Int? = dense.withUnsafeBufferPointer { buf in
            for i in 0..<buf.count where !buf[i].isFinite { return i }
            return nil
        }
        if let i = bad { throw EvaluationError.nonFiniteFeature(row: i / d, column: i % d) }
        self.features = dense
        self.labels = labels
    }

    /// Number of rows N.
    public var count: Int { labels.count }
    /// Feature width D.
    public var dimension: Int { features.shape[1] }
    /// One more than the largest label.
    public var classCount: Int { (labels.max() ?? -1) + 1 }
}

/// The class count for a train/test pair: explicit, or one more than the largest label seen.
func resolveClassCount(train: LabeledFeatures, test: LabeledFeatures, explicit: Int?) throws -> Int {
    guard train.dimension == test.dimension else {
        throw EvaluationError.dimensionMismatch(train: train.dimension, test: test.dimension)
    }
    let seen = max(train.classCount, test.classCount)
    guard let c = explicit else { return seen }
    guard c >= seen else { throw EvaluationError.labelOutOfRange(label: seen - 1, classCount: c) }
    return c
}
