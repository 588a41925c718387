import Foundation
import Testing
@testable import SynTensor

/// Mean and standard deviation of `t` in Double.
func moments(_ t: Tensor) -> (mean: Double, std: Double) {
    let v = t.scalars.map(Double.init)
    let mean = v.reduce(0, +) / Double(v.count)
    let variance = v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(v.count)
    return (mean, variance.squareRoot())
}

/// Standard normal density and distribution function.
func phi(_ x: Double) -> Double { Foundation.exp(-x * x / 2) / (2 * Double.pi).squareRoot() }
/// Standard normal distribution function.
func Phi(_ x: Double) -> Double { (1 + Foundation.erf(x / 2.0.squareRoot())) / 2 }

/// Random initializers and dropout checked statistically (our Philox stream differs from PyTorch's,
/// so values cannot match; distributions must). Bounds are ~5 standard errors for n = 40 000.
@Suite struct RandomStatisticsTests {
    let n = 40_000
    /// Five standard errors of a mean of n samples with unit spread.
    var se: Double { 5 / Double(n).squareRoot() }

    @Test func normalAndUniform() {
        var g = RandomGenerator(seed: 11)
        let z = Tensor.randn([n], mean: 0.5, std: 2, generator: &g)
        let (m, s) = moments(z)
        #expect(Swift.abs(m - 0.5) < 2 * se && Swift.abs(s - 2) < 2 * se)
        let u = Tensor.uniform([n], low: -2, high: 3, generator: &g)
        let (mu, su) = moments(u)
        let v = u.scalars
        #expect(v.min()! >= -2 && v.max()! < 3)
        #expect(Swift.abs(mu - 0.5) < 1.5 * se && Swift.abs(su - 5 / 12.0.squareRoot()) < 1.5 * se)
    }

    @Test(arguments: [(0.0, 1.0, -2.0, 2.0), (0.0, 0.02, -2.0, 2.0), (1.0, 2.0, 0.0, 3.0), (0.0, 1.0, 0.5, 4.0)])
    func truncatedNormal(mean: Double, std: Double, a: Double, b: Double) {
        var g = RandomGenerator(seed: 12)
        let t = Tensor.truncatedNormal([n], mean: Float(mean), std: Float(std), a: Float(a), b: Float(b), generator: &g)
        let v = t.scalars
        #expect(v.min()! >= Float(a) && v.max()! <= Float(b))
        // Moments of N(mean, std^2) truncated to [a, b].
        let alpha = (a - mean) / std, beta = (b - mean) / std
        let Z = Phi(beta) - Phi(alpha)
        let expMean = mean + std * (phi(alpha) - phi(beta)) / Z
        let bAlpha = alpha.isFinite ? alpha * phi(alpha) : 0, bBeta = beta.isFinite ? beta * phi(beta) : 0
        let expVar = std * std * (1 + (bAlpha - bBeta) / Z - ((phi(alpha) - phi(beta)) / Z) * ((phi(alpha) - phi(beta)) / Z))
        let (m, s) = moments(t)
        #expect(Swift.abs(m - expMean) < se * std, "mean \(m), expected \(expMean)")
        #expect(Swift.abs(s - expVar.squareRoot()) < se * std, "std \(s), expected \(expVar.squareRoot())")
    }

    @Test func fanBasedInitializers() {
        var g = RandomGenerator(seed: 13)
        let shape = [200, 50, 2, 2]  // fan_in 200, fan_out 800
        let bound = (6.0 / 1000).squareRoot()
        let xu = Initializer.xavierUniform(gain: 1).make(shape, generator: &g)
        #expect(Double(xu.abs().max().item()) <= bound)
        #expect(Swift.abs(moments(xu).std - bound / 3.0.squareRoot()) < 0.01 * bound)
        let xn = Initializer.xavierNormal(gain: 2).make(shape, generator: &g)
        #expect(Swift.abs(moments(xn).std - 2 * (2.0 / 1000).squareRoot()) < 0.01 * 2 * (2.0 / 1000).squareRoot())
        // nn.Linear / nn.Conv2d default: kaiming_uniform(a = sqrt 5) -> bound 1 / sqrt(fan_in).
        let ku = Initializer.kaimingUniform(a: 5.0.squareRoot().float).make(shape, generator: &g)
        #expect(Double(ku.abs().max().item()) <= 1 / 200.0.squareRoot() + 1e-7)
        #expect(Swift.abs(moments(ku).std - 1 / 600.0.squareRoot()) < 0.01 / 600.0.squareRoot())
        let kn = Initializer.kaimingNormal(a: 0).make(shape, generator: &g)
        #expect(Swift.abs(moments(kn).std - (2.0 / 200).squareRoot()) < 0.01 * (2.0 / 200).squareRoot())
        let lin = Linear(64, 100, generator: &g)
        #expect(Double(lin.weight.value.abs().max().item()) <= 1 / 8.0 + 1e-7)
        #expect(Double(lin.bias!.value.abs().max().item()) <= 1 / 8.0 + 1e-7)
    }

    @Test func dropoutStatistics() {
        var g = RandomGenerator(seed: 14)
        let x = testTensor([200, 200], seed: 15, low: 0.5, high: 1.5).requiringGrad()
        let p: Float = 0.3
        let y = x.dropout(p, training: true, generator: &g)
        let xs = x.scalars, ys = y.scalars
        var dropped = 0
        for i in 0..<xs.count {
            if ys[i] == 0 { dropped += 1 } else { #expect(Swift.abs(ys[i] - xs[i] / (1 - p)) <= 1e-6 * Swift.abs(ys[i])) }
        }
        let rate = Double(dropped) / Double(xs.count)
        #expect(Swift.abs(rate - 0.3) < 5 * (0.3 * 0.7 / Double(xs.count)).squareRoot())
        #expect(Swift.abs(moments(y).mean - moments(x).mean) < 0.01)
        // The gradient is the same mask scaled by 1 / (1 - p).
        let grad = y.sum().backward()[x]!.scalars
        for i in 0..<xs.count where (ys[i] == 0) != (grad[i] == 0) {
            Issue.record("element \(i): gradient mask differs from the forward mask")
            break
        }
        #expect(x.dropout(p, training: false, generator: &g).scalars == xs)
    }
}
