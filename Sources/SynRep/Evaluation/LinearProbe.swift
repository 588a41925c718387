import Foundation
import SynTensor

/// Settings of the linear probe (regularization sweep, validation split, optimizer).
public struct LinearProbeConfig: Codable, Sendable, Equatable {
    /// Coarse grid of L2 strengths lambda (sum-of-losses units, see `LogisticRegression`), any order.
    public var regularizationGrid: [Double]
    /// Log-bisection rounds around the best coarse value (each tries best / r and best * r, r = sqrt of the previous ratio).
    public var refinementSteps: Int
    /// Stop walking the coarse grid (strong to weak) after this many values in a row fail to beat the best; nil walks it all.
    public var patience: Int?
    /// Iteration cap of the sweep fits (validation accuracy settles long before the gradient tolerance on ill-conditioned inputs).
    public var sweepMaxIterations: Int
    /// Share of each training class held out to choose lambda.
    public var validationFraction: Double
    /// Seed of the stratified split.
    public var seed: UInt64
    /// L-BFGS settings of every fit.
    public var optimizer: LBFGSOptions

    /// Default sweep: 12 values, one per decade over the paper's range 1e-6...1e5 (the paper uses 45),
    /// walked from strong to weak until 3 in a row fail to improve, then 2 log-bisection rounds
    /// around the best: at most 16 fits (capped at 200 iterations) on 80% of the training set.
    /// The final refit uses `optimizer` (default: up to 500 iterations, gradient tolerance 1e-5).
    public init(regularizationGrid: [Double] = LinearProbeConfig.logSpaced(from: 1e-6, to: 1e5, count: 12),
                refinementSteps: Int = 2, patience: Int? = 3, sweepMaxIterations: Int = 200,
                validationFraction: Double = 0.2, seed: UInt64 = 0, optimizer: LBFGSOptions = LBFGSOptions()) {
        self.regularizationGrid = regularizationGrid
        self.refinementSteps = refinementSteps
        self.patience = patience
        self.sweepMaxIterations = sweepMaxIterations
        self.validationFraction = validationFraction
        self.seed = seed
        self.optimizer = optimizer
    }

    /// `count` values from `lo` to `hi` (inclusive), evenly spaced in log10; empty when `count` < 1
    /// or a bound is not positive (`validate()` then refuses the empty grid by name).
    public static func logSpaced(from lo: Double, to hi: Double, count: Int) -> [Double] {
        guard lo > 0, hi > 0, count >= 1 else { return [] }
        if count == 1 { return [lo] }
        let a = log10(lo), b = log10(hi)
        return (0..<count).map { pow(10, a + (b - a) * Double($0) / Double(count - 1)) }
    }

    enum CodingKeys: String, CodingKey {
        case regularizationGrid = "regularization_grid", refinementSteps = "refinement_steps", patience
        case sweepMaxIterations = "sweep_max_iterations"
        case validationFraction = "validation_fraction", seed, optimizer
    }

    /// Throws a `ParameterError` naming the first value outside its allowed range.
    public func validate() throws {
        try ParameterError.require(!regularizationGrid.isEmpty, "regularizationGrid", "[] (0 values)",
                                   allowed: "at least 1 value (a grid of count >= 1)")
        try ParameterError.require(regularizationGrid.allSatisfy({ $0 >= 0 && $0.isFinite }), "regularizationGrid", regularizationGrid,
                                   allowed: "finite values >= 0")
        try ParameterError.require(validationFraction > 0 && validationFraction < 1, "validationFraction", validationFraction,
                                   allowed: "in (0, 1)")
        try ParameterError.require(refinementSteps >= 0, "refinementSteps", refinementSteps, allowed: ">= 0")
        try ParameterError.require((patience ?? 1) >= 1, "patience", patience ?? 0, allowed: ">= 1 (or nil)")
        try ParameterError.require(sweepMaxIterations >= 0, "sweepMaxIterations", sweepMaxIterations, allowed: ">= 0")
        try ParameterError.require(optimizer.memory > 0, "optimizer.memory", optimizer.memory, allowed: ">= 1")
        try ParameterError.require(optimizer.maxIterations >= 0, "optimizer.maxIterations", optimizer.maxIterations, allowed: ">= 0")
    }
}

/// One point of the validation curve.
public struct ValidationPoint: Codable, Sendable, Equatable {
    /// L2 strength lambda.
    public var regularization: Double
    /// Validation top-1 accuracy, percent.
    public var accuracy: Double
    /// L-BFGS iterations of this fit.
    public var iterations: Int
    /// How the fit stopped.
    public var status: LBFGSStatus
    /// Wall-clock seconds of this fit.
    public var seconds: Double
}

