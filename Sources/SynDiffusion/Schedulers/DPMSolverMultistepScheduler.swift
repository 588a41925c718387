import Foundation
import SynTensor

/// DPM-Solver++ multistep, data-prediction form (Lu et al., "DPM-Solver++: Fast Solver for Guided
/// Sampling of Diffusion Probabilistic Models", 2022, Algorithm 2); order 2 is "DPM++ 2M".
///
/// Reference: diffusers `DPMSolverMultistepScheduler` (0.42) with `algorithm_type="dpmsolver++"`.
/// Works in sigma = sqrt((1 - abar) / abar) with lambda = log(alpha_t / sigma_t); the history of x0
/// predictions lives in the value and is cleared by `setTimesteps`.
public struct DPMSolverMultistepScheduler: NoiseScheduler, Sendable {
    /// How the second-order correction is formed (diffusers `solver_type`).
    public enum SolverType: String, Sendable, CaseIterable {
        /// Midpoint form (diffusers default).
        case midpoint
        /// Heun form.
        case heun
    }

    /// The sigma after the last step (diffusers `final_sigmas_type`).
    public enum FinalSigma: String, Sendable, CaseIterable {
        /// 0: the last step lands on the predicted x0 (default).
        case zero
        /// sigma at training step 0.
        case sigmaMin = "sigma_min"
    }

    /// The schedule tables.
    public let schedule: DiffusionSchedule
    /// What the model predicts.
    public let predictionType: PredictionType
    /// Inference timestep spacing.
    public let timestepSpacing: TimestepSpacing
    /// Added to "leading" timesteps.
    public let stepsOffset: Int
    /// Multistep order: 1, 2 (DPM++ 2M) or 3.
    public let solverOrder: Int
    /// Second-order update form.
    public let solverType: SolverType
    /// Use lower orders on the last steps when there are fewer than 15 steps.
    public let lowerOrderFinal: Bool
    /// Always take a first-order last step.
    public let eulerAtFinal: Bool
    /// Sigma after the last step.
    public let finalSigma: FinalSigma
    /// Timesteps whose lambda falls below this are not used (diffusers `lambda_min_clipped`).
    public let lambdaMinClipped: Float
    /// Dynamic thresholding of every x0 prediction before it enters the solver (diffusers
    /// `thresholding`, applied in `convert_model_output` for dpmsolver++); nil: none.
    public let thresholding: DynamicThresholding?
    /// The current inference timesteps.
    public private(set) var timesteps: [Float]
    /// sigma_i for each inference step plus the final sigma.
    public private(set) var sigmas: [Float]
    /// Always 1 (variance-preserving).
    public var initNoiseSigma: Float { 1 }

    private var history: [Tensor?]
    private var lowerOrderNums = 0
    private var stepIndex: Int?

    /// A DPM-Solver++ scheduler with diffusers' defaults (linear betas, epsilon, "linspace",
    /// order 2 midpoint, lower_order_final on, final sigma 0).
    public init(trainSteps: Int = 1000, betaSchedule: BetaSchedule = .linear(),
                predictionType: PredictionType = .epsilon, timestepSpacing: TimestepSpacing = .linspace,
                stepsOffset: Int = 0, solverOrder: Int = 2, solverType: SolverType = .midpoint,
                lowerOrderFinal: Bool = true, eulerAtFinal: Bool = false, finalSigma: FinalSigma = .zero,
                lambdaMinClipped: Float = -.infinity, thresholding: DynamicThresholding? = nil) {
        precondition((1...3).contains(solverOrder), "solverOrder must be 1, 2 or 3, got \(solverOrder)")
        schedule = DiffusionSchedule(betaSchedule, trainSteps: trainSteps)
        self.predictionType = predictionType
        self.timestepSpacing = timestepSpacing
        self.stepsOffset = stepsOffset
        self.solverOrder = solverOrder
        self.solverType = solverType
        self.lowerOrderFinal = lowerOrderFinal
        self.eulerAtFinal = eulerAtFinal
        self.finalSigma = finalSigma
        self.lambdaMinClipped = lambdaMinClipped
        self.thresholding = thresholding
        timesteps = (0..<trainSteps).reversed().map(Float.init)
        sigmas = schedule.alphasCumprod.map { ((1 - $0) / $0).squareRoot() }
        history = Array(repeating: nil, count: solverOrder)
    }

