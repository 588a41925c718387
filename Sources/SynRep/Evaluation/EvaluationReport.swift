import Foundation
import SynTensor

/// kNN and linear-probe results for one feature extractor, printable as JSON or text.
///
/// Accuracies are percentages. JSON carries the headline numbers at the top level
/// (`knn_top1`, `knn_mean_per_class`, `linear_top1`, `linear_mean_per_class`,
/// `linear_regularization`) and the full results under `knn` and `linear`.
public struct EvaluationReport: Codable, Sendable, Equatable {
    /// What produced the features (e.g. a checkpoint path or "raw-pixels").
    public var name: String?
    /// kNN outcome, when run.
    public var knn: KNNResult?
    /// Linear-probe outcome, when run.
    public var linear: LinearProbeResult?

    /// A report from its parts.
    public init(name: String? = nil, knn: KNNResult? = nil, linear: LinearProbeResult? = nil) {
        self.name = name
        self.knn = knn
        self.linear = linear
    }

    enum CodingKeys: String, CodingKey {
        case name, knnTop1 = "knn_top1", knnMeanPerClass = "knn_mean_per_class"
        case linearTop1 = "linear_top1", linearMeanPerClass = "linear_mean_per_class"
        case linearRegularization = "linear_regularization", knn, linear
    }

    /// Decodes the nested results (the top-level headline numbers are derived from them).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        knn = try c.decodeIfPresent(KNNResult.self, forKey: .knn)
        linear = try c.decodeIfPresent(LinearProbeResult.self, forKey: .linear)
    }

    /// Encodes the headline numbers and the nested results.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(name, forKey: .name)
        try c.encodeIfPresent(knn?.top1, forKey: .knnTop1)
        try c.encodeIfPresent(knn?.meanPerClass, forKey: .knnMeanPerClass)
        try c.encodeIfPresent(linear?.top1, forKey: .linearTop1)
        try c.encodeIfPresent(linear?.meanPerClass, forKey: .linearMeanPerClass)
        try c.encodeIfPresent(linear?.regularization, forKey: .linearRegularization)
        try c.encodeIfPresent(knn, forKey: .knn)
        try c.encodeIfPresent(linear, forKey: .linear)
    }

    /// The report as JSON text (sorted keys; pretty-printed unless `pretty` is false).
    public func json(pretty: Bool = true) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys] : [.sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// A compact human-readable summary (a few lines).
    public var text: String {
        var lines: [String] = []
        if let name { lines.append("features: \(name)") }
        if let r = knn {
            lines.append("kNN (k=\(r.k), T=\(fmt(r.temperature))): top-1 \(pct(r.top1)), mean per-class \(pct(r.meanPerClass))"
                         + "  [\(r.testCount) test vs \(r.trainCount) train]")
        }
        if let r = linear {
            lines.append("linear probe: top-1 \(pct(r.top1)), mean per-class \(pct(r.meanPerClass)), lambda \(fmt(r.regularization))"
                         + " (val \(pct(r.validationAccuracy)), train \(pct(r.trainTop1)))  [\(r.dimension)-d, \(r.classCount) classes,"
                         + " \(r.trainCount) train, \(r.testCount) test, \(String(format: "%.1f", r.seconds)) s]")
            // A capped fit is usually within a few tenths of the converged one (Docs/results.md), but
            // the reader should know which one the number is.
            lines.append(r.status.converged
                         ? "  refit converged (\(r.status.rawValue)) after \(r.iterations) iterations"
                         : "  refit stopped after \(r.iterations) iterations (\(r.status.rawValue)) before the gradient tolerance")
            let curve = r.validationCurve.map { "\(fmt($0.regularization)):\(String(format: "%.1f", $0.accuracy))" }
            lines.append("  validation curve (lambda:val%): " + curve.joined(separator: " "))
        }
        return lines.joined(separator: "\n")
    }

    private func pct(_ v: Double) -> String { String(format: "%.2f%%", v) }
    private func fmt(_ v: Double) -> String { String(format: "%.3g", v) }
}

/// Runs the evaluation protocols on one train/test pair of features.
public enum Evaluation {
    /// kNN (unless `knn` is nil) and the linear probe (unless `linear` is nil) on `train` -> `test`.
    public static func run(train: LabeledFeatures, test: LabeledFeatures, name: String? = nil, classCount: Int? = nil,
                           knn: KNNConfig? = KNNConfig(), linear: LinearProbeConfig? = LinearProbeConfig(),
                           progress: ((ValidationPoint) -> Void)? = nil) throws -> EvaluationReport {
        // Both configurations are checked before the (long) kNN pass, so a bad probe setting fails at once.
        try knn?.validate()
        try linear?.validate()
        let classes = try resolveClassCount(train: train, test: test, explicit: classCount)
        var report = EvaluationReport(name: name)
        if let knn {
            report.knn = try KNNClassifier(config: knn).evaluate(train: train, test: test, classCount: classes)
        }
        if let linear {
            report.linear = try LinearProbe(config: linear).evaluate(train: train, test: test, classCount: classes, progress: progress)
        }
        return report
    }
}