/// Linear-probe outcome (accuracies in percent).
public struct LinearProbeResult: Codable, Sendable, Equatable {
    /// Test top-1 accuracy of the refit model.
    public var top1: Double
    /// Test mean per-class accuracy.
    public var meanPerClass: Double
    /// Test accuracy of each class (nil when absent).
    public var perClass: [Double?]
    /// Chosen L2 strength lambda.
    public var regularization: Double
    /// Validation accuracy at the chosen lambda.
    public var validationAccuracy: Double
    /// Every lambda tried (early stopping skips the rest of the grid), ascending, with its validation accuracy.
    public var validationCurve: [ValidationPoint]
    /// Accuracy of the refit model on the full training set.
    public var trainTop1: Double
    /// L-BFGS iterations of the final refit.
    public var iterations: Int
    /// How the final refit stopped.
    public var status: LBFGSStatus
    /// Feature width.
    public var dimension: Int
    /// Number of classes.
    public var classCount: Int
    /// Rows fitted in the sweep.
    public var sweepTrainCount: Int
    /// Held-out rows of the sweep.
    public var validationCount: Int
    /// Rows of the final refit (the full training set).
    public var trainCount: Int
    /// Test rows scored.
    public var testCount: Int
    /// Wall-clock seconds of the whole probe.
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case top1, meanPerClass = "mean_per_class", perClass = "per_class", regularization
        case validationAccuracy = "validation_accuracy", validationCurve = "validation_curve"
        case trainTop1 = "train_top1", iterations, status, dimension, classCount = "class_count"
        case sweepTrainCount = "sweep_train_count", validationCount = "validation_count"
        case trainCount = "train_count", testCount = "test_count", seconds
    }
}

/// The fine-grained linear-probe protocol: standardize, sweep lambda on a held-out split, refit, test.
///
/// Features are standardized with mean/std of the rows being fitted (the sweep's training rows,
/// then the full training set). Lambda is swept from strong to weak regularization, each fit
/// warm-started from the previous solution, stopping early once `patience` values in a row fail
/// to improve; ties in validation accuracy go to the stronger lambda. The best lambda is refit on the whole training set (warm-started) and scored on test.
/// Memory: one standardized copy of the training features plus one of the test features.
public struct LinearProbe: Sendable {
    /// The settings.
    public let config: LinearProbeConfig

    /// A probe with `config`.
    public init(config: LinearProbeConfig = LinearProbeConfig()) {
        self.config = config
    }

    /// Runs the protocol; `progress` sees each validation point as soon as its fit ends.
    public func evaluate(train: LabeledFeatures, test: LabeledFeatures, classCount: Int? = nil,
                         progress: ((ValidationPoint) -> Void)? = nil) throws -> LinearProbeResult {
        try evaluateWithModel(train: train, test: test, classCount: classCount, progress: progress).result
    }

