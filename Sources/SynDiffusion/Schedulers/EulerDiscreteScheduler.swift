import SynTensor

/// Euler sampler in sigma space (Karras et al., "Elucidating the Design Space of Diffusion-Based
/// Generative Models", 2022, Algorithm 2 with optional churn).
///
/// Reference: diffusers `EulerDiscreteScheduler` (0.42), "linear" interpolation of sigmas.
/// Samples live at scale sqrt(sigma^2 + 1): start from noise times `initNoiseSigma` and feed the
/// model `scaleModelInput(x, t)`. Timesteps may be fractional ("linspace" spacing).
public struct EulerDiscreteScheduler: NoiseScheduler, Sendable {
    /// The schedule tables.
    public let schedule: DiffusionSchedule
    /// What the model predicts.
    public let predictionType: PredictionType
    /// Inference timestep spacing.
    public let timestepSpacing: TimestepSpacing
    /// Added to "leading" timesteps.
    public let stepsOffset: Int
    /// Sigma after the last step.
    public let finalSigma: DPMSolverMultistepScheduler.FinalSigma
    /// Churn: noise re-injected per step, gamma = min(sChurn / N, sqrt 2 - 1) (0 = deterministic).
    public let sChurn: Float
    /// Churn applies only while sChurnMin <= sigma <= sChurnMax.
    public let sChurnMin: Float
    /// Upper sigma bound for churn.
    public let sChurnMax: Float
    /// Scale of the churn noise.
    public let sNoise: Float
    /// The current inference timesteps (fractional with "linspace").
    public private(set) var timesteps: [Float]
    /// sigma_i for each inference step plus the final sigma.
    public private(set) var sigmas: [Float]

    private var stepIndex: Int?

    /// An Euler scheduler with diffusers' defaults (linear betas, epsilon, "linspace", final sigma 0, no churn).
    public init(trainSteps: Int = 1000, betaSchedule: BetaSchedule = .linear(),
                predictionType: PredictionType = .epsilon, timestepSpacing: TimestepSpacing = .linspace,
                stepsOffset: Int = 0, finalSigma: DPMSolverMultistepScheduler.FinalSigma = .zero,
                sChurn: Float = 0, sChurnMin: Float = 0, sChurnMax: Float = .infinity, sNoise: Float = 1) {
        schedule = DiffusionSchedule(betaSchedule, trainSteps: trainSteps)
        self.predictionType = predictionType
        self.timestepSpacing = timestepSpacing
        self.stepsOffset = stepsOffset
        self.finalSigma = finalSigma
        self.sChurn = sChurn
        self.sChurnMin = sChurnMin
        self.sChurnMax = sChurnMax
        self.sNoise = sNoise
        timesteps = (0..<trainSteps).reversed().map(Float.init)
        sigmas = schedule.alphasCumprod.reversed().map { ((1 - $0) / $0).squareRoot() } + [0]
    }

    /// Stable Diffusion 1.5's betas with the Euler sampler (diffusers defaults otherwise).
    public static func stableDiffusion() -> EulerDiscreteScheduler {
        EulerDiscreteScheduler(betaSchedule: .stableDiffusion)
    }

    /// sigma_max for "linspace"/"trailing", sqrt(sigma_max^2 + 1) for "leading" (as diffusers).
    public var initNoiseSigma: Float {
        let maxSigma = sigmas.max() ?? 0
        switch timestepSpacing {
        case .linspace, .trailing: return maxSigma
        case .leading: return (maxSigma * maxSigma + 1).squareRoot()
        }
    }

    /// Uses `count` steps spread by `timestepSpacing`; sigmas are interpolated linearly in t.
    public mutating func setTimesteps(_ count: Int) {
        let trainSteps = schedule.trainSteps
        precondition(count > 0, "inference steps must be positive, got \(count)")
        let steps: [Float]
        switch timestepSpacing {
        case .linspace:
            steps = NumPyGrid.linspace(0, Double(trainSteps - 1), count: count).reversed().map { Float($0) }
        case .leading:
            let ratio = trainSteps / count
            steps = (0..<count).reversed().map { Float($0 * ratio) + Float(stepsOffset) }
        case .trailing:
            let ratio = Double(trainSteps) / Double(count)
            steps = NumPyGrid.arange(Double(trainSteps), 0, step: -ratio).map { Float(NumPyGrid.round($0)) - 1 }
        }
        let ac = schedule.alphasCumprod
        let table = ac.map { Double(((1 - $0) / $0).squareRoot()) }
        let last: Float = finalSigma == .zero ? 0 : ((1 - ac[0]) / ac[0]).squareRoot()
        sigmas = steps.map { Float(NumPyGrid.interpIndex(Double($0), table)) } + [last]
        timesteps = steps
        stepIndex = nil
    }

    /// Index of the step about to run: the running counter, or `timestep`'s place in the schedule.
    private func currentIndex(_ timestep: Float) -> Int {
        if let stepIndex { return stepIndex }
        guard let i = scheduleIndex(of: timestep, in: timesteps) else {
            preconditionFailure("timestep \(timestep) is not in the current schedule")
        }
        return i
    }

    /// x / sqrt(sigma^2 + 1): the variance-preserving input the model was trained on.
    public func scaleModelInput(_ sample: Tensor, timestep: Float) -> Tensor {
        let sigma = sigmas[currentIndex(timestep)]
        return divided(sample, by: (sigma * sigma + 1).squareRoot())
    }

    /// x_next = x + (x - x0) / sigma_hat * (sigma_next - sigma_hat), with optional churn noise first.
    public mutating func step(_ modelOutput: Tensor, timestep: Float, sample input: Tensor,
                              noise: NoiseSource) -> SchedulerStepOutput {
        let i = currentIndex(timestep)
        precondition(i + 1 < sigmas.count, "step called more times than there are timesteps (\(timesteps.count))")
        let sigma = sigmas[i]
        let gamma: Float = (sChurnMin <= sigma && sigma <= sChurnMax)
            ? Swift.min(sChurn / Float(sigmas.count - 1), Float(2.0.squareRoot() - 1)) : 0
        let sigmaHat = sigma * (gamma + 1)
        var sample = input
        if gamma > 0 {
            let eps = noise(modelOutput.shape) * sNoise
            sample = sample + eps * (sigmaHat * sigmaHat - sigma * sigma).squareRoot()
        }
        let x0: Tensor
        switch predictionType {
        case .epsilon: x0 = sample - sigmaHat * modelOutput
        case .vPrediction:
            x0 = modelOutput * (-sigma / (sigma * sigma + 1).squareRoot()) + divided(sample, by: sigma * sigma + 1)
        }
        let derivative = divided(sample - x0, by: sigmaHat)
        let dt = sigmas[i + 1] - sigmaHat
        stepIndex = i + 1
        return SchedulerStepOutput(prevSample: sample + derivative * dt, predictedOriginal: x0)
    }

    /// x0 + sigma_i noise, where i is each timestep's index in the current schedule.
    public func addNoise(_ original: Tensor, noise: Tensor, timesteps ts: [Float]) -> Tensor {
        let s = ts.map { t -> Float in
            guard let i = scheduleIndex(of: t, in: timesteps) else {
                preconditionFailure("timestep \(t) is not in the current schedule")
            }
            return sigmas[i]
        }
        return original + noise * batchCoefficients(s, rank: original.rank)
    }
}
