import SynTensor

/// Per-feature standardization x' = (x - mean) / scale, with statistics from a training split.
public struct FeatureStandardizer: Codable, Sendable, Equatable {
    /// Per-feature mean.
    public let mean: [Float]
    /// Per-feature population standard deviation (1 for constant features, as scikit-learn).
    public let scale: [Float]

    /// A standardizer with given statistics.
    public init(mean: [Float], scale: [Float]) {
        precondition(mean.count == scale.count, "mean and scale differ in length")
        self.mean = mean
        self.scale = scale
    }

    /// Fits mean and standard deviation (ddof 0) on `rows` of `x` [N, D] (all rows when nil).
    public init(fitting x: Tensor, rows: [Int]? = nil) {
        precondition(x.rank == 2, "standardizer needs a matrix, got \(x.shape)")
        let d = x.shape[1]
        let selected = rows ?? Array(0..<x.shape[0])
        precondition(!selected.isEmpty, "cannot fit a standardizer on zero rows")
        let ranges = fixedRanges(selected.count, maxParts: 16, minimumPerRange: max(1, 65536 / max(d, 1)))
        func columnSums(_ centre: [Double]?) -> [Double] {
            var partial = [Double](repeating: 0, count: ranges.count * d)
            x.withUnsafeBufferPointer { xb in
                partial.withUnsafeMutableBufferPointer { pb in
                    let pp = SharedPointer(pb.baseAddress!)
                    Threading.concurrentPerform(ranges.count) { t in
                        let acc = pp.p + t * d
                        for i in ranges[t] {
                            let row = xb.baseAddress! + selected[i] * d
                            if let c = centre {
                                for j in 0..<d {
                                    let v = Double(row[j]) - c[j]
                                    acc[j] += v * v
                                }
                            } else {
                                for j in 0..<d { acc[j] += Double(row[j]) }
                            }
                        }
                    }
                }
            }
            var total = [Double](repeating: 0, count: d)
            for t in 0..<ranges.count { for j in 0..<d { total[j] += partial[t * d + j] } }
            return total
        }
        let n = Double(selected.count)
        let mu = columnSums(nil).map { $0 / n }
        let variance = columnSums(mu).map { $0 / n }
        mean = mu.map { Float($0) }
        scale = zip(variance, mu).map { v, m in
            let s = v.squareRoot()
            // Constant (or numerically constant) features keep scale 1, as StandardScaler.
            return s <= 1e-7 * max(1, abs(m)) ? 1 : Float(s)
        }
    }

    /// Feature width.
    public var dimension: Int { mean.count }

    /// The standardized copy of `x` [N, D].
    public func transform(_ x: Tensor) -> Tensor {
        precondition(x.rank == 2 && x.shape[1] == dimension, "standardizer for \(dimension)-d features got \(x.shape)")
        let storage = TensorStorage(uninitializedCount: x.count)
        write(x, rows: Array(0..<x.shape[0]), into: storage.pointer)
        return Tensor(storage: storage, layout: Layout(contiguous: x.shape))
    }

    /// Writes the standardized `rows` of `x`, in that order, as a dense block at `out`.
    func write(_ x: Tensor, rows: [Int], into out: UnsafeMutablePointer<Float>) {
        let d = dimension
        let inv = scale.map { 1 / $0 }
        let ranges = fixedRanges(rows.count, maxParts: 64, minimumPerRange: max(1, 16384 / max(d, 1)))
        let op = SharedPointer(out)
        x.withUnsafeBufferPointer { xb in
            Threading.concurrentPerform(ranges.count) { t in
                for i in ranges[t] {
                    let src = xb.baseAddress! + rows[i] * d, dst = op.p + i * d
                    for j in 0..<d { dst[j] = (src[j] - mean[j]) * inv[j] }
                }
            }
        }
    }
}
