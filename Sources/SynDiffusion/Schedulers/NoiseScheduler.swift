import SynTensor

/// What a noise predictor outputs (diffusers' `prediction_type`).
public enum PredictionType: String, Sendable, Codable, CaseIterable {
    /// The added noise epsilon (Ho et al., "Denoising Diffusion Probabilistic Models", 2020).
    case epsilon
    /// The velocity v = sqrt(abar) eps - sqrt(1 - abar) x0 (Salimans & Ho, "Progressive Distillation", 2022).
    case vPrediction = "v_prediction"
}

/// How inference timesteps spread over the training steps (diffusers' `timestep_spacing`;
/// Lin et al., "Common Diffusion Noise Schedules and Sample Steps Are Flawed", 2023, Table 2).
public enum TimestepSpacing: String, Sendable, Codable, CaseIterable {
    /// Evenly spaced from 0 to T-1 inclusive (rounded for integer schedules).
    case linspace
    /// Multiples of T / N counted up from 0 (plus `stepsOffset`).
    case leading
    /// Multiples of T / N counted down from T, minus one.
    case trailing
}

/// Draws a standard-normal tensor of `shape`; a scheduler calls it only when a step is stochastic.
public typealias NoiseSource = (_ shape: [Int]) -> Tensor

/// The result of one reverse-diffusion step.
public struct SchedulerStepOutput: Sendable {
    /// The sample at the previous (less noisy) timestep.
    public var prevSample: Tensor
    /// The scheduler's estimate of the clean sample x0, when it forms one.
    public var predictedOriginal: Tensor?

    /// Wraps a step's results.
    public init(prevSample: Tensor, predictedOriginal: Tensor? = nil) {
        self.prevSample = prevSample
        self.predictedOriginal = predictedOriginal
    }
}

/// A reverse-diffusion sampler: a list of timesteps and a rule that moves a noisy sample one step
/// towards the data given a model's prediction. Mirrors diffusers' `SchedulerMixin` contract
/// (`set_timesteps`, `timesteps`, `init_noise_sigma`, `scale_model_input`, `step`, `add_noise`).
///
/// Schedulers are values: copy one per sampling run. Multistep schedulers keep their history in
/// the value and reset it in `setTimesteps`.
public protocol NoiseScheduler {
    /// The timesteps of the current inference schedule, noisiest first (what the model is given).
    var timesteps: [Float] { get }
    /// Standard deviation of the initial noise (1 for variance-preserving samplers, sigma_max for Euler).
    var initNoiseSigma: Float { get }
    /// What the model's output means to `step`.
    var predictionType: PredictionType { get }
    /// Builds the schedule for `count` inference steps and clears any multistep state.
    mutating func setTimesteps(_ count: Int)
    /// The model input for `sample` at `timestep` (identity except for sigma-space samplers).
    func scaleModelInput(_ sample: Tensor, timestep: Float) -> Tensor
    /// One reverse step from `sample` at `timestep`; `noise` is called only if the step is stochastic.
    mutating func step(_ modelOutput: Tensor, timestep: Float, sample: Tensor, noise: NoiseSource) -> SchedulerStepOutput
    /// Forward process: `original` noised to per-item `timesteps` [B] with `noise` (for training).
    func addNoise(_ original: Tensor, noise: Tensor, timesteps: [Float]) -> Tensor
}

extension NoiseScheduler {
    /// Identity scaling (DDPM, DDIM and DPM-Solver do not rescale the model input).
    public func scaleModelInput(_ sample: Tensor, timestep: Float) -> Tensor { sample }

    /// One step drawing any noise it needs from `generator` (one draw of the output's shape).
    public mutating func step(_ modelOutput: Tensor, timestep: Float, sample: Tensor,
                              generator: inout RandomGenerator) -> SchedulerStepOutput {
        step(modelOutput, timestep: timestep, sample: sample) { shape in Tensor.randn(shape, generator: &generator) }
    }

    /// One step drawing batch item i's noise from `generators[i]`, so an item's result does not
    /// depend on what else is in the batch.
    public mutating func step(_ modelOutput: Tensor, timestep: Float, sample: Tensor,
                              generators: inout [RandomGenerator]) -> SchedulerStepOutput {
        step(modelOutput, timestep: timestep, sample: sample) { shape in randnPerItem(shape, generators: &generators) }
    }

    /// A deterministic step; stops with a precondition failure if the scheduler asks for noise.
    public mutating func step(_ modelOutput: Tensor, timestep: Float, sample: Tensor) -> SchedulerStepOutput {
        step(modelOutput, timestep: timestep, sample: sample) { shape in
            preconditionFailure("this step is stochastic (shape \(shape)): pass a generator or a noise source")
        }
    }
}

/// Standard normals of `shape` [B, ...] whose item i comes from `generators[i]` (B generators).
public func randnPerItem(_ shape: [Int], generators: inout [RandomGenerator]) -> Tensor {
    precondition(!shape.isEmpty && shape[0] == generators.count,
                 "per-item noise of shape \(shape) needs \(shape.first ?? 0) generators, got \(generators.count)")
    let itemShape = [1] + shape.dropFirst()
    var items: [Tensor] = []
    for i in generators.indices { items.append(Tensor.randn(itemShape, generator: &generators[i])) }
    return Tensor.concatenate(items, axis: 0)
}
