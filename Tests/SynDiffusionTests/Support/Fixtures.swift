import Foundation
import SynTensor
@testable import SynDiffusion

/// A scalar from a fixture's diffusers config: string, number or bool.
enum ConfigValue: Decodable, Sendable {
    case string(String), number(Double), bool(Bool)

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) { self = .bool(b) } else if let d = try? c.decode(Double.self) {
            self = .number(d)
        } else { self = .string(try c.decode(String.self)) }
    }

    var string: String? { if case let .string(s) = self { return s } else { return nil } }
    var number: Double? { if case let .number(d) = self { return d } else { return nil } }
    var bool: Bool? { if case let .bool(b) = self { return b } else { return nil } }
}

typealias Config = [String: ConfigValue]

/// One scheduler trajectory written by Scripts/fixtures/fixtures_schedulers.py.
struct TrajectoryCase: Decodable, Sendable {
    let name: String
    let scheduler: String
    let config: Config
    let steps: Int
    let step_kwargs: Config
    let shape: [Int]
    let timesteps: [Double]
    let init_noise_sigma: Double
    let x_T: [Float]
    let noise: [[Float]]
    let model_inputs: [[Float]]?
    let trajectory: [[Float]]
    let pred_x0: [[Float]?]?
    let sigmas: [Float]?
}

/// One guided sampling run from the fixture script.
struct GuidanceCase: Decodable, Sendable {
    let name: String
    let scheduler: String
    let config: Config
    let steps: Int
    let step_kwargs: Config
    let guidance: Float
    let guidance_rescale: Float
    let threshold_active_steps: Int
    let shape: [Int]
    let timesteps: [Double]
    let x_T: [Float]
    let cond: [Float]
    let uncond: [Float]
    let noise: [[Float]]
    let trajectory: [[Float]]
}

/// One add_noise / get_velocity check.
struct AddNoiseCase: Decodable, Sendable {
    let scheduler: String
    let config: Config
    let steps: Int?
    let timesteps: [Double]
    let x0: [Float]
    let noise: [Float]
    let shape: [Int]
    let noisy: [Float]
    let velocity: [Float]?
}

/// Betas and cumulative alphas of one beta schedule.
struct ScheduleTables: Decodable, Sendable {
    let config: Config
    let betas: [Float]
    let alphas_cumprod: [Float]
}

struct CaseFile<Case: Decodable & Sendable>: Decodable, Sendable { let cases: [Case] }
struct ScheduleFile: Decodable, Sendable { let schedules: [String: ScheduleTables] }

enum Fixtures {
    /// Decodes `Fixtures/<name>.json` from the test bundle.
    static func load<T: Decodable>(_ name: String, as type: T.Type = T.self) throws -> T {
        guard let url = Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures") else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: "Fixtures/\(name).json"])
        }
        return try JSONDecoder().decode(T.self, from: Data(contentsOf: url))
    }

    /// The trajectory cases of one scheduler file.
    static func trajectories(_ file: String) throws -> [TrajectoryCase] {
        try load(file, as: CaseFile<TrajectoryCase>.self).cases
    }
}

/// The comparison used by every parity test: max over elements of |a - b| / max(1, |b|), i.e.
/// absolute error for |values| <= 1 and relative error above.
func deviation(_ a: [Float], _ b: [Float]) -> Double {
    precondition(a.count == b.count, "comparing \(a.count) values with \(b.count)")
    var worst = 0.0
    for (x, y) in zip(a, b) {
        let d = Swift.abs(Double(x) - Double(y)) / Swift.max(1, Swift.abs(Double(y)))
        worst = Swift.max(worst, d.isNaN ? .infinity : d)
    }
    return worst
}

/// The parity tolerance: 1e-5 in the `deviation` metric.
let parityTolerance = 1e-5

