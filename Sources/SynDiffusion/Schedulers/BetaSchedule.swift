import Foundation
import SynTensor

/// A forward-process variance schedule beta_1..beta_T (diffusers' `beta_schedule`).
public enum BetaSchedule: Sendable, Equatable {
    /// Betas evenly spaced from `start` to `end` (Ho et al. 2020; diffusers "linear").
    case linear(start: Double = 0.0001, end: Double = 0.02)
    /// Square roots evenly spaced, then squared (latent diffusion / Stable Diffusion; diffusers "scaled_linear").
    case scaledLinear(start: Double = 0.0001, end: Double = 0.02)
    /// Cosine alpha-bar (Nichol & Dhariwal, "Improved DDPM", 2021), betas capped at `maxBeta`; diffusers "squaredcos_cap_v2".
    case squaredCosCapV2(maxBeta: Double = 0.999)
    /// Explicit betas (diffusers' `trained_betas`).
    case custom([Float])

    /// Stable Diffusion 1.x: scaled-linear from 0.00085 to 0.012.
    public static let stableDiffusion = BetaSchedule.scaledLinear(start: 0.00085, end: 0.012)

    /// The `count` betas in float32, bit-for-bit as diffusers builds them with torch 2.13 on CPU.
    public func betas(count: Int) -> [Float] {
        switch self {
        case let .linear(start, end):
            return torchLinspace(Float(start), Float(end), count: count)
        case let .scaledLinear(start, end):
            return torchLinspace(Float(start.squareRoot()), Float(end.squareRoot()), count: count).map { $0 * $0 }
        case let .squaredCosCapV2(maxBeta):
            func alphaBar(_ t: Double) -> Double {
                let c = Foundation.cos((t + 0.008) / 1.008 * Double.pi / 2)
                return c * c
            }
            return (0..<count).map { i in
                let t1 = Double(i) / Double(count), t2 = Double(i + 1) / Double(count)
                return Float(Swift.min(1 - alphaBar(t2) / alphaBar(t1), maxBeta))
            }
        case let .custom(values):
            precondition(values.count == count, "custom betas have \(values.count) entries, the schedule needs \(count)")
            return values
        }
    }
}

/// The float32 tables every discrete-time scheduler derives from its betas.
public struct DiffusionSchedule: Sendable, Equatable {
    /// beta_t for t = 0..<T.
    public let betas: [Float]
    /// alpha_t = 1 - beta_t.
    public let alphas: [Float]
    /// abar_t = prod_{s<=t} alpha_s (accumulated in double and rounded per entry, as torch.cumprod on CPU).
    public let alphasCumprod: [Float]

    /// Tables for `trainSteps` steps of `schedule`.
    public init(_ schedule: BetaSchedule, trainSteps: Int) {
        precondition(trainSteps > 1, "a schedule needs at least 2 training steps, got \(trainSteps)")
        betas = schedule.betas(count: trainSteps)
        alphas = betas.map { 1 - $0 }
        var acc = 1.0
        alphasCumprod = alphas.map { a in
            acc *= Double(a)
            return Float(acc)
        }
    }

    /// Number of training timesteps T.
    public var trainSteps: Int { betas.count }

    /// Forward process sqrt(abar_t) x0 + sqrt(1 - abar_t) noise at per-item integer `timesteps`
    /// (one per batch item, or one for all); diffusers `DDPMScheduler.add_noise`.
    public func addNoise(_ original: Tensor, noise: Tensor, timesteps: [Float]) -> Tensor {
        let (a, b) = coefficients(timesteps, rank: original.rank)
        return a * original + b * noise
    }

    /// The v-prediction target sqrt(abar_t) noise - sqrt(1 - abar_t) x0; diffusers `get_velocity`.
    public func velocity(_ sample: Tensor, noise: Tensor, timesteps: [Float]) -> Tensor {
        let (a, b) = coefficients(timesteps, rank: sample.rank)
        return a * noise - b * sample
    }

    /// sqrt(abar_t) and sqrt(1 - abar_t) as [B, 1, ..., 1] tensors.
    private func coefficients(_ timesteps: [Float], rank: Int) -> (Tensor, Tensor) {
        let ac = timesteps.map { alphasCumprod[discreteTimestep($0, trainSteps: trainSteps)] }
        return (batchCoefficients(ac.map { $0.squareRoot() }, rank: rank),
                batchCoefficients(ac.map { (1 - $0).squareRoot() }, rank: rank))
    }
}

/// torch.linspace for float32 on CPU (torch 2.13): a float32 step, each value formed in double from
/// the nearer end and rounded once.
func torchLinspace(_ start: Float, _ end: Float, count: Int) -> [Float] {
    if count == 1 { return [start] }
    let step = (end - start) / Float(count - 1)
    let half = count / 2
    return (0..<count).map { i in
        i < half ? Float(Double(start) + Double(step) * Double(i))
                 : Float(Double(end) - Double(step) * Double(count - 1 - i))
    }
}

/// An integer training timestep from a scheduler timestep value (precondition: integral and in range).
func discreteTimestep(_ t: Float, trainSteps: Int) -> Int {
    let i = Int(t)
    precondition(Float(i) == t && i >= 0 && i < trainSteps, "timestep \(t) is not an integer in 0..<\(trainSteps)")
    return i
}
