import Foundation
import Testing
@testable import SynTensor
import SynTestSupport

/// Optimizer trajectories against `torch.optim` (optim.safetensors) and schedules against their formulas.
@Suite struct OptimizerParityTests {
    let file = Fixtures.optim
    /// Three steps of updates of size ~lr: errors are a few float32 ulps of the parameters.
    let tol = Tolerance(atol: 1e-6, rtol: 1e-5)

    /// The three fixture parameters p0 [3, 4], p1 [4], p2 [2, 3] at their initial values.
    func parameters(_ tag: String) -> [Parameter] {
        (0..<3).map { Parameter(file["\(tag)/p\($0)/init"]) }
    }

    /// Replays the fixture's gradients through `optimizer` and compares the parameters after every step.
    func replay(_ tag: String, _ params: [Parameter], _ optimizer: any Optimizer) {
        var worst = ParityError()
        for step in 0..<3 {
            var grads = Gradients()
            for (k, p) in params.enumerated() { grads[p.value] = file["\(tag)/p\(k)/grad\(step)"] }
            optimizer.step(grads)
            for (k, p) in params.enumerated() {
                worst = worst.merged(expectClose(p.value, file["\(tag)/p\(k)/step\(step)"], tol, "\(tag) p\(k) after step \(step + 1)"))
            }
        }
        if parityReport { print("PARITY optim/\(tag): abs \(worst.maxAbs) rel \(worst.maxRel)") }
    }

    @Test func adamWWithTwoParameterGroups() {
        let p = parameters("adamw")
        // torch: group 0 {p0, p2} lr 1e-2 wd 0.05; group 1 {p1} lr 0.5e-2 wd 0.
        let groups = [ParameterGroup([("p0", p[0]), ("p2", p[2])]),
                      ParameterGroup([("p1", p[1])], weightDecayScale: 0, lrScale: 0.5)]
        let opt = AdamW(groups, learningRate: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-6, weightDecay: 0.05)
        replay("adamw", p, opt)
    }

    @Test func adamWDefaults() {
        let p = parameters("adamw_default")
        let opt = AdamW([ParameterGroup([("p0", p[0]), ("p1", p[1]), ("p2", p[2])])], learningRate: 1e-3)
        replay("adamw_default", p, opt)
    }

    @Test func sgdNesterovWithGroups() {
        let p = parameters("sgd_nesterov")
        // torch: group 0 {p0, p2} lr 0.1 wd 1e-2; group 1 {p1} lr 0.05 wd 0; momentum 0.9, Nesterov.
        let groups = [ParameterGroup([("p0", p[0]), ("p2", p[2])]),
                      ParameterGroup([("p1", p[1])], weightDecayScale: 0, lrScale: 0.5)]
        replay("sgd_nesterov", p, SGD(groups, learningRate: 0.1, momentum: 0.9, weightDecay: 1e-2, nesterov: true))
    }

    @Test func sgdMomentumWithDampening() {
        let p = parameters("sgd_dampening")
        let group = ParameterGroup([("p0", p[0]), ("p1", p[1]), ("p2", p[2])])
        replay("sgd_dampening", p, SGD([group], learningRate: 0.1, momentum: 0.8, dampening: 0.3, weightDecay: 1e-3))
    }

    @Test func sgdPlain() {
        let p = parameters("sgd_plain")
        let group = ParameterGroup([("p0", p[0]), ("p1", p[1]), ("p2", p[2])])
        replay("sgd_plain", p, SGD([group], learningRate: 0.1, weightDecay: 1e-2))
    }

    @Test func globalNormClipping() {
        let params = (0..<3).map { Parameter(Tensor.zeros(file["clip/p\($0)/grad"].shape)) }
        var grads = Gradients()
        for (k, p) in params.enumerated() { grads[p.value] = file["clip/p\(k)/grad"] }
        let norm = clipGradientNorm(&grads, parameters: params, maxNorm: 1.5)
        var worst = expectClose(Tensor([norm]), file["clip/norm"], tol, "total norm")
        for (k, p) in params.enumerated() {
            worst = worst.merged(expectClose(grads[p.value]!, file["clip/p\(k)/clipped"], tol, "clipped gradient of p\(k)"))
        }
        if parityReport { print("PARITY optim/clip: abs \(worst.maxAbs) rel \(worst.maxRel)") }
    }

    @Test func warmupCosineScheduleMatchesFormula() {
        let s = WarmupCosineSchedule(base: 1e-3, final: 1e-5, warmupSteps: 10, totalSteps: 50, warmupStart: 1e-6)
        for step in 0..<60 {
            let expected: Double
            if step < 10 {
                // DINO/SynCLR cosine_scheduler: warm-up is np.linspace(start, base, 10).
                expected = 1e-6 + (1e-3 - 1e-6) * Double(step) / 9
            } else {
                let t = min(Double(step - 10) / 40, 1)
                expected = 1e-5 + (1e-3 - 1e-5) * 0.5 * (1 + Foundation.cos(Double.pi * t))
            }
            // Float arithmetic: a few ulps of `base`.
            #expect(Swift.abs(Double(s.value(at: step)) - expected) <= 1e-9, "step \(step)")
        }
        // Rising schedule (SynCLR's weight decay 0.04 -> 0.4), no warm-up.
        let wd = WarmupCosineSchedule(base: 0.04, final: 0.4, totalSteps: 100)
        #expect(Swift.abs(wd.value(at: 0) - 0.04) < 1e-7)
        #expect(Swift.abs(wd.value(at: 50) - 0.22) < 1e-6)
        #expect(Swift.abs(wd.value(at: 100) - 0.4) < 1e-7)
        #expect(Swift.abs(wd.value(at: 150) - 0.4) < 1e-7)
        let lin = LinearSchedule(start: 0.04, end: 0.07, steps: 30)
        #expect(Swift.abs(lin.value(at: 15) - 0.055) < 1e-7)
        #expect(lin.value(at: 30) == 0.07 && lin.value(at: 99) == 0.07)
    }
}
