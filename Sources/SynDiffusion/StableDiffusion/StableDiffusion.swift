import Foundation
import SynTensor

/// A diffusers `scheduler/scheduler_config.json` read as the options every sampler here shares;
/// keys absent from the file take each sampler's diffusers default.
public struct SDSchedulerConfiguration: Sendable {
    /// The forward-process betas.
    public var betaSchedule: BetaSchedule
    /// Training timesteps.
    public var trainSteps: Int
    /// What the UNet predicts.
    public var predictionType: PredictionType
    /// `timestep_spacing` when the file sets it.
    public var timestepSpacing: TimestepSpacing?
    /// `steps_offset`.
    public var stepsOffset: Int
    /// `set_alpha_to_one` (DDIM; default true).
    public var setAlphaToOne: Bool
    /// `clip_sample` (DDIM; default true) and its range.
    public var clipSample: Bool
    /// Bound of `clipSample`.
    public var clipSampleRange: Float
    /// Sampler-specific keys of the file (DPM-Solver++ and Euler options), as strings / numbers / bools.
    let raw: [String: SchedulerValue]

    /// A JSON scalar of the scheduler config.
    enum SchedulerValue: Sendable {
        case string(String), number(Double), bool(Bool)
    }
    /// Where it came from.
    public let path: String

    /// The scheduler options diffusers gives a single-file checkpoint without a config
    /// (its `SCHEDULER_DEFAULT_CONFIG`: scaled-linear 0.00085...0.012, "leading", steps offset 1,
    /// set_alpha_to_one off; no clip_sample key, so DDIM keeps its default of clipping).
    public static func stableDiffusion(predictionType: PredictionType = .epsilon) -> SDSchedulerConfiguration {
        SDSchedulerConfiguration(betaSchedule: .stableDiffusion, trainSteps: 1000, predictionType: predictionType,
                                 timestepSpacing: .leading, stepsOffset: 1, setAlphaToOne: false, clipSample: true,
                                 clipSampleRange: 1, raw: ["interpolation_type": .string("linear")], path: "<Stable Diffusion defaults>")
    }

    init(betaSchedule: BetaSchedule, trainSteps: Int, predictionType: PredictionType, timestepSpacing: TimestepSpacing?,
         stepsOffset: Int, setAlphaToOne: Bool, clipSample: Bool, clipSampleRange: Float, raw: [String: SchedulerValue], path: String) {
        self.betaSchedule = betaSchedule
        self.trainSteps = trainSteps
        self.predictionType = predictionType
        self.timestepSpacing = timestepSpacing
        self.stepsOffset = stepsOffset
        self.setAlphaToOne = setAlphaToOne
        self.clipSample = clipSample
        self.clipSampleRange = clipSampleRange
        self.raw = raw
        self.path = path
    }

    /// Reads `scheduler_config.json`.
    public init(contentsOf url: URL) throws {
        let c = try readJSONObject(url)
        func fail(_ why: String) -> DiffusionError { DiffusionError.badCheckpoint(path: url.path, reason: why) }
        func num(_ k: String) -> Double? { (c[k] as? NSNumber)?.doubleValue }
        trainSteps = try Self.integer(c, "num_train_timesteps", default: 1000, in: 2...Self.maxTrainSteps, fail: fail)
        let start = num("beta_start") ?? 0.0001, end = num("beta_end") ?? 0.02
        if let trained = c["trained_betas"] as? [NSNumber] {
            guard trained.count == trainSteps else { throw fail("trained_betas has \(trained.count) values for \(trainSteps) steps") }
            betaSchedule = .custom(trained.map(\.floatValue))
        } else {
            switch c["beta_schedule"] as? String ?? "linear" {
            case "linear": betaSchedule = .linear(start: start, end: end)
            case "scaled_linear": betaSchedule = .scaledLinear(start: start, end: end)
            case "squaredcos_cap_v2": betaSchedule = .squaredCosCapV2()
            case let other: throw fail("beta_schedule \(other) is not supported (linear, scaled_linear, squaredcos_cap_v2)")
            }
        }
        let pt = c["prediction_type"] as? String ?? "epsilon"
        guard let p = PredictionType(rawValue: pt) else { throw fail("prediction_type \(pt) is not supported (epsilon, v_prediction)") }
        predictionType = p
        if let s = c["timestep_spacing"] as? String {
            guard let sp = TimestepSpacing(rawValue: s) else { throw fail("timestep_spacing \(s) is not supported (linspace, leading, trailing)") }
            timestepSpacing = sp
        } else {
            timestepSpacing = nil
        }
        stepsOffset = try Self.integer(c, "steps_offset", default: 0, in: 0...(trainSteps - 1), fail: fail)
        setAlphaToOne = c["set_alpha_to_one"] as? Bool ?? true
        clipSample = c["clip_sample"] as? Bool ?? true
        clipSampleRange = Float(num("clip_sample_range") ?? 1)
        for k in ["use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas", "rescale_betas_zero_snr", "thresholding"]
        where c[k] as? Bool == true {
            throw fail("\(k) = true is not supported")
        }
        var r: [String: SchedulerValue] = [:]
        for (k, v) in c {
            // JSON booleans may arrive as NSNumber (0 / 1) or Bool depending on the platform; `flag` reads both.
            if let n = v as? NSNumber {
                r[k] = .number(n.doubleValue)
            } else if let b = v as? Bool {
                r[k] = .bool(b)
            } else if let s = v as? String {
                r[k] = .string(s)
            }
        }
        raw = r
        path = url.path
    }

