/// Settings of the L-BFGS minimizer.
public struct LBFGSOptions: Codable, Sendable, Equatable {
    /// Number of (s, y) correction pairs kept.
    public var memory: Int
    /// Maximum number of iterations (accepted line-search steps).
    public var maxIterations: Int
    /// Stop when the largest absolute gradient component is at most this.
    public var gradientTolerance: Double
    /// Stop when one step lowers f by at most this times max(|f|, 1) (0 disables).
    public var functionTolerance: Double
    /// Maximum objective evaluations in one line search.
    public var maxLineSearchEvaluations: Int
    /// Armijo constant c1 of the strong Wolfe conditions.
    public var sufficientDecrease: Double
    /// Curvature constant c2 of the strong Wolfe conditions.
    public var curvature: Double
    /// Relative band |f - f0| <= epsilon |f0| in which the approximate Wolfe test replaces Armijo (0 disables).
    public var approximateWolfeEpsilon: Double

    /// Defaults suited to convex, smooth objectives evaluated in single precision.
    public init(memory: Int = 10, maxIterations: Int = 500, gradientTolerance: Double = 1e-5,
                functionTolerance: Double = 1e-10, maxLineSearchEvaluations: Int = 25,
                sufficientDecrease: Double = 1e-4, curvature: Double = 0.9, approximateWolfeEpsilon: Double = 1e-6) {
        self.memory = memory
        self.maxIterations = maxIterations
        self.gradientTolerance = gradientTolerance
        self.functionTolerance = functionTolerance
        self.maxLineSearchEvaluations = maxLineSearchEvaluations
        self.sufficientDecrease = sufficientDecrease
        self.curvature = curvature
        self.approximateWolfeEpsilon = approximateWolfeEpsilon
    }

    enum CodingKeys: String, CodingKey {
        case memory, maxIterations = "max_iterations", gradientTolerance = "gradient_tolerance"
        case functionTolerance = "function_tolerance", maxLineSearchEvaluations = "max_line_search_evaluations"
        case sufficientDecrease = "sufficient_decrease", curvature, approximateWolfeEpsilon = "approximate_wolfe_epsilon"
    }
}

/// Why L-BFGS stopped.
public enum LBFGSStatus: String, Codable, Sendable {
    /// The gradient tolerance was met.
    case gradientConverged = "gradient_converged"
    /// A step improved f by less than the function tolerance.
    case functionConverged = "function_converged"
    /// The iteration budget ran out.
    case maxIterations = "max_iterations"
    /// No step satisfying the Wolfe conditions was found (typically at the precision limit of f).
    case lineSearchFailed = "line_search_failed"
    /// The objective was not finite at the starting point.
    case nonFiniteStart = "non_finite_start"

    /// True for the two convergence criteria.
    public var converged: Bool { self == .gradientConverged || self == .functionConverged }
}

/// Outcome of an L-BFGS run.
public struct LBFGSResult: Sendable {
    /// The final point.
    public var x: [Double]
    /// f at `x`.
    public var value: Double
    /// max |gradient| at `x`.
    public var gradientInfNorm: Double
    /// Accepted steps.
    public var iterations: Int
    /// Objective evaluations (line-search trials included).
    public var evaluations: Int
    /// Why it stopped.
    public var status: LBFGSStatus
}

