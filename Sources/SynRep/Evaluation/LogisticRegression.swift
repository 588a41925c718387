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

/// The logistic objective and its gradient: two GEMMs (x W, then x' G) plus a fused log-softmax pass.
struct LogisticObjective {
    let x: Tensor
    let labels: [Int32]
    let classCount: Int
    let regularization: Double
    private let ranges: [Range<Int>]

    init(x: Tensor, labels: [Int], classCount: Int, regularization: Double) {
        precondition(labels.allSatisfy { $0 >= 0 && $0 < classCount }, "labels must lie in 0..<\(classCount)")
        self.x = x
        self.labels = labels.map { Int32($0) }
        self.classCount = classCount
        self.regularization = regularization
        ranges = fixedRanges(labels.count, maxParts: 16, minimumPerRange: 2048)
    }

    /// f(theta) for theta = (W row-major, b); writes the gradient.
    func callAsFunction(_ theta: [Double], _ gradient: inout [Double]) -> Double {
        let n = x.shape[0], d = x.shape[1], c = classCount
        let wCount = d * c
        let w = Tensor(shape: [d, c], data: theta[0..<wCount].map { Float($0) })
        let bias = theta[wCount...].map { Float($0) }
        let logits = withNoGrad { x.matmul(w) }
        let gStorage = TensorStorage(uninitializedCount: n * c)
        var lossParts = [Double](repeating: 0, count: ranges.count)
        var biasParts = [Double](repeating: 0, count: ranges.count * c)
        let invN = 1 / Float(n)
        let gp = SharedPointer(gStorage.pointer)
        logits.withUnsafeBufferPointer { lb in
            labels.withUnsafeBufferPointer { yb in
                lossParts.withUnsafeMutableBufferPointer { lossBuf in
                    biasParts.withUnsafeMutableBufferPointer { biasBuf in
                        let lp = SharedPointer(lossBuf.baseAddress!), bp = SharedPointer(biasBuf.baseAddress!)
                        concurrentItems(ranges.count) { t in
                            var loss = 0.0
                            let bAcc = bp.p + t * c
                            for i in ranges[t] {
                                let z = lb.baseAddress! + i * c, g = gp.p + i * c
                                let y = Int(yb[i])
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
                                    bAcc[j] += Double(r)
                                    g[j] = r * invN
                                }
                            }
                            lp.p[t] = loss
                        }
                    }
                }
            }
        }
        let gMatrix = Tensor(storage: gStorage, layout: Layout(contiguous: [n, c]))
        let gw = withNoGrad { x.transposed(0, 1).matmul(gMatrix) }
        let scale = 2 * regularization / Double(n)
        var penalty = 0.0
        gw.withUnsafeBufferPointer { gb in
            for k in 0..<wCount {
                penalty += theta[k] * theta[k]
                gradient[k] = Double(gb[k]) + scale * theta[k]
            }
        }
        for j in 0..<c {
            var s = 0.0
            for t in 0..<ranges.count { s += biasParts[t * c + j] }
            gradient[wCount + j] = s / Double(n)
        }
        return (lossParts.reduce(0, +) + regularization * penalty) / Double(n)
    }
}
