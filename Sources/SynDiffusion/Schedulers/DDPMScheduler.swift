import Foundation
import SynTensor

/// Ancestral DDPM sampling (Ho et al., "Denoising Diffusion Probabilistic Models", 2020, eq. 6-7).
///
/// Reference: diffusers `DDPMScheduler` (0.42): posterior mean from the predicted x0 and x_t,
/// plus noise of the chosen variance at every step whose timestep is above 0.
public struct DDPMScheduler: NoiseScheduler, Sendable {
    /// Posterior variance choices (diffusers `variance_type`; the learned ones are not supported).
    public enum VarianceType: String, Sendable, CaseIterable {
        /// beta~_t = (1 - abar_{t-1}) / (1 - abar_t) beta_t, the true posterior variance (default).
        case fixedSmall = "fixed_small"
        /// Same variance, formed through exp(0.5 log(.)) as diffusers does.
        case fixedSmallLog = "fixed_small_log"
        /// beta_t, the forward variance (upper bound).
        case fixedLarge = "fixed_large"
    }

    /// The schedule tables.
    public let schedule: DiffusionSchedule
    /// What the model predicts.
    public let predictionType: PredictionType
    /// Inference timestep spacing.
    public let timestepSpacing: TimestepSpacing
    /// Added to "leading" timesteps.
    public let stepsOffset: Int
    /// Posterior variance used for the noise.
    public let varianceType: VarianceType
    /// Clamp the predicted x0 to [-clipSampleRange, clipSampleRange].
    public let clipSample: Bool
    /// Bound for `clipSample`.
    public let clipSampleRange: Float
    /// Dynamic thresholding of x0, used instead of `clipSample` when set (diffusers `thresholding`).
    public let thresholding: DynamicThresholding?
    /// The current inference timesteps (all T training steps until `setTimesteps`).
    public private(set) var timesteps: [Float]
    /// Always 1 (variance-preserving).
    public var initNoiseSigma: Float { 1 }

    /// A DDPM scheduler with diffusers' defaults (linear 1e-4...0.02 over 1000 steps, epsilon,
    /// "leading", fixed_small, clip_sample on).
    public init(trainSteps: Int = 1000, betaSchedule: BetaSchedule = .linear(),
                predictionType: PredictionType = .epsilon, timestepSpacing: TimestepSpacing = .leading,
                stepsOffset: Int = 0, varianceType: VarianceType = .fixedSmall,
                clipSample: Bool = true, clipSampleRange: Float = 1, thresholding: DynamicThresholding? = nil) {
        schedule = DiffusionSchedule(betaSchedule, trainSteps: trainSteps)
        self.predictionType = predictionType
        self.timestepSpacing = timestepSpacing
        self.stepsOffset = stepsOffset
        self.varianceType = varianceType
        self.clipSample = clipSample
        self.clipSampleRange = clipSampleRange
        self.thresholding = thresholding
        timesteps = (0..<trainSteps).reversed().map(Float.init)
    }

    /// Uses `count` evenly spread steps of the training chain.
    public mutating func setTimesteps(_ count: Int) {
        timesteps = discreteInferenceTimesteps(spacing: timestepSpacing, trainSteps: schedule.trainSteps,
                                               count: count, stepsOffset: stepsOffset).map(Float.init)
    }

    /// The timestep after `t` in the schedule, or -1 after the last one.
    func previousTimestep(_ t: Int) -> Int {
        guard let i = timesteps.firstIndex(of: Float(t)) else {
            preconditionFailure("timestep \(t) is not in the current schedule")
        }
        return i + 1 < timesteps.count ? Int(timesteps[i + 1]) : -1
    }

    /// x_{t-1} = c0 x0 + ct x_t (+ sigma_t z for t > 0).
    public mutating func step(_ modelOutput: Tensor, timestep: Float, sample: Tensor,
                              noise: NoiseSource) -> SchedulerStepOutput {
        let t = discreteTimestep(timestep, trainSteps: schedule.trainSteps)
        let prevT = previousTimestep(t)
        let ac = schedule.alphasCumprod
        let alphaProd = ac[t]
        let alphaProdPrev: Float = prevT >= 0 ? ac[prevT] : 1
        let betaProd = 1 - alphaProd
        let betaProdPrev = 1 - alphaProdPrev
        let currentAlpha = alphaProd / alphaProdPrev
        let currentBeta = 1 - currentAlpha

        var x0: Tensor
        switch predictionType {
        case .epsilon: x0 = divided(sample - betaProd.squareRoot() * modelOutput, by: alphaProd.squareRoot())
        case .vPrediction: x0 = alphaProd.squareRoot() * sample - betaProd.squareRoot() * modelOutput
        }
        if let thresholding {
            x0 = thresholding(x0)
        } else if clipSample {
            x0 = x0.clamp(min: -clipSampleRange, max: clipSampleRange)
        }

        let x0Coeff = (alphaProdPrev.squareRoot() * currentBeta) / betaProd
        let sampleCoeff = currentAlpha.squareRoot() * betaProdPrev / betaProd
        var prev = x0Coeff * x0 + sampleCoeff * sample
        if t > 0 {
            let z = noise(modelOutput.shape)
            var variance = (1 - alphaProdPrev) / (1 - alphaProd) * currentBeta
            variance = Swift.max(variance, 1e-20)
            let scale: Float
            switch varianceType {
            case .fixedSmall: scale = variance.squareRoot()
            case .fixedSmallLog: scale = Foundation.exp(0.5 * Foundation.log(variance))
            case .fixedLarge: scale = currentBeta.squareRoot()
            }
            prev = prev + scale * z
        }
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
