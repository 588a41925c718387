import Foundation
import SynTensor

/// Trains `UNet2DCondition` on captioned images: the denoising objective of Ho et al. 2020 (eps)
/// or Salimans & Ho 2022 (v), min-SNR-gamma weighting (Hang et al. 2023), caption dropout for
/// classifier-free guidance (Ho & Salimans 2022), AdamW with warm-up + cosine decay, EMA weights.
///
/// Every random choice of step s comes from a generator derived from (seed, s), and epoch e's
/// image order from (seed, e), so a run resumed from a checkpoint continues bit for bit.
public final class DiffusionTrainer {
    /// Options.
    public let config: DiffusionTrainConfig
    /// The network being optimized.
    public let model: UNet2DCondition
    /// Its exponential moving average (what gets exported).
    public let ema: UNet2DCondition
    /// The optimizer.
    public let optimizer: AdamW
    /// Training images [N, C, H, W] in [-1, 1].
    public let images: Tensor
    /// Class of each image.
    public let labels: [Int]
    /// Captions per class and their encodings.
    public let bank: CaptionBank
    /// Optimizer steps taken so far.
    public private(set) var step = 0

    func restoreStep(_ s: Int) { step = s }

    /// Seeds per class in the sample grids (0 disables them).
    public var sampleGridColumns = 4

    let schedule: DiffusionSchedule
    let learningRates: WarmupCosineSchedule
    let averager: ExponentialMovingAverage
    private var permutationCache: (epoch: Int, order: [Int])?

    /// A trainer with freshly initialized weights (from `config.seed`).
    public init(config: DiffusionTrainConfig, images: Tensor, labels: [Int], bank: CaptionBank) {
        precondition(config.problems.isEmpty, "invalid training config: \(config.problems.joined(separator: "; "))")
        precondition(images.shape.count == 4 && images.shape[0] == labels.count,
                     "images \(images.shape) do not match \(labels.count) labels")
        precondition(labels.allSatisfy { $0 >= 0 && $0 < bank.byClass.count }, "a label has no caption class")
        self.config = config
        self.images = images.contiguous()
        self.labels = labels
        self.bank = bank
        var g = RandomGenerator(seed: config.seed).derived("init")
        model = UNet2DCondition(config.unet, generator: &g)
        var g2 = RandomGenerator(seed: 0)
        ema = UNet2DCondition(config.unet, generator: &g2)
        ExponentialMovingAverage.copy(model, into: ema)
        ema.eval()
        optimizer = AdamW(ParameterGroup.decayAndNoDecay(model.namedParameters()), learningRate: config.learningRate,
                          weightDecay: config.weightDecay)
        schedule = DiffusionSchedule(config.unet.betaSchedule.schedule, trainSteps: config.unet.trainTimesteps)
        learningRates = WarmupCosineSchedule(base: config.learningRate, final: config.learningRate * config.finalLearningRateScale,
                                             warmupSteps: config.warmupSteps, totalSteps: config.steps)
        averager = ExponentialMovingAverage(decay: config.emaDecay)
    }

    /// One training batch: clean images, noise, timesteps and caption entries (indices into `bank`).
    public struct Batch {
        /// Clean images x0 [B, C, H, W].
        public var images: Tensor
        /// Noise [B, C, H, W].
        public var noise: Tensor
        /// Integer timesteps.
        public var timesteps: [Float]
        /// Caption entry per image (0 = dropped caption).
        public var captions: [Int]
    }

    private func order(epoch: Int) -> [Int] {
        if let c = permutationCache, c.epoch == epoch { return c.order }
        var g = RandomGenerator(seed: config.seed).derived("epoch").derived(UInt64(epoch))
        let o = g.permutation(labels.count)
        permutationCache = (epoch, o)
        return o
    }

    /// The batch of step `s` (a pure function of the seed and `s`).
    public func batch(at s: Int) -> Batch {
        let B = config.batchSize, N = labels.count
        var g = RandomGenerator(seed: config.seed).derived("step").derived(UInt64(s))
        var idx: [Int] = [], caps: [Int] = [], ts: [Float] = [], flips: [Bool] = []
        for k in 0..<B {
            let p = s * B + k
            let i = order(epoch: p / N)[p % N]
            idx.append(i)
            let choices = bank.byClass[labels[i]]
            let drop = g.uniform() < config.captionDropout
            let pick = choices[g.int(below: choices.count)]
            caps.append(drop ? 0 : pick)
            ts.append(Float(g.int(below: config.unet.trainTimesteps)))
            flips.append(config.horizontalFlip && g.uniform() < 0.5)
        }
        var x0 = images.indexSelect(axis: 0, indices: idx).contiguous()
        if flips.contains(true) {
            let C = x0.shape[1], H = x0.shape[2], W = x0.shape[3]
            x0.withUnsafeMutableBufferPointer { p in
                for (b, f) in flips.enumerated() where f {
                    for r in 0..<(C * H) {
                        let row = p.baseAddress! + (b * C * H + r) * W
                        for x in 0..<(W / 2) { swap(&row[x], &row[W - 1 - x]) }
                    }
                }
            }
        }
        let noise = Tensor.randn(x0.shape, generator: &g)
        return Batch(images: x0, noise: noise, timesteps: ts, captions: caps)
    }

    /// The loss of `model` on `batch` (with autodiff graph when gradients are enabled).
    public func loss(_ batch: Batch, model: UNet2DCondition) -> Tensor {
        let xt = schedule.addNoise(batch.images, noise: batch.noise, timesteps: batch.timesteps)
        let target = config.unet.predictionType == .epsilon
            ? batch.noise : schedule.velocity(batch.images, noise: batch.noise, timesteps: batch.timesteps)
        let cond = bank.conditioning(batch.captions)
        let pred = model.predict(xt, timesteps: Tensor(batch.timesteps), conditioning: cond)
        let d = pred - target
        let perItem = (d * d).mean(axes: [1, 2, 3])
        return (perItem * Tensor(lossWeights(batch.timesteps))).mean()
    }

    /// Min-SNR-gamma weights: min(SNR, g) / SNR for eps, min(SNR, g) / (SNR + 1) for v (1 when g = 0).
    func lossWeights(_ ts: [Float]) -> [Float] {
        ts.map { t in
            guard config.minSNRGamma > 0 else { return 1 }
            let a = Double(schedule.alphasCumprod[Int(t)])
            let snr = a / max(1 - a, 1e-12)
            let clipped = min(snr, Double(config.minSNRGamma))
            return Float(config.unet.predictionType == .epsilon ? clipped / max(snr, 1e-12) : clipped / (snr + 1))
        }
    }

    /// Takes one optimizer step; returns the loss and the gradient norm before clipping.
    @discardableResult
    public func trainStep() -> (loss: Float, gradNorm: Float, learningRate: Float) {
        model.train()
        let b = batch(at: step)
        let (value, grads) = valueAndGrad(model) { self.loss(b, model: $0) }
        var g = grads
        let norm = config.gradientClip > 0
            ? clipGradientNorm(&g, parameters: model.trainableParameters(), maxNorm: config.gradientClip) : 0
        let lr = learningRates.value(at: step)
        optimizer.learningRate = lr
        withNoGrad { optimizer.step(g) }
        averager.update(ema, towards: model, step: step)
        step += 1
        return (value.item(), norm, lr)
    }
}
