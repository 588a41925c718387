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
                             initialNoise: Tensor(shape: c.shape, data: c.x_T), guidance: c.guidance,
                             steps: c.steps, noise: tape.next, onStep: { _, _, x in traj.append(x.scalars) })
            #expect(traj.count == c.trajectory.count, "\(c.name): step count")
            let worst = zip(traj, c.trajectory).map { deviation($0, $1) }.max() ?? .infinity
            #expect(worst <= parityTolerance, "\(c.name): deviation \(worst)")
            #expect(out.scalars == traj.last, "\(c.name): returned sample")
            #expect(tape.exhausted, "\(c.name): noise draws")
            print("parity \(c.name): steps \(c.steps) trajectory \(worst)")
        }
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
