import Foundation

/// Options of `DiffusionTrainer`; stored in checkpoints, and a resumed run must use the same ones
/// (apart from how often it checkpoints and samples) so it continues exactly.
public struct DiffusionTrainConfig: Codable, Sendable, Hashable {
    /// The network.
    public var unet: UNetConfig
    /// Optimizer steps in total.
    public var steps: Int
    /// Images per step.
    public var batchSize: Int
    /// Peak learning rate (after warm-up).
    public var learningRate: Float
    /// Linear warm-up steps.
    public var warmupSteps: Int
    /// Learning rate at the end of the cosine decay, as a fraction of the peak.
    public var finalLearningRateScale: Float
    /// AdamW decoupled weight decay (not applied to biases and norms).
    public var weightDecay: Float
    /// EMA decay of the exported weights (warmed up as min(decay, (1 + step) / (10 + step))).
    public var emaDecay: Float
    /// Probability that an image's caption is replaced by "" (for classifier-free guidance).
    public var captionDropout: Float
    /// Min-SNR-gamma loss weighting (Hang et al. 2023); 0 weights every timestep equally.
    public var minSNRGamma: Float
    /// Global gradient-norm clip (0: none).
    public var gradientClip: Float
    /// Random horizontal flips of training images.
    public var horizontalFlip: Bool
    /// Seed of every random choice (initialization, batches, captions, timesteps, noise).
    public var seed: UInt64
    /// Checkpoint every N steps (and at the end).
    public var checkpointEvery: Int
    /// Sample grid every N steps (0: only at the end).
    public var sampleEvery: Int
    /// DDIM steps of the sample grids.
    public var sampleSteps: Int
    /// Guidance scale of the sample grids.
    public var sampleGuidance: Float
    /// A training checkpoint (or model file) whose weights start this run instead of a fresh
    /// initialization (a second training phase with its own schedule and a fresh optimizer).
    public var initFrom: String?

    /// The shipped model's recipe.
    public init(unet: UNetConfig = UNetConfig(), steps: Int = 3000, batchSize: Int = 64, learningRate: Float = 1e-3,
                warmupSteps: Int = 100, finalLearningRateScale: Float = 0.05, weightDecay: Float = 0.01, emaDecay: Float = 0.999,
                captionDropout: Float = 0.1, minSNRGamma: Float = 5, gradientClip: Float = 1, horizontalFlip: Bool = false,
                seed: UInt64 = 0, checkpointEvery: Int = 100, sampleEvery: Int = 1000, sampleSteps: Int = 20,
                sampleGuidance: Float = 2.5, initFrom: String? = nil) {
        self.unet = unet
        self.steps = steps
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.warmupSteps = warmupSteps
        self.finalLearningRateScale = finalLearningRateScale
        self.weightDecay = weightDecay
        self.emaDecay = emaDecay
        self.captionDropout = captionDropout
        self.minSNRGamma = minSNRGamma
        self.gradientClip = gradientClip
        self.horizontalFlip = horizontalFlip
        self.seed = seed
        self.checkpointEvery = checkpointEvery
        self.sampleEvery = sampleEvery
        self.sampleSteps = sampleSteps
        self.sampleGuidance = sampleGuidance
        self.initFrom = initFrom
    }

    /// The options that decide the numbers a run produces (everything but checkpoint and sample cadence).
    var trajectoryDefining: DiffusionTrainConfig {
        var c = self
        c.checkpointEvery = 0
        c.sampleEvery = 0
        return c
    }

    /// Problems with the options (empty when valid).
    public var problems: [String] {
        var p = unet.problems
        if steps < 1 { p.append("steps must be positive") }
        if batchSize < 1 { p.append("batch size must be positive") }
        if !(0...1).contains(captionDropout) { p.append("caption dropout must be in [0, 1]") }
        if !(0..<1).contains(emaDecay) { p.append("EMA decay must be in [0, 1)") }
        if learningRate <= 0 { p.append("learning rate must be positive") }
        return p
    }

    /// Compact JSON with sorted keys.
    public func json() throws -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        return String(decoding: try enc.encode(self), as: UTF8.self)
    }
}
