import SynTensor

/// Denoising diffusion implicit models (Song, Meng & Ermon, "DDIM", 2021, eq. 12 and 16).
///
/// Reference: diffusers `DDIMScheduler` (0.42). eta = 0 is the deterministic sampler SynCLR uses
/// (50 steps); eta = 1 recovers DDPM-like ancestral noise. The previous timestep is always
/// t - T / N, whatever the spacing, as in diffusers.
public struct DDIMScheduler: NoiseScheduler, Sendable {
    /// The schedule tables.
    public let schedule: DiffusionSchedule
    /// What the model predicts.
    public let predictionType: PredictionType
    /// Inference timestep spacing.
    public let timestepSpacing: TimestepSpacing
    /// Added to "leading" timesteps.
    public let stepsOffset: Int
    /// Clamp the predicted x0 to [-clipSampleRange, clipSampleRange].
    public let clipSample: Bool
    /// Bound for `clipSample`.
    public let clipSampleRange: Float
    /// Dynamic thresholding of x0, used instead of `clipSample` when set (diffusers `thresholding`).
    public let thresholding: DynamicThresholding?
    /// abar used past the last step: 1 when true, else abar_0.
    public let setAlphaToOne: Bool
    /// Noise weight: 0 is deterministic DDIM, 1 is DDPM-like.
    public let eta: Float
    /// Re-derive eps from the clipped x0 (diffusers `use_clipped_model_output`).
    public let useClippedModelOutput: Bool
    /// The current inference timesteps.
    public private(set) var timesteps: [Float]
    /// Inference step count, fixed by `setTimesteps`.
    public private(set) var inferenceSteps: Int?
    /// Always 1 (variance-preserving).
    public var initNoiseSigma: Float { 1 }

    /// A DDIM scheduler with diffusers' defaults (linear betas, epsilon, "leading", clip on,
    /// set_alpha_to_one on, eta 0).
    public init(trainSteps: Int = 1000, betaSchedule: BetaSchedule = .linear(),
                predictionType: PredictionType = .epsilon, timestepSpacing: TimestepSpacing = .leading,
                stepsOffset: Int = 0, clipSample: Bool = true, clipSampleRange: Float = 1, thresholding: DynamicThresholding? = nil,
                setAlphaToOne: Bool = true, eta: Float = 0, useClippedModelOutput: Bool = false) {
        schedule = DiffusionSchedule(betaSchedule, trainSteps: trainSteps)
        self.predictionType = predictionType
        self.timestepSpacing = timestepSpacing
        self.stepsOffset = stepsOffset
        self.clipSample = clipSample
        self.clipSampleRange = clipSampleRange
        self.thresholding = thresholding
        self.setAlphaToOne = setAlphaToOne
        self.eta = eta
        self.useClippedModelOutput = useClippedModelOutput
        timesteps = (0..<trainSteps).reversed().map(Float.init)
    }

    /// Stable Diffusion 1.5's scheduler config read as DDIM (scaled-linear 0.00085...0.012,
    /// no clipping, set_alpha_to_one off, steps_offset 1), with the given eta.
    public static func stableDiffusion(eta: Float = 0) -> DDIMScheduler {
        DDIMScheduler(betaSchedule: .stableDiffusion, stepsOffset: 1, clipSample: false,
                      setAlphaToOne: false, eta: eta)
    }

    /// Uses `count` steps spread by `timestepSpacing`.
    public mutating func setTimesteps(_ count: Int) {
        inferenceSteps = count
        timesteps = discreteInferenceTimesteps(spacing: timestepSpacing, trainSteps: schedule.trainSteps,
                                               count: count, stepsOffset: stepsOffset).map(Float.init)
    }

    /// x_{t-1} = sqrt(abar_prev) x0 + sqrt(1 - abar_prev - s^2) eps (+ s z), s = eta sigma_t.
    public mutating func step(_ modelOutput: Tensor, timestep: Float, sample: Tensor,
                              noise: NoiseSource) -> SchedulerStepOutput {
        guard let n = inferenceSteps else { preconditionFailure("call setTimesteps before step") }
        let t = discreteTimestep(timestep, trainSteps: schedule.trainSteps)
        let prevT = t - schedule.trainSteps / n
        let ac = schedule.alphasCumprod
        let alphaProd = ac[t]
        let alphaProdPrev: Float = prevT >= 0 ? ac[prevT] : (setAlphaToOne ? 1 : ac[0])
        let betaProd = 1 - alphaProd

        var x0: Tensor, eps: Tensor
        switch predictionType {
        case .epsilon:
            x0 = divided(sample - betaProd.squareRoot() * modelOutput, by: alphaProd.squareRoot())
            eps = modelOutput
        case .vPrediction:
            x0 = alphaProd.squareRoot() * sample - betaProd.squareRoot() * modelOutput
            eps = alphaProd.squareRoot() * modelOutput + betaProd.squareRoot() * sample
        }
        if let thresholding {
            x0 = thresholding(x0)
        } else if clipSample {
            x0 = x0.clamp(min: -clipSampleRange, max: clipSampleRange)
        }

        let variance = ((1 - alphaProdPrev) / betaProd) * (1 - alphaProd / alphaProdPrev)
        let std = eta * variance.squareRoot()
        if useClippedModelOutput {
            eps = divided(sample - alphaProd.squareRoot() * x0, by: betaProd.squareRoot())
        }
        let direction = (1 - alphaProdPrev - std * std).squareRoot() * eps
        var prev = alphaProdPrev.squareRoot() * x0 + direction
        if eta > 0 { prev = prev + std * noise(modelOutput.shape) }
        return SchedulerStepOutput(prevSample: prev, predictedOriginal: x0)
    }

    /// sqrt(abar_t) x0 + sqrt(1 - abar_t) noise at integer training timesteps.
    public func addNoise(_ original: Tensor, noise: Tensor, timesteps: [Float]) -> Tensor {
        schedule.addNoise(original, noise: noise, timesteps: timesteps)
    }

    /// The v-prediction training target at integer training timesteps.
    public func velocity(_ sample: Tensor, noise: Tensor, timesteps: [Float]) -> Tensor {
        schedule.velocity(sample, noise: noise, timesteps: timesteps)
    }
}
