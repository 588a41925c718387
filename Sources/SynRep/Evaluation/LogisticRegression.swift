import Foundation
import SynTensor

/// A linear classifier: logits = x W + b with W [dimension, classCount].
public struct LogisticModel: Codable, Sendable, Equatable {
    /// Input width D.
    public var dimension: Int
    /// Number of classes C.
    public var classCount: Int
    /// Row-major W [D, C].
    public var weights: [Double]
    /// b [C].
    public var bias: [Double]

    /// The all-zero model (uniform probabilities).
    public init(dimension: Int, classCount: Int) {
        self.init(dimension: dimension, classCount: classCount,
                  weights: [Double](repeating: 0, count: dimension * classCount),
                  bias: [Double](repeating: 0, count: classCount))
    }

    /// A model with the given parameters.
    public init(dimension: Int, classCount: Int, weights: [Double], bias: [Double]) {
        precondition(weights.count == dimension * classCount && bias.count == classCount, "parameter sizes do not match D x C")
        self.dimension = dimension
        self.classCount = classCount
        self.weights = weights
        self.bias = bias
    }

    enum CodingKeys: String, CodingKey {
        case dimension, classCount = "class_count", weights, bias
    }

    /// Logits [N, C] of `x` [N, D].
    public func logits(_ x: Tensor) -> Tensor {
        precondition(x.rank == 2 && x.shape[1] == dimension, "model for \(dimension)-d inputs got \(x.shape)")
        return withNoGrad {
            let w = Tensor(shape: [dimension, classCount], data: weights.map { Float($0) })
            return x.detached().matmul(w) + Tensor(bias.map { Float($0) })
        }
    }

    /// Most likely class of each row of `x` (ties go to the lower class).
    public func predict(_ x: Tensor) -> [Int] {
        let z = logits(x)
        let c = classCount
        return z.withUnsafeBufferPointer { buf in
            (0..<(buf.count / max(c, 1))).map { i in
                var best = 0
                for j in 1..<max(c, 1) where buf[i * c + j] > buf[i * c + best] { best = j }
                return best
            }
        }
    }

    /// W and b flattened as the optimizer sees them: W row-major, then b.
    var parameters: [Double] { weights + bias }

    /// The model whose parameters are `theta` (W row-major, then b).
    init(dimension: Int, classCount: Int, parameters theta: [Double]) {
        self.init(dimension: dimension, classCount: classCount,
                  weights: Array(theta[0..<(dimension * classCount)]), bias: Array(theta[(dimension * classCount)...]))
    }
}

/// A fitted model and how its optimization went.
public struct LogisticFit: Sendable {
    /// The fitted parameters.
    public var model: LogisticModel
    /// The L-BFGS run.
    public var optimizer: LBFGSResult
}

/// L2-regularized multinomial logistic regression fitted by full-batch L-BFGS.
///
/// Minimizes (1/N) [sum_i CE(softmax(x_i W + b), y_i) + lambda ||W||^2] (bias not penalized);
/// lambda is in the units of the sum-of-losses objective used by the paper's protocol
/// (Kornblith et al. 2019, "Do Better ImageNet Models Transfer Better?"), which corresponds to
/// scikit-learn's C = 1 / (2 lambda). The 1/N scaling only conditions the optimizer.
public enum LogisticRegression {
    /// Fits W, b on `features` [N, D] and `labels`, warm-starting from `initial` when given.
    public static func fit(features: Tensor, labels: [Int], classCount: Int, regularization: Double,
                           initial: LogisticModel? = nil, options: LBFGSOptions = LBFGSOptions()) -> LogisticFit {
        precondition(features.rank == 2 && features.shape[0] == labels.count, "features \(features.shape) vs \(labels.count) labels")
        precondition(regularization >= 0, "regularization must be non-negative")
        let x = features.detached().contiguous()
        let d = x.shape[1]
        let objective = LogisticObjective(x: x, labels: labels, classCount: classCount, regularization: regularization)
        let start = initial?.parameters ?? LogisticModel(dimension: d, classCount: classCount).parameters
        precondition(start.count == (d + 1) * classCount, "initial model has the wrong shape")
        let result = withNoGrad { LBFGS.minimize(from: start, options: options) { objective($0, &$1) } }
        return LogisticFit(model: LogisticModel(dimension: d, classCount: classCount, parameters: result.x), optimizer: result)
    }
}