    /// Runs the protocol and also returns the refit classifier with its standardizer.
    public func evaluateWithModel(train: LabeledFeatures, test: LabeledFeatures, classCount: Int? = nil,
                                  progress: ((ValidationPoint) -> Void)? = nil) throws
        -> (result: LinearProbeResult, model: LogisticModel, standardizer: FeatureStandardizer) {
        try config.validate()
        let clock = ContinuousClock()
        let started = clock.now
        let classes = try resolveClassCount(train: train, test: test, explicit: classCount)
        let d = train.dimension
        let split = StratifiedSplit(labels: train.labels, validationFraction: config.validationFraction, seed: config.seed)
        guard !split.validation.isEmpty, !split.train.isEmpty else {
            throw EvaluationError.empty("the validation split (\(train.count) training rows, fraction \(config.validationFraction))")
        }
        let nFit = split.train.count, nVal = split.validation.count, n = train.count

        // One working buffer: sweep-training rows, then validation rows.
        let order = split.train + split.validation
        let sweepStats = FeatureStandardizer(fitting: train.features, rows: split.train)
        let storage = TensorStorage(uninitializedCount: n * d)
        sweepStats.write(train.features, rows: order, into: storage.pointer)
        let work = Tensor(storage: storage, layout: Layout(contiguous: [n, d]))
        let fitX = work.narrow(0, start: 0, length: nFit)
        let valX = work.narrow(0, start: nFit, length: nVal)
        let fitY = split.train.map { train.labels[$0] }
        let valY = split.validation.map { train.labels[$0] }

        var curve: [ValidationPoint] = []
        func tryLambda(_ lambda: Double, from start: LogisticModel?) -> (LogisticModel, Double) {
            let t0 = clock.now
            var options = config.optimizer
            options.maxIterations = config.sweepMaxIterations
            let fit = LogisticRegression.fit(features: fitX, labels: fitY, classCount: classes, regularization: lambda,
                                             initial: start, options: options)
            let acc = ClassificationMetrics(predictions: fit.model.predict(valX), labels: valY, classCount: classes).top1
            let point = ValidationPoint(regularization: lambda, accuracy: acc, iterations: fit.optimizer.iterations,
                                        status: fit.optimizer.status, seconds: seconds(clock.now - t0))
            curve.append(point)
            progress?(point)
            return (fit.model, acc)
        }
        // Coarse path, strong to weak, each fit warm-started from the previous one.
        let grid = Array(Set(config.regularizationGrid)).sorted()
        var previous: LogisticModel? = nil
        var best: (lambda: Double, accuracy: Double, model: LogisticModel)? = nil
        var sinceBest = 0
        for lambda in grid.reversed() {
            let (m, acc) = tryLambda(lambda, from: previous)
            previous = m
            if best == nil || acc > best!.accuracy {
                best = (lambda, acc, m)
                sinceBest = 0
            } else {
                sinceBest += 1
                if let p = config.patience, sinceBest >= p { break }
            }
        }
        previous = nil
        // Log-bisection around the best value, warm-started from the best model.
        var tried = Set(grid)
        if var ratio = neighbourRatio(grid.filter { $0 > 0 }, around: best!.lambda) {
            for _ in 0..<config.refinementSteps {
                ratio = ratio.squareRoot()
                let centre = best!
                for lambda in [centre.lambda * ratio, centre.lambda / ratio] where !tried.contains(lambda) {
                    tried.insert(lambda)
                    let (m, acc) = tryLambda(lambda, from: centre.model)
                    if acc > best!.accuracy || (acc == best!.accuracy && lambda > best!.lambda) { best = (lambda, acc, m) }
                }
            }
        }
        let chosen = best!
        best = nil

        // Refit on all training rows, standardized with full-training statistics.
        let fullStats = FeatureStandardizer(fitting: train.features)
        fullStats.write(train.features, rows: order, into: storage.pointer)
        let fullY = order.map { train.labels[$0] }
        let warm = translate(chosen.model, from: sweepStats, to: fullStats)
        let final = LogisticRegression.fit(features: work, labels: fullY, classCount: classes, regularization: chosen.lambda,
                                           initial: warm, options: config.optimizer)
        let trainAcc = ClassificationMetrics(predictions: final.model.predict(work), labels: fullY, classCount: classes).top1
        let testX = fullStats.transform(test.features)
        let testMetrics = ClassificationMetrics(predictions: final.model.predict(testX), labels: test.labels, classCount: classes)
        curve.sort { $0.regularization < $1.regularization }
        let result = LinearProbeResult(
            top1: testMetrics.top1, meanPerClass: testMetrics.meanPerClass, perClass: testMetrics.perClass,
            regularization: chosen.lambda, validationAccuracy: chosen.accuracy, validationCurve: curve,
            trainTop1: trainAcc, iterations: final.optimizer.iterations, status: final.optimizer.status,
            dimension: d, classCount: classes, sweepTrainCount: nFit, validationCount: nVal,
            trainCount: n, testCount: test.count, seconds: seconds(clock.now - started))
        return (result, final.model, fullStats)
    }

    /// Ratio between `value` and its nearest grid neighbour (for log-bisection), nil when undefined.
    private func neighbourRatio(_ grid: [Double], around value: Double) -> Double? {
        guard value > 0, grid.count >= 2, let i = grid.firstIndex(of: value) else { return nil }
        return i > 0 ? grid[i] / grid[i - 1] : grid[i + 1] / grid[i]
    }

    /// The same classifier expressed on features standardized with `target` instead of `source`.
    private func translate(_ m: LogisticModel, from source: FeatureStandardizer, to target: FeatureStandardizer) -> LogisticModel {
        var out = m
        let c = m.classCount
        for j in 0..<m.dimension {
            let ratio = Double(target.scale[j]) / Double(source.scale[j])
            let shift = (Double(target.mean[j]) - Double(source.mean[j])) / Double(source.scale[j])
            for k in 0..<c {
                out.weights[j * c + k] = m.weights[j * c + k] * ratio
                out.bias[k] += m.weights[j * c + k] * shift
            }
        }
        return out
    }
}

/// Seconds in a clock duration.
func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
}