    /// Stable Diffusion 1.5's betas with DPM++ 2M (diffusers defaults otherwise).
    public static func stableDiffusion() -> DPMSolverMultistepScheduler {
        DPMSolverMultistepScheduler(betaSchedule: .stableDiffusion)
    }

    /// Uses `count` steps spread by `timestepSpacing` and resets the solver history.
    public mutating func setTimesteps(_ count: Int) {
        let trainSteps = schedule.trainSteps
        precondition(count > 0 && count <= trainSteps, "inference steps must be in 1...\(trainSteps), got \(count)")
        let ac = schedule.alphasCumprod
        // lambda_t = log(alpha_t) - log(sigma_t) in float32; count of flipped (ascending) lambdas below the clip.
        let clipped = ac.filter { Foundation.log($0.squareRoot()) - Foundation.log((1 - $0).squareRoot()) < lambdaMinClipped }.count
        let lastTimestep = trainSteps - clipped
        let steps: [Int]
        switch timestepSpacing {
        case .linspace:
            steps = NumPyGrid.linspace(0, Double(lastTimestep - 1), count: count + 1)
                .map { Int(NumPyGrid.round($0)) }.reversed().dropLast()
        case .leading:
            let ratio = lastTimestep / (count + 1)
            steps = (1...count).reversed().map { $0 * ratio + stepsOffset }
        case .trailing:
            let ratio = Double(trainSteps) / Double(count)
            steps = NumPyGrid.arange(Double(lastTimestep), 0, step: -ratio).map { Int(NumPyGrid.round($0)) - 1 }
        }
        let table = ac.map { ((1 - $0) / $0).squareRoot() }
        let last: Float = finalSigma == .zero ? 0 : table[0]
        // diffusers reads sigmas with np.interp, which clamps: a "leading" timestep pushed past the
        // last one by steps_offset takes the last sigma (an index here would trap).
        sigmas = steps.map { table[Swift.min(Swift.max($0, 0), table.count - 1)] } + [last]
        timesteps = steps.map(Float.init)
        history = Array(repeating: nil, count: solverOrder)
        lowerOrderNums = 0
        stepIndex = nil
    }

    /// (alpha_t, sigma_t) of the VP process at noise level `sigma`.
    private func alphaSigma(_ sigma: Float) -> (alpha: Float, sigma: Float) {
        let alpha = 1 / (sigma * sigma + 1).squareRoot()
        return (alpha, sigma * alpha)
    }

    /// lambda = log(alpha_t) - log(sigma_t).
    private func lambda(_ a: (alpha: Float, sigma: Float)) -> Float { Foundation.log(a.alpha) - Foundation.log(a.sigma) }

    /// The model output as an x0 prediction at the current step.
    private func dataPrediction(_ modelOutput: Tensor, sample: Tensor, index: Int) -> Tensor {
        let (alpha, sigma) = alphaSigma(sigmas[index])
        let x0: Tensor
        switch predictionType {
        case .epsilon: x0 = divided(sample - sigma * modelOutput, by: alpha)
        case .vPrediction: x0 = alpha * sample - sigma * modelOutput
        }
        return thresholding.map { $0(x0) } ?? x0
    }