/// The logistic objective and its gradient, in one pass over x per evaluation.
///
/// Rows are cut into a fixed set of parts (run concurrently); each part walks its rows in
/// cache-sized blocks: logits = x_b W (GEMM), a fused log-softmax / cross-entropy pass that
/// turns them into G = (softmax - onehot) / N, then x_b' G (GEMM) accumulated into the part's
/// gradient. Parts are summed in a fixed order, so the value does not depend on the thread count.
struct LogisticObjective {
    let x: Tensor
    let labels: [Int32]
    let classCount: Int
    let regularization: Double
    private let parts: [Range<Int>]
    /// Rows per block: about 512 KB of x, so the second GEMM reads it from cache.
    private let blockRows: Int

    init(x: Tensor, labels: [Int], classCount: Int, regularization: Double) {
        precondition(labels.allSatisfy { $0 >= 0 && $0 < classCount }, "labels must lie in 0..<\(classCount)")
        self.x = x
        self.labels = labels.map { Int32($0) }
        self.classCount = classCount
        self.regularization = regularization
        parts = fixedRanges(labels.count, maxParts: 16, minimumPerRange: 2048)
        blockRows = max(64, 131_072 / max(1, x.shape[1]))
    }

    /// f(theta) for theta = (W row-major, b); writes the gradient.
    func callAsFunction(_ theta: [Double], _ gradient: inout [Double]) -> Double {
        let n = x.shape[0], d = x.shape[1], c = classCount
        let wCount = d * c
        let w = Tensor(shape: [d, c], data: theta[0..<wCount].map { Float($0) })
        let bias = theta[wCount...].map { Float($0) }
        let stride = wCount + c + 1 // per part: W gradient, bias gradient, loss
        var partials = [Double](repeating: 0, count: parts.count * stride)
        let invN = 1 / Float(n)
        labels.withUnsafeBufferPointer { yb in
            partials.withUnsafeMutableBufferPointer { pb in
                let pp = SharedPointer(pb.baseAddress!)
                Threading.concurrentPerform(parts.count) { t in
                    let acc = pp.p + t * stride
                    var loss = 0.0
                    var start = parts[t].lowerBound
                    while start < parts[t].upperBound {
                        let rows = min(blockRows, parts[t].upperBound - start)
                        let xb = x.narrow(0, start: start, length: rows)
                        let logits = withNoGrad { xb.matmul(w) }
                        let gStorage = TensorStorage(uninitializedCount: rows * c)
                        let g0 = gStorage.pointer
                        logits.withUnsafeBufferPointer { lb in
                            for i in 0..<rows {
                                let z = lb.baseAddress! + i * c, g = g0 + i * c
                                let y = Int(yb[start + i])
                                var mx = -Float.infinity
                                for j in 0..<c {
                                    let v = z[j] + bias[j]
                                    g[j] = v
                                    mx = Swift.max(mx, v)
                                }
                                let zy = g[y]
                                var s: Float = 0
                                for j in 0..<c {
                                    let e = Foundation.exp(g[j] - mx)
                                    g[j] = e
                                    s += e
                                }
                                loss += Double(mx + Foundation.log(s) - zy)
                                let inv = 1 / s
                                for j in 0..<c {
                                    let r = g[j] * inv - (j == y ? 1 : 0)
                                    acc[wCount + j] += Double(r)
                                    g[j] = r * invN
                                }
                            }
                        }
                        let gMatrix = Tensor(storage: gStorage, layout: Layout(contiguous: [rows, c]))
                        let gw = withNoGrad { xb.transposed(0, 1).matmul(gMatrix) }
                        gw.withUnsafeBufferPointer { gb in
                            for k in 0..<wCount { acc[k] += Double(gb[k]) }
                        }
                        start += rows
                    }
                    acc[wCount + c] = loss
                }
            }
        }
        let scale = 2 * regularization / Double(n)
        var penalty = 0.0, loss = 0.0
        for k in 0..<wCount {
            penalty += theta[k] * theta[k]
            gradient[k] = scale * theta[k]
        }
        for j in 0..<c { gradient[wCount + j] = 0 }
        for t in 0..<parts.count {
            let base = t * stride
            for k in 0..<wCount { gradient[k] += partials[base + k] }
            for j in 0..<c { gradient[wCount + j] += partials[base + wCount + j] / Double(n) }
            loss += partials[base + wCount + c]
        }
        return (loss + regularization * penalty) / Double(n)
    }
}
