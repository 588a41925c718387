/// Top-1 and mean per-class accuracy of hard predictions, in percent.
public struct ClassificationMetrics: Codable, Sendable, Equatable {
    /// Share of correct predictions, percent.
    public var top1: Double
    /// Mean over classes present in the labels of each class's accuracy (recall), percent.
    public var meanPerClass: Double
    /// Accuracy of each class in percent; nil for classes absent from the labels.
    public var perClass: [Double?]
    /// Number of scored examples.
    public var count: Int

    enum CodingKeys: String, CodingKey {
        case top1, meanPerClass = "mean_per_class", perClass = "per_class", count
    }

    /// Scores `predictions` against `labels` (both class indices below `classCount`).
    public init(predictions: [Int], labels: [Int], classCount: Int) {
        precondition(predictions.count == labels.count, "\(predictions.count) predictions for \(labels.count) labels")
        var correct = [Int](repeating: 0, count: classCount)
        var total = [Int](repeating: 0, count: classCount)
        var hits = 0
        for (p, y) in zip(predictions, labels) {
            total[y] += 1
            if p == y {
                correct[y] += 1
                hits += 1
            }
        }
        let n = labels.count
        top1 = n == 0 ? 0 : 100 * Double(hits) / Double(n)
        perClass = (0..<classCount).map { total[$0] == 0 ? nil : 100 * Double(correct[$0]) / Double(total[$0]) }
        let present = perClass.compactMap { $0 }
        meanPerClass = present.isEmpty ? 0 : present.reduce(0, +) / Double(present.count)
        count = n
    }
}