/// Builds the SynDiffusion beta schedule a diffusers config describes.
func betaSchedule(_ c: Config) -> BetaSchedule {
    let start = c["beta_start"]?.number ?? 0.0001, end = c["beta_end"]?.number ?? 0.02
    switch c["beta_schedule"]?.string ?? "linear" {
    case "linear": return .linear(start: start, end: end)
    case "scaled_linear": return .scaledLinear(start: start, end: end)
    case "squaredcos_cap_v2": return .squaredCosCapV2()
    case let other: preconditionFailure("fixture uses unknown beta_schedule \(other)")
    }
}

/// Builds the scheduler a fixture case describes (diffusers config keys, diffusers defaults).
func makeScheduler(_ kind: String, _ c: Config, stepKwargs kw: Config = [:]) -> any NoiseScheduler {
    let betas = betaSchedule(c)
    let prediction = PredictionType(rawValue: c["prediction_type"]?.string ?? "epsilon")!
    let offset = Int(c["steps_offset"]?.number ?? 0)
    let thresholding = c["thresholding"]?.bool == true
        ? DynamicThresholding(ratio: Float(c["dynamic_thresholding_ratio"]?.number ?? 0.995),
                              maxValue: Float(c["sample_max_value"]?.number ?? 1))
        : nil
    func spacing(_ d: TimestepSpacing) -> TimestepSpacing {
        c["timestep_spacing"]?.string.flatMap(TimestepSpacing.init(rawValue:)) ?? d
    }
    switch kind {
    case "ddpm":
        return DDPMScheduler(betaSchedule: betas, predictionType: prediction, timestepSpacing: spacing(.leading),
                             stepsOffset: offset,
                             varianceType: DDPMScheduler.VarianceType(rawValue: c["variance_type"]?.string ?? "fixed_small")!,
                             clipSample: c["clip_sample"]?.bool ?? true, thresholding: thresholding)
    case "ddim":
        return DDIMScheduler(betaSchedule: betas, predictionType: prediction, timestepSpacing: spacing(.leading),
                             stepsOffset: offset, clipSample: c["clip_sample"]?.bool ?? true, thresholding: thresholding,
                             setAlphaToOne: c["set_alpha_to_one"]?.bool ?? true,
                             eta: Float(kw["eta"]?.number ?? 0),
                             useClippedModelOutput: kw["use_clipped_model_output"]?.bool ?? false)
    case "dpmsolver":
        return DPMSolverMultistepScheduler(
            betaSchedule: betas, predictionType: prediction, timestepSpacing: spacing(.linspace), stepsOffset: offset,
            solverOrder: Int(c["solver_order"]?.number ?? 2),
            solverType: .init(rawValue: c["solver_type"]?.string ?? "midpoint")!,
            lowerOrderFinal: c["lower_order_final"]?.bool ?? true,
            finalSigma: .init(rawValue: c["final_sigmas_type"]?.string ?? "zero")!)
    case "euler":
        return EulerDiscreteScheduler(
            betaSchedule: betas, predictionType: prediction, timestepSpacing: spacing(.linspace), stepsOffset: offset,
            finalSigma: .init(rawValue: c["final_sigmas_type"]?.string ?? "zero")!,
            sChurn: Float(kw["s_churn"]?.number ?? 0))
    default:
        preconditionFailure("fixture uses unknown scheduler \(kind)")
    }
}

/// The sigmas of a sigma-space scheduler, or nil.
func schedulerSigmas(_ s: any NoiseScheduler) -> [Float]? {
    (s as? EulerDiscreteScheduler)?.sigmas ?? (s as? DPMSolverMultistepScheduler)?.sigmas
}

/// Serves recorded noise tensors in order, as a `NoiseSource`.
final class NoiseTape {
    private let values: [[Float]]
    private(set) var used = 0

    init(_ values: [[Float]]) { self.values = values }

    func next(_ shape: [Int]) -> Tensor {
        precondition(used < values.count, "scheduler drew more noise than diffusers did (\(values.count) draws)")
        defer { used += 1 }
        return Tensor(shape: shape, data: values[used])
    }

    var exhausted: Bool { used == values.count }
}
