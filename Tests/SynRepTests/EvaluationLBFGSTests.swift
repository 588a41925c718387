import Foundation
import Testing
@testable import SynRep
import SynTensor
import SynTestSupport

@Suite("Evaluation: L-BFGS")
struct EvaluationLBFGSTests {
    /// Solves A x = b by Gaussian elimination with partial pivoting.
    private func solve(_ a: [[Double]], _ b: [Double]) -> [Double] {
        var m = a, v = b
        let n = b.count
        for col in 0..<n {
            let p = (col..<n).max { abs(m[$0][col]) < abs(m[$1][col]) }!
            m.swapAt(col, p)
            v.swapAt(col, p)
            for r in (col + 1)..<n {
                let f = m[r][col] / m[col][col]
                for c in col..<n { m[r][c] -= f * m[col][c] }
                v[r] -= f * v[col]
            }
        }
        var x = [Double](repeating: 0, count: n)
        for r in stride(from: n - 1, through: 0, by: -1) {
            var s = v[r]
            for c in (r + 1)..<n { s -= m[r][c] * x[c] }
            x[r] = s / m[r][r]
        }
        return x
    }

    @Test("Ill-conditioned quadratic: matches the closed form A^-1 b")
    func quadratic() {
        var g = RandomGenerator(seed: 11)
        let n = 12
        let q = (0..<n).map { _ in (0..<n).map { _ in Double(g.normal()) } }
        // A = Q' diag(1..1000) Q + I: condition number around 1e3.
        var a = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
        for i in 0..<n { for j in 0..<n {
            var s = i == j ? 1.0 : 0
            for k in 0..<n { s += q[k][i] * q[k][j] * pow(1000, Double(k) / Double(n - 1)) / Double(n) }
            a[i][j] = s
        } }
        let b = (0..<n).map { _ in Double(g.normal()) }
        let exact = solve(a, b)
        let r = LBFGS.minimize(from: [Double](repeating: 0, count: n),
                               options: LBFGSOptions(maxIterations: 1000, gradientTolerance: 1e-9, functionTolerance: 0)) { x, grad in
            var f = 0.0
            for i in 0..<n {
                var ax = 0.0
                for j in 0..<n { ax += a[i][j] * x[j] }
                grad[i] = ax - b[i]
                f += 0.5 * x[i] * ax - b[i] * x[i]
            }
            return f
        }
        #expect(r.status == .gradientConverged)
        let err = zip(r.x, exact).map { abs($0 - $1) }.max()!
        #expect(err < 1e-8, "max error \(err)")
    }

    @Test("Rosenbrock from (-1.2, 1) reaches (1, 1)")
    func rosenbrock() {
        let r = LBFGS.minimize(from: [-1.2, 1], options: LBFGSOptions(gradientTolerance: 1e-9, functionTolerance: 0)) { x, g in
            let a = 1 - x[0], b = x[1] - x[0] * x[0]
            g[0] = -2 * a - 400 * x[0] * b
            g[1] = 200 * b
            return a * a + 100 * b * b
        }
        #expect(r.status == .gradientConverged)
        #expect(abs(r.x[0] - 1) < 1e-6 && abs(r.x[1] - 1) < 1e-6)
        #expect(r.iterations < 100)
    }

    @Test("Line search returns a strong-Wolfe step")
    func strongWolfe() {
        // f(x) = (x - 3)^2 from 0 along +1: with c2 = 0.1 the step must land where |f'| <= 0.6.
        let options = LBFGSOptions(curvature: 0.1)
        let step = LBFGS.lineSearch(x: [0], f0: 9, dg0: -6, g0: [-6], direction: [1], initialStep: 1, options: options) { x in
            ((x[0] - 3) * (x[0] - 3), [2 * (x[0] - 3)])
        }
        let s = try! #require(step)
        #expect(s.value <= 9 - 1e-4 * s.step * 6)
        #expect(abs(s.slope) <= 0.6)
        // Overshooting into a region where f is +infinity backtracks.
        let back = LBFGS.lineSearch(x: [0], f0: 9, dg0: -6, g0: [-6], direction: [1], initialStep: 100, options: options) { x in
            x[0] > 4 ? (.infinity, [0]) : ((x[0] - 3) * (x[0] - 3), [2 * (x[0] - 3)])
        }
        let t = try! #require(back)
        #expect(abs(t.slope) <= 0.6 && t.value.isFinite)
    }

    @Test("A non-finite start is reported, not iterated")
    func nonFiniteStart() {
        let r = LBFGS.minimize(from: [1]) { _, g in
            g[0] = 0
            return .nan
        }
        #expect(r.status == .nonFiniteStart)
        #expect(r.iterations == 0)
    }
}
