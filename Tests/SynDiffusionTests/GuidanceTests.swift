import Foundation
import SynTensor
import Testing
@testable import SynDiffusion

/// Counts predictor calls and their batch sizes.
final class CallCounter: NoisePredictor, @unchecked Sendable {
    var batches: [Int] = []
    func predict(_ sample: Tensor, timesteps: Tensor, conditioning: Conditioning) -> Tensor {
        batches.append(sample.shape[0])
        return DummyModel().predict(sample, timesteps: timesteps, conditioning: conditioning)
    }
}

@Suite struct GuidanceTests {
    /// diffusers' pipeline loop with guidance (uncond first in one batch), per step.
    @Test func guidedSamplingMatchesDiffusersLoop() throws {
        for c in try Fixtures.load("guidance", as: CaseFile<GuidanceCase>.self).cases {
            let s = makeScheduler(c.scheduler, c.config, stepKwargs: c.step_kwargs)
            let b = c.shape[0], ch = c.shape[1]
            let tape = NoiseTape(c.noise)
            var traj: [[Float]] = []
            let out = sample(predictor: DummyModel(), scheduler: s,
                             conditioning: Conditioning(pooled: Tensor(shape: [b, ch], data: c.cond)),
                             unconditional: Conditioning(pooled: Tensor(shape: [b, ch], data: c.uncond)),
                             initialNoise: Tensor(shape: c.shape, data: c.x_T),
                             guidance: ClassifierFreeGuidance(scale: c.guidance, rescale: c.guidance_rescale),
                             steps: c.steps, noise: tape.next, onStep: { _, _, x in traj.append(x.scalars) })
            #expect(traj.count == c.trajectory.count, "\(c.name): step count")
            let worst = zip(traj, c.trajectory).map { deviation($0, $1) }.max() ?? .infinity
            #expect(worst <= parityTolerance, "\(c.name): deviation \(worst)")
            #expect(out.scalars == traj.last, "\(c.name): returned sample")
            #expect(tape.exhausted, "\(c.name): noise draws")
            print("parity \(c.name): steps \(c.steps) trajectory \(worst)")
        }
    }

