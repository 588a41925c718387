import Foundation
import SynTensor
import Testing
@testable import SynDiffusion

@Suite struct StochasticTests {
    /// The DDPM noise term has the posterior standard deviation and zero mean.
    @Test func ddpmNoiseTermStatistics() {
        var s = DDPMScheduler(clipSample: false)
        s.setTimesteps(10)
        let t = s.timesteps[3]
        let x = Tensor(shape: [1, 1, 64, 64], repeating: 0.3), eps = Tensor(shape: [1, 1, 64, 64], repeating: 0.1)
        var gen = RandomGenerator(seed: 5)
        var a = s, b = s
        let noisy = a.step(eps, timestep: t, sample: x, generator: &gen).prevSample
        let mean = b.step(eps, timestep: t, sample: x, noise: { Tensor.zeros($0) }).prevSample
        let d = (noisy - mean).scalars.map(Double.init)
        let m = d.reduce(0, +) / Double(d.count)
        let sd = (d.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(d.count - 1)).squareRoot()
        let ac = s.schedule.alphasCumprod
        let ti = Int(t), prev = Int(s.timesteps[4])
        let expected = Double((1 - ac[prev]) / (1 - ac[ti]) * (1 - ac[ti] / ac[prev])).squareRoot()
        #expect(Swift.abs(m) < 4 * expected / Double(d.count).squareRoot())
        #expect(Swift.abs(sd / expected - 1) < 0.05)
    }

    /// Per-item generators make an item's result independent of its batch-mates.
    @Test func perItemGeneratorsAreBatchIndependent() {
        let cond = Conditioning(pooled: Tensor(shape: [2, 2], data: [0.5, -1, 2, 0.25]))
        let uncond = Conditioning(pooled: Tensor.zeros([2, 2]))
        var pair = [RandomGenerator(seed: 1, stream: 10), RandomGenerator(seed: 1, stream: 11)]
        let both = sample(predictor: DummyModel(), scheduler: DDPMScheduler(), conditioning: cond,
                          unconditional: uncond, shape: [2, 2, 3, 3], steps: 5, generators: &pair)
        var solo = [RandomGenerator(seed: 1, stream: 11)]
        let second = sample(predictor: DummyModel(), scheduler: DDPMScheduler(),
                            conditioning: Conditioning(pooled: Tensor(shape: [1, 2], data: [2, 0.25])),
                            unconditional: Conditioning(pooled: Tensor.zeros([1, 2])),
                            shape: [1, 2, 3, 3], steps: 5, generators: &solo)
        #expect(both.narrow(0, start: 1, length: 1).scalars == second.scalars)
        #expect(pair[1] == solo[0])
    }

    /// A deterministic step refuses to run a scheduler that needs noise only when asked; DDIM eta 0 never asks.
    @Test func ddimEtaZeroDrawsNoNoise() {
        var s = DDIMScheduler.stableDiffusion()
        s.setTimesteps(5)
        var x = Tensor(shape: [1, 2, 2, 2], repeating: 1)
        for t in s.timesteps { x = s.step(x * 0.1, timestep: t, sample: x).prevSample }
        #expect(x.scalars.allSatisfy { $0.isFinite })
    }
}