    /// One DPM-Solver++ step of order 1, 2 or 3 (order raised as history accumulates).
    public mutating func step(_ modelOutput: Tensor, timestep: Float, sample: Tensor,
                              noise: NoiseSource) -> SchedulerStepOutput {
        let i = stepIndex ?? scheduleIndex(of: timestep, in: timesteps) ?? (timesteps.count - 1)
        precondition(i < timesteps.count, "step called more times than there are timesteps (\(timesteps.count))")
        let n = timesteps.count
        let finalLower = i == n - 1 && (eulerAtFinal || (lowerOrderFinal && n < 15) || finalSigma == .zero)
        let secondLower = i == n - 2 && lowerOrderFinal && n < 15
        let x0 = dataPrediction(modelOutput, sample: sample, index: i)
        history.removeFirst()
        history.append(x0)

        let prev: Tensor
        if solverOrder == 1 || lowerOrderNums < 1 || finalLower {
            prev = firstOrder(x0, sample: sample, index: i)
        } else if solverOrder == 2 || lowerOrderNums < 2 || secondLower {
            prev = secondOrder(sample: sample, index: i)
        } else {
            prev = thirdOrder(sample: sample, index: i)
        }
        if lowerOrderNums < solverOrder { lowerOrderNums += 1 }
        stepIndex = i + 1
        return SchedulerStepOutput(prevSample: prev, predictedOriginal: x0)
    }

    /// x_t = (sigma_t / sigma_s) x - alpha_t (e^-h - 1) D0.
    private func firstOrder(_ m0: Tensor, sample: Tensor, index i: Int) -> Tensor {
        let t = alphaSigma(sigmas[i + 1]), s = alphaSigma(sigmas[i])
        let h = lambda(t) - lambda(s)
        return (t.sigma / s.sigma) * sample - (t.alpha * (Foundation.exp(-h) - 1)) * m0
    }

    /// Multistep second-order update (midpoint or Heun) from the last two x0 predictions.
    private func secondOrder(sample: Tensor, index i: Int) -> Tensor {
        let t = alphaSigma(sigmas[i + 1]), s0 = alphaSigma(sigmas[i]), s1 = alphaSigma(sigmas[i - 1])
        let lt = lambda(t), l0 = lambda(s0), l1 = lambda(s1)
        guard let m0 = history[solverOrder - 1], let m1 = history[solverOrder - 2] else {
            preconditionFailure("second-order step without two model outputs")
        }
        let h = lt - l0, h0 = l0 - l1
        let r0 = h0 / h
        let d1 = (1 / r0) * (m0 - m1)
        let em1 = Foundation.exp(-h) - 1
        let base = (t.sigma / s0.sigma) * sample - (t.alpha * em1) * m0
        switch solverType {
        case .midpoint: return base - (0.5 * (t.alpha * em1)) * d1
        case .heun: return base + (t.alpha * (em1 / h + 1)) * d1
        }
    }

    /// Multistep third-order update from the last three x0 predictions.
    private func thirdOrder(sample: Tensor, index i: Int) -> Tensor {
        let t = alphaSigma(sigmas[i + 1]), s0 = alphaSigma(sigmas[i])
        let s1 = alphaSigma(sigmas[i - 1]), s2 = alphaSigma(sigmas[i - 2])
        let lt = lambda(t), l0 = lambda(s0), l1 = lambda(s1), l2 = lambda(s2)
        guard let m0 = history[2], let m1 = history[1], let m2 = history[0] else {
            preconditionFailure("third-order step without three model outputs")
        }
        let h = lt - l0, h0 = l0 - l1, h1 = l1 - l2
        let r0 = h0 / h, r1 = h1 / h
        let d10 = (1 / r0) * (m0 - m1), d11 = (1 / r1) * (m1 - m2)
        let d1 = d10 + (r0 / (r0 + r1)) * (d10 - d11)
        let d2 = (1 / (r0 + r1)) * (d10 - d11)
        let em1 = Foundation.exp(-h) - 1
        return (t.sigma / s0.sigma) * sample - (t.alpha * em1) * m0
            + (t.alpha * (em1 / h + 1)) * d1
            - (t.alpha * ((em1 + h) / (h * h) - 0.5)) * d2
    }

    /// alpha(sigma_i) x0 + sigma(sigma_i) noise, where i is each timestep's index in the current schedule.
    public func addNoise(_ original: Tensor, noise: Tensor, timesteps ts: [Float]) -> Tensor {
        let pairs = ts.map { t in alphaSigma(sigmas[scheduleIndex(of: t, in: timesteps) ?? (timesteps.count - 1)]) }
        return batchCoefficients(pairs.map(\.alpha), rank: original.rank) * original
            + batchCoefficients(pairs.map(\.sigma), rank: original.rank) * noise
    }
}
