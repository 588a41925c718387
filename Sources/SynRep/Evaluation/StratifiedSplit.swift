import SynTensor

/// A deterministic, stratified train/validation split of row indices.
///
/// Each class is shuffled with its own stream of `RandomGenerator(seed:)` (so one class's size
/// does not change another's draw) and round(fraction x class size) of its rows go to
/// validation, at least one and never all of a class with two or more rows. Both index lists
/// come back in ascending order.
public struct StratifiedSplit: Sendable, Equatable {
    /// Rows kept for fitting.
    public let train: [Int]
    /// Rows held out for model selection.
    public let validation: [Int]

    /// Splits rows by `labels`, holding out about `validationFraction` of each class.
    public init(labels: [Int], validationFraction: Double, seed: UInt64) {
        precondition(validationFraction >= 0 && validationFraction < 1, "validation fraction must be in [0, 1)")
        var byClass: [Int: [Int]] = [:]
        for (i, y) in labels.enumerated() { byClass[y, default: []].append(i) }
        var train: [Int] = [], validation: [Int] = []
        let root = RandomGenerator(seed: seed)
        for y in byClass.keys.sorted() {
            let rows = byClass[y]!
            var n = Int((validationFraction * Double(rows.count)).rounded())
            if validationFraction > 0 && rows.count >= 2 { n = min(max(n, 1), rows.count - 1) }
            if rows.count < 2 { n = 0 }
            var g = root.derived(UInt64(y))
            let order = g.permutation(rows.count)
            for (j, p) in order.enumerated() {
                if j < n { validation.append(rows[p]) } else { train.append(rows[p]) }
            }
        }
        self.train = train.sorted()
        self.validation = validation.sorted()
    }
}