    /// Largest `num_train_timesteps` accepted (diffusers' models use 1000; the beta tables are this long).
    static let maxTrainSteps = 100_000

    /// The integer `key` of a config (`fallback` when absent), refused naming the key unless it is a
    /// whole number in `range` (a JSON number such as 1e30 or 2.5 must not reach `Int(_:)`, which traps or truncates).
    static func integer(_ c: [String: Any], _ key: String, default fallback: Int, in range: ClosedRange<Int>,
                        fail: (String) -> DiffusionError) throws -> Int {
        guard let value = c[key], !(value is NSNull) else { return fallback }
        guard let n = (value as? NSNumber)?.doubleValue, let i = Int(exactly: n), range.contains(i) else {
            throw fail("\(key) \(value) must be an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return i
    }

    /// The timestep spacing sampler `kind` uses with this file (its `timestep_spacing`, else the
    /// sampler's diffusers default: "leading" for DDIM and DDPM, "linspace" for DPM-Solver++ and Euler).
    func spacing(for kind: SamplerKind) -> TimestepSpacing {
        timestepSpacing ?? (kind == .ddim || kind == .ddpm ? .leading : .linspace)
    }

    /// Why `steps` inference steps of sampler `kind` cannot run with this file, or nil. Besides
    /// 1...trainSteps: "leading" spacing adds `steps_offset` to multiples of trainSteps / steps, so
    /// DDIM or DDPM with Stable Diffusion 1.5's config (offset 1) and 1000 steps would ask for
    /// alpha-bar of timestep 1000 of 0...999 (diffusers fails there with an IndexError; the
    /// schedulers here would trap). DPM-Solver++ and Euler interpolate their sigmas, clamped, and run.
    public func stepsProblem(_ steps: Int, sampler kind: SamplerKind) -> String? {
        guard steps >= 1, steps <= trainSteps else { return "`steps` must be in 1...\(trainSteps), got \(steps)" }
        func largest(_ n: Int) -> Int {
            guard spacing(for: kind) == .leading, kind == .ddim || kind == .ddpm else { return trainSteps - 1 }
            return (n - 1) * (trainSteps / n) + stepsOffset
        }
        if largest(steps) < trainSteps { return nil }
        let allowed = (1...steps).last { largest($0) < trainSteps }
        return "`steps` \(steps) with \(kind.rawValue) and \(path) (timestep_spacing leading, steps_offset \(stepsOffset)) would reach "
            + "timestep \(largest(steps)), beyond the \(trainSteps) training timesteps 0...\(trainSteps - 1); "
            + (allowed.map { "use at most \($0) steps" } ?? "no step count works") + " or set timestep_spacing to trailing"
    }

    private func string(_ k: String) -> String? { if case let .string(s)? = raw[k] { return s }; return nil }
    private func number(_ k: String) -> Double? { if case let .number(n)? = raw[k] { return n }; return nil }
    private func flag(_ k: String) -> Bool? {
        switch raw[k] {
        case let .bool(b)?: return b
        case let .number(n)?: return n != 0
        default: return nil
        }
    }

    /// The sampler `kind` configured from this file as diffusers' `<Scheduler>.from_config` builds it,
    /// plus dynamic thresholding of x0 when `thresholding` is given (DDIM, DPM-Solver++, DDPM; as
    /// diffusers' `thresholding=True`; Euler has none).
    public func scheduler(_ kind: SamplerKind, thresholding: DynamicThresholding? = nil) throws -> any NoiseScheduler {
        func fail(_ why: String) -> DiffusionError { DiffusionError.badCheckpoint(path: path, reason: why) }
        switch kind {
        case .ddim:
            return DDIMScheduler(trainSteps: trainSteps, betaSchedule: betaSchedule, predictionType: predictionType,
                                 timestepSpacing: timestepSpacing ?? .leading, stepsOffset: stepsOffset, clipSample: clipSample,
                                 clipSampleRange: clipSampleRange, thresholding: thresholding, setAlphaToOne: setAlphaToOne)
        case .dpmpp:
            if let a = string("algorithm_type"), a != "dpmsolver++" { throw fail("algorithm_type \(a) is not supported (dpmsolver++)") }
            let order = try number("solver_order").map { n -> Int in
                guard let i = Int(exactly: n), (1...3).contains(i) else { throw fail("solver_order \(n) must be 1, 2 or 3") }
                return i
            } ?? 2
            let st = string("solver_type") ?? "midpoint"
            guard let solver = DPMSolverMultistepScheduler.SolverType(rawValue: st) else { throw fail("solver_type \(st) is not supported") }
            let fs = string("final_sigmas_type") ?? "zero"
            guard let final = DPMSolverMultistepScheduler.FinalSigma(rawValue: fs) else { throw fail("final_sigmas_type \(fs) is not supported") }
            return DPMSolverMultistepScheduler(
                trainSteps: trainSteps, betaSchedule: betaSchedule, predictionType: predictionType,
                timestepSpacing: timestepSpacing ?? .linspace, stepsOffset: stepsOffset, solverOrder: order, solverType: solver,
                lowerOrderFinal: flag("lower_order_final") ?? true, eulerAtFinal: flag("euler_at_final") ?? false,
                finalSigma: final, lambdaMinClipped: number("lambda_min_clipped").map { Float($0) } ?? -.infinity,
                thresholding: thresholding)
        case .euler:
            if let i = string("interpolation_type"), i != "linear" { throw fail("interpolation_type \(i) is not supported (linear)") }
            let fs = string("final_sigmas_type") ?? "zero"
            guard let final = DPMSolverMultistepScheduler.FinalSigma(rawValue: fs) else { throw fail("final_sigmas_type \(fs) is not supported") }
            return EulerDiscreteScheduler(trainSteps: trainSteps, betaSchedule: betaSchedule, predictionType: predictionType,
                                          timestepSpacing: timestepSpacing ?? .linspace, stepsOffset: stepsOffset, finalSigma: final)
        case .ddpm:
            return DDPMScheduler(trainSteps: trainSteps, betaSchedule: betaSchedule, predictionType: predictionType,
                                 timestepSpacing: timestepSpacing ?? .leading, stepsOffset: stepsOffset, clipSample: clipSample,
                                 thresholding: thresholding)
        }
    }
}

/// A Stable Diffusion 1.x / 2.x model: tokenizer, CLIP text model, UNet, VAE and scheduler options,
/// loaded from a diffusers folder (or a single-file checkpoint, see `StableDiffusion.load`).
///
/// Reference: Rombach et al. 2022 (latent diffusion); the sampling loop follows diffusers'
/// `StableDiffusionPipeline.__call__` with classifier-free guidance (Ho & Salimans 2022).
public final class StableDiffusion {
    /// The text side.
    public let textEncoder: CLIPTextEncoder
    /// The denoiser.
    public let unet: SDUNet
    /// The autoencoder.
    public let vae: SDAutoencoder
    /// Sampler options from the model's scheduler config.
    public var scheduler: SDSchedulerConfiguration

    /// Assembles a model from its parts.
    public init(textEncoder: CLIPTextEncoder, unet: SDUNet, vae: SDAutoencoder, scheduler: SDSchedulerConfiguration) {
        self.textEncoder = textEncoder
        self.unet = unet
        self.vae = vae
        self.scheduler = scheduler
    }

    /// Loads a diffusers folder: `model_index.json`, `scheduler/scheduler_config.json`,
    /// `tokenizer/`, `text_encoder/`, `unet/`, `vae/` (each `config.json` + safetensors weights in
    /// float32, float16 or bfloat16).
    public convenience init(directory: URL) throws {
        let index = try readJSONObject(directory.appendingPathComponent("model_index.json"))
        for part in ["scheduler", "tokenizer", "text_encoder", "unet", "vae"] {
            guard let entry = index[part] as? [Any], entry.count == 2, !(entry[1] is NSNull) else {
                throw DiffusionError.badCheckpoint(path: directory.appendingPathComponent("model_index.json").path,
                                                   reason: "component \(part) is missing")
            }
        }
        func weights(_ part: String, _ names: [String]) throws -> URL {
            let dir = directory.appendingPathComponent(part)
            for n in names where FileManager.default.fileExists(atPath: dir.appendingPathComponent(n).path) {
                return dir.appendingPathComponent(n)
            }
            throw DiffusionError.missingFile(path: dir.appendingPathComponent(names[0]).path,
                                             hint: "The \(part) weights must be safetensors (\(names.joined(separator: " or "))).")
        }
        let tok = try CLIPTokenizer(directory: directory.appendingPathComponent("tokenizer"))
        let textDir = directory.appendingPathComponent("text_encoder")
        let text = CLIPTextModel(config: try CLIPTextConfiguration(contentsOf: textDir.appendingPathComponent("config.json")))
        try text.load(weights("text_encoder", ["model.safetensors", "model.fp16.safetensors"]))
        let unet = SDUNet(config: try SDUNetConfiguration(contentsOf: directory.appendingPathComponent("unet/config.json")))
        try unet.load(weights("unet", ["diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors"]))
        let vae = SDAutoencoder(config: try SDVAEConfiguration(contentsOf: directory.appendingPathComponent("vae/config.json")))
        try vae.load(weights("vae", ["diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors"]))
        let sched = try SDSchedulerConfiguration(contentsOf: directory.appendingPathComponent("scheduler/scheduler_config.json"))
        guard text.config.hiddenSize == unet.config.crossAttentionDim else {
            throw DiffusionError.badCheckpoint(path: directory.path, reason: "text_encoder width \(text.config.hiddenSize) does not match the UNet's cross_attention_dim \(unet.config.crossAttentionDim)")
        }
        guard vae.config.latentChannels == unet.config.inChannels else {
            throw DiffusionError.badCheckpoint(path: directory.path, reason: "vae latent_channels \(vae.config.latentChannels) does not match the UNet's in_channels \(unet.config.inChannels)")
        }
        self.init(textEncoder: CLIPTextEncoder(name: "stable-diffusion:" + directory.lastPathComponent, tokenizer: tok, model: text),
                  unet: unet, vae: vae, scheduler: sched)
    }

    /// Denoises `latents` [B, 4, h, w] (already scaled as diffusers' `prepare_latents` leaves
    /// them) for `prompt` with the empty prompt as the unconditional input, and returns the VAE's
    /// decoded images [B, 3, h f, w f] before any clamping. Guidance <= 1 runs the conditional pass only, as diffusers.
    public func denoise(prompt: String, latents: Tensor, steps: Int, guidance: Float, sampler: SamplerKind,
                        onStep: ((Int, Float) -> Void)? = nil) throws -> Tensor {
        guard latents.rank == 4, latents.shape[1] == unet.config.inChannels else {
            throw DiffusionError.badData(path: "latents", reason: "latents must be [B, \(unet.config.inChannels), h, w], got \(latents.shape)")
        }
        let factor = 1 << (unet.config.blockOutChannels.count - 1)
        guard latents.shape[2] % factor == 0, latents.shape[3] % factor == 0 else {
            throw DiffusionError.badData(path: "latents", reason: "latent height and width must be multiples of \(factor), got \(latents.shape)")
        }
        if let problem = scheduler.stepsProblem(steps, sampler: sampler) {
            throw DiffusionError.badData(path: "steps", reason: problem)
        }
        let B = latents.shape[0]
        var sched = try scheduler.scheduler(sampler)
        sched.setTimesteps(steps)
        let cond = try textEncoder.encode([String](repeating: prompt, count: B))
        let uncond = try textEncoder.encode([String](repeating: "", count: B))
        let cfg = ClassifierFreeGuidance(scale: guidance > 1 ? guidance : 1)
        return withNoGrad {
            var x = latents
            for (i, t) in sched.timesteps.enumerated() {
                let input = sched.scaleModelInput(x, timestep: t)
                let out = cfg.predict(unet, modelInput: input, timestep: t, conditioning: Conditioning(tokens: cond.tokens),
                                      unconditional: Conditioning(tokens: uncond.tokens))
                x = sched.step(out, timestep: t, sample: x).prevSample
                onStep?(i, t)
            }
            return vae.decode(x / Tensor(vae.config.scalingFactor))
        }
    }
}