/// Limited-memory BFGS with a strong-Wolfe line search, for smooth unconstrained minimization.
///
/// Reference: Nocedal & Wright, Numerical Optimization, 2nd ed. (2006): Algorithm 7.4 (two-loop
/// recursion) and 7.5 (L-BFGS) with H0 = (s'y / y'y) I, Algorithms 3.5 and 3.6 (line search
/// with bracketing and zoom), cubic interpolation (eq. 3.59) safeguarded by bisection. Near the
/// precision limit of f, where Armijo's test compares rounding noise, steps may instead pass the
/// approximate Wolfe test of Hager & Zhang (SIAM J. Optim. 16(1), 2005): f <= f0 + eps |f0| and
/// f'(a) <= (1 - 2 c1) |f'(0)|, which for a quadratic implies the Armijo condition exactly.
public enum LBFGS {
    /// Minimizes `objective` from `x0`; `objective(x, &gradient)` returns f(x) and writes its gradient.
    public static func minimize(from x0: [Double], options: LBFGSOptions = LBFGSOptions(),
                                objective: (_ x: [Double], _ gradient: inout [Double]) -> Double) -> LBFGSResult {
        let n = x0.count
        var evaluations = 0
        func evaluate(_ x: [Double]) -> (Double, [Double]) {
            var g = [Double](repeating: 0, count: n)
            let f = objective(x, &g)
            evaluations += 1
            return (f, g)
        }
        var x = x0
        var (f, g) = evaluate(x)
        if !f.isFinite || g.contains(where: { !$0.isFinite }) {
            return LBFGSResult(x: x, value: f, gradientInfNorm: .infinity, iterations: 0, evaluations: evaluations, status: .nonFiniteStart)
        }
        let m = max(1, options.memory)
        var sHistory: [[Double]] = [], yHistory: [[Double]] = [], rhoHistory: [Double] = []
        var iterations = 0
        var status = LBFGSStatus.maxIterations
        var alpha = [Double](repeating: 0, count: m)

        while true {
            if infNorm(g) <= options.gradientTolerance {
                status = .gradientConverged
                break
            }
            if iterations >= options.maxIterations {
                status = .maxIterations
                break
            }
            // Two-loop recursion: d = -H g.
            var d = g.map { -$0 }
            let h = sHistory.count
            if h > 0 {
                for i in stride(from: h - 1, through: 0, by: -1) {
                    alpha[i] = rhoHistory[i] * dot(sHistory[i], d)
                    axpy(-alpha[i], yHistory[i], &d)
                }
                let gamma = dot(sHistory[h - 1], yHistory[h - 1]) / dot(yHistory[h - 1], yHistory[h - 1])
                for j in 0..<n { d[j] *= gamma }
                for i in 0..<h {
                    let beta = rhoHistory[i] * dot(yHistory[i], d)
                    axpy(alpha[i] - beta, sHistory[i], &d)
                }
            }
            var dg = dot(d, g)
            if !(dg < 0) {
                // Not a descent direction (numerical trouble): restart from steepest descent.
                sHistory.removeAll(); yHistory.removeAll(); rhoHistory.removeAll()
                d = g.map { -$0 }
                dg = dot(d, g)
            }
            let firstStep = sHistory.isEmpty ? min(1, 1 / max(dot(g, g).squareRoot(), 1e-300)) : 1
            var step = lineSearch(x: x, f0: f, dg0: dg, g0: g, direction: d, initialStep: firstStep,
                                  options: options, evaluate: evaluate)
            if step == nil && !sHistory.isEmpty {
                // Retry once along steepest descent with a fresh memory.
                sHistory.removeAll(); yHistory.removeAll(); rhoHistory.removeAll()
                d = g.map { -$0 }
                dg = dot(d, g)
                step = lineSearch(x: x, f0: f, dg0: dg, g0: g, direction: d,
                                  initialStep: min(1, 1 / max((-dg).squareRoot(), 1e-300)),
                                  options: options, evaluate: evaluate)
            }
            guard let accepted = step else {
                status = .lineSearchFailed
                break
            }
            iterations += 1
            var s = [Double](repeating: 0, count: n), y = [Double](repeating: 0, count: n)
            for j in 0..<n {
                s[j] = accepted.x[j] - x[j]
                y[j] = accepted.gradient[j] - g[j]
            }
            let sy = dot(s, y), yy = dot(y, y)
            if sy > 1e-12 * yy && yy > 0 {
                if sHistory.count == m {
                    sHistory.removeFirst(); yHistory.removeFirst(); rhoHistory.removeFirst()
                }
                sHistory.append(s)
                yHistory.append(y)
                rhoHistory.append(1 / sy)
            }
            let previous = f
            x = accepted.x
            f = accepted.value
            g = accepted.gradient
            // A step accepted by the approximate Wolfe test may not lower f at all (noise); only a
            // measured, tiny decrease counts as convergence in f.
            let decrease = previous - f
            if options.functionTolerance > 0 && decrease >= 0 && decrease <= options.functionTolerance * max(abs(previous), abs(f), 1) {
                status = infNorm(g) <= options.gradientTolerance ? .gradientConverged : .functionConverged
                break
            }
        }
        return LBFGSResult(x: x, value: f, gradientInfNorm: infNorm(g), iterations: iterations,
                           evaluations: evaluations, status: status)
    }

    /// One trial point of the line search.
    struct Trial {
        var step: Double
        var x: [Double]
        var value: Double
        var gradient: [Double]
        var slope: Double
    }