    /// The fixture exercises what it claims: rescaled cases, and thresholding that goes beyond a clip.
    @Test func refinementCasesAreExercised() throws {
        let cases = try Fixtures.load("guidance", as: CaseFile<GuidanceCase>.self).cases
        #expect(cases.filter { $0.guidance_rescale > 0 }.count >= 2)
        let thresholded = cases.filter { $0.config["thresholding"]?.bool == true }
        #expect(thresholded.count >= 2)
        for c in thresholded { #expect(c.threshold_active_steps >= c.steps / 2, "\(c.name): thresholding rarely active") }
    }

    /// Dynamic thresholding by hand: per image, s = quantile(|x0|, q) clamped to [1, max].
    @Test func dynamicThresholdingFormula() {
        // Image 0: |x| = 0.5, 1, 2, 4 -> quantile 0.5 = 1.5 (linear interpolation), so values / 1.5 in [-1, 1].
        // Image 1: all within 1 -> s = 1, unchanged. Image 2: quantile 1.0 = 8, clamped to max 3.
        let x = Tensor(shape: [3, 1, 2, 2], data: [0.5, -1, 2, -4, 0.1, -0.2, 0.3, 0.9, 8, 0, 1, -2])
        let half = DynamicThresholding(ratio: 0.5, maxValue: 3)(x.narrow(0, start: 0, length: 2))
        let expected0: [Float] = [0.5 / 1.5, -1 / 1.5, 1, -1]
        #expect(deviation(Array(half.scalars[0..<4]), expected0) < 1e-6)
        #expect(Array(half.scalars[4..<8]) == [0.1, -0.2, 0.3, 0.9])
        let full = DynamicThresholding(ratio: 1, maxValue: 3)(x)
        let expected2: [Float] = [1, 0, 1.0 / 3, -2.0 / 3]
        #expect(deviation(Array(full.scalars[8..<12]), expected2) < 1e-6)
    }

    @Test func rescaleMatchesConditionalStd() {
        // With rescale 1 the guided output has exactly the conditional output's per-image std.
        var g = RandomGenerator(seed: 3)
        let u = Tensor.randn([2, 1, 3, 3], generator: &g), c = Tensor.randn([2, 1, 3, 3], generator: &g) * 2
        let out = ClassifierFreeGuidance(scale: 5, rescale: 1).combine(unconditional: u, conditional: c)
        let plain = ClassifierFreeGuidance(scale: 5).combine(unconditional: u, conditional: c)
        let stdOut = out.variance(axes: [1, 2, 3]).sqrt().scalars, stdCond = c.variance(axes: [1, 2, 3]).sqrt().scalars
        #expect(deviation(stdOut, stdCond) < 1e-5)
        #expect(deviation(out.scalars, plain.scalars) > 0.1)
    }

    @Test func intervalUsesConditionalAloneOutside() {
        let x = Tensor(shape: [3, 2, 2, 2], repeating: 0.5)
        let cond = Conditioning(pooled: Tensor(shape: [3, 2], repeating: 1))
        let uncond = Conditioning(pooled: Tensor(shape: [3, 2], repeating: 0))
        let counter = CallCounter()
        var s = DDIMScheduler.stableDiffusion()
        s.setTimesteps(4)
        let ts = s.timesteps
        let cfg = ClassifierFreeGuidance(scale: 3, interval: ts[2]...ts[1])
        _ = sample(predictor: counter, scheduler: s, conditioning: cond, unconditional: uncond, initialNoise: x,
                   guidance: cfg, steps: 4, noise: { _ in Tensor(0) })
        #expect(counter.batches == [3, 6, 6, 3])
        let outside = cfg.predict(DummyModel(), modelInput: x, timestep: ts[0], conditioning: cond, unconditional: uncond)
        let condOnly = DummyModel().predict(x, timesteps: Tensor(shape: [3], repeating: ts[0]), conditioning: cond)
        #expect(outside.scalars == condOnly.scalars)
    }

    @Test func oneBatchedCallPerStepAndNoneExtraAtScaleOne() {
        let x = Tensor(shape: [3, 2, 2, 2], repeating: 0.5)
        let cond = Conditioning(pooled: Tensor(shape: [3, 2], repeating: 1))
        let uncond = Conditioning(pooled: Tensor(shape: [3, 2], repeating: 0))
        let counter = CallCounter()
        _ = sample(predictor: counter, scheduler: DDIMScheduler.stableDiffusion(), conditioning: cond,
                   unconditional: uncond, initialNoise: x, guidance: 2.5, steps: 4, noise: { _ in Tensor(0) })
        #expect(counter.batches == [6, 6, 6, 6])
        let single = CallCounter()
        _ = sample(predictor: single, scheduler: DDIMScheduler.stableDiffusion(), conditioning: cond,
                   unconditional: nil, initialNoise: x, guidance: 1, steps: 3, noise: { _ in Tensor(0) })
        #expect(single.batches == [3, 3, 3])
    }

    @Test func combineFormula() {
        let g = ClassifierFreeGuidance()
        #expect(g.scale == 2.5)
        let u = Tensor([1, 2]), c = Tensor([3, 1])
        #expect(g.combine(unconditional: u, conditional: c).scalars == [6, -0.5])
    }

    @Test func conditioningConcatenatesAlongBatch() {
        let a = Conditioning(tokens: Tensor(shape: [1, 2, 3], repeating: 1), mask: Tensor(shape: [1, 2], repeating: 1))
        let b = Conditioning(tokens: Tensor(shape: [2, 2, 3], repeating: 2), mask: Tensor(shape: [2, 2], repeating: 0))
        let both = Conditioning.concatenated([a, b])
        #expect(both.batchSize == 3)
        #expect(both.tokens?.shape == [3, 2, 3])
        #expect(both.mask?.scalars == [1, 1, 0, 0, 0, 0])
        #expect(both.pooled == nil)
    }
}