    /// Strong-Wolfe line search (N&W Algorithm 3.5 with zoom, Algorithm 3.6); nil when none is found.
    static func lineSearch(x: [Double], f0: Double, dg0: Double, g0: [Double], direction d: [Double],
                           initialStep: Double, options: LBFGSOptions,
                           evaluate: (_ x: [Double]) -> (Double, [Double])) -> Trial? {
        let c1 = options.sufficientDecrease, c2 = options.curvature
        var budget = max(2, options.maxLineSearchEvaluations)
        func trial(_ a: Double) -> Trial {
            budget -= 1
            var xt = x
            axpy(a, d, &xt)
            let (ft, gt) = evaluate(xt)
            let finite = ft.isFinite && !gt.contains(where: { !$0.isFinite })
            return Trial(step: a, x: xt, value: finite ? ft : .infinity, gradient: gt, slope: finite ? dot(gt, d) : .nan)
        }
        let band = options.approximateWolfeEpsilon * abs(f0)
        /// Sufficient decrease: Armijo, or the approximate Wolfe test inside the noise band.
        func decreases(_ t: Trial) -> Bool {
            t.value <= f0 + c1 * t.step * dg0 || (t.value <= f0 + band && t.slope <= (2 * c1 - 1) * dg0)
        }
        func curvatureHolds(_ t: Trial) -> Bool { abs(t.slope) <= -c2 * dg0 }

        let origin = Trial(step: 0, x: x, value: f0, gradient: g0, slope: dg0)
        var previous = origin
        var a = initialStep
        var first = true
        var lo: Trial, hi: Trial
        // Bracketing phase.
        while true {
            let t = trial(a)
            if !decreases(t) || (!first && t.value > previous.value + band) {
                lo = previous
                hi = t
                break
            }
            if curvatureHolds(t) { return t }
            if t.slope >= 0 {
                lo = t
                hi = previous
                break
            }
            if budget <= 0 { return t } // Sufficient decrease holds: accept a weak step.
            previous = t
            first = false
            a = min(a * 2, 1e20)
        }
        // Zoom phase: lo satisfies Armijo and has the lowest value seen; the minimizer lies between lo and hi.
        while budget > 0 {
            let left = min(lo.step, hi.step), right = max(lo.step, hi.step)
            let width = right - left
            if width <= 1e-14 * max(right, 1e-300) { break }
            var a = cubicMinimizer(lo, hi) ?? (lo.step + hi.step) / 2
            if !(a > left + 0.1 * width && a < right - 0.1 * width) { a = (lo.step + hi.step) / 2 }
            let t = trial(a)
            if !decreases(t) || t.value > lo.value + band {
                hi = t
            } else {
                if curvatureHolds(t) { return t }
                if t.slope * (hi.step - lo.step) >= 0 { hi = lo }
                lo = t
            }
        }
        // Out of budget: a step that only satisfies sufficient decrease still makes progress.
        return lo.step > 0 && decreases(lo) ? lo : nil
    }

    /// Minimizer of the cubic interpolating f and f' at two trials (N&W eq. 3.59), or nil.
    static func cubicMinimizer(_ p: Trial, _ q: Trial) -> Double? {
        guard p.value.isFinite, q.value.isFinite, p.slope.isFinite, q.slope.isFinite, p.step != q.step else { return nil }
        let d1 = p.slope + q.slope - 3 * (p.value - q.value) / (p.step - q.step)
        let disc = d1 * d1 - p.slope * q.slope
        guard disc >= 0 else { return nil }
        let d2 = (q.step > p.step ? 1.0 : -1.0) * disc.squareRoot()
        let denom = q.slope - p.slope + 2 * d2
        guard denom != 0 else { return nil }
        let a = q.step - (q.step - p.step) * (q.slope + d2 - d1) / denom
        return a.isFinite ? a : nil
    }
}

@inline(__always)
private func dot(_ a: [Double], _ b: [Double]) -> Double {
    var s = 0.0
    for i in 0..<a.count { s += a[i] * b[i] }
    return s
}

@inline(__always)
private func axpy(_ alpha: Double, _ x: [Double], _ y: inout [Double]) {
    for i in 0..<x.count { y[i] += alpha * x[i] }
}

@inline(__always)
private func infNorm(_ a: [Double]) -> Double {
    var m = 0.0
    for v in a { m = max(m, abs(v)) }
    return m
}
