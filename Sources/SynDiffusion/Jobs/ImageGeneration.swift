import Foundation
import SynTensor

/// Classifier-free guidance as asked for: one value from the command line or a pipeline
/// configuration to the job. Refinements left unset take the model file's recommendation
/// (`SamplingRecommendation`), else off.
public struct GuidanceSettings: Codable, Sendable, Hashable {
    /// Where guidance applies.
    public enum Interval: Codable, Sendable, Hashable {
        /// The model's recommended interval, else every step.
        case recommended
        /// Every step.
        case all
        /// Only at training timesteps in the range (elsewhere the conditional prediction alone).
        case timesteps(ClosedRange<Float>)

        /// The explicit timestep range (nil for `recommended` and `all`).
        public var range: ClosedRange<Float>? {
            if case .timesteps(let r) = self { return r }
            return nil
        }
    }

    /// Guidance scale (1 disables the unconditional pass).
    public var scale: Float
    /// Guidance rescale weight in 0...1 (nil: the model's recommendation, else 0).
    public var rescale: Float?
    /// Where guidance applies.
    public var interval: Interval
    /// Dynamic thresholding of the predicted x0 (nil: off).
    public var dynamicThreshold: DynamicThresholding?

    /// Settings; SynCLR's scale 2.5 with the model's recommended refinements by default.
    public init(scale: Float = 2.5, rescale: Float? = nil, interval: Interval = .recommended,
                dynamicThreshold: DynamicThresholding? = nil) {
        self.scale = scale
        self.rescale = rescale
        self.interval = interval
        self.dynamicThreshold = dynamicThreshold
    }

    /// `options` with these settings, unset refinements taken from `recommended`; throws
    /// `DiffusionError.invalidParameter` when the result is not a valid job.
    public func resolved(_ options: ImageJobOptions, recommended: SamplingRecommendation?) throws -> ImageJobOptions {
        var o = options
        o.guidance = scale
        o.guidanceRescale = rescale ?? recommended?.guidanceRescale ?? 0
        switch interval {
        case .recommended: o.guidanceInterval = recommended?.guidanceInterval
        case .all: o.guidanceInterval = nil
        case .timesteps(let r): o.guidanceInterval = r
        }
        o.thresholding = dynamicThreshold
        if let p = o.problems.first { throw DiffusionError.invalidParameter(p) }
        return o
    }
}

extension ImageJobOptions {
    /// The guidance refinements in effect, for log lines: "" when none, else " (rescale 1.0, ...)".
    public var refinementsSummary: String {
        var parts: [String] = []
        if guidanceRescale != 0 { parts.append("rescale \(guidanceRescale)") }
        if let i = guidanceInterval { parts.append("at timesteps \(Int(i.lowerBound))...\(Int(i.upperBound))") }
        if let t = thresholding { parts.append("dynamic threshold \(t.ratio),\(t.maxValue)") }
        return parts.isEmpty ? "" : " (" + parts.joined(separator: ", ") + ")"
    }
}

/// Where a job's model and text encoder come from.
public struct ModelSelection: Codable, Sendable, Hashable {
    /// UNet model file (nil: the shipped Fashion-MNIST model, `DefaultModel`).
    public var model: String?
    /// Text encoder folder (nil: the installed all-MiniLM-L6-v2).
    public var textEncoder: String?

    /// A selection.
    public init(model: String? = nil, textEncoder: String? = nil) {
        self.model = model
        self.textEncoder = textEncoder
    }

    /// Loads the UNet and the text encoder and checks that they belong together (the encoder the
    /// model was trained with, and the width of its text states).
    public func load() throws -> (model: TextToImage<UNet2DCondition>, info: UNetModelInfo, url: URL) {
        let modelURL = try model.map { URL(fileURLWithPath: $0) } ?? DefaultModel.url()
        let (unet, info) = try UNetCheckpoint.load(modelURL)
        let encoder = try MiniLMTextEncoder(directory: textEncoder.map { URL(fileURLWithPath: $0) } ?? MiniLMTextEncoder.defaultDirectory)
        if !info.textEncoder.isEmpty && info.textEncoder != encoder.name {
            throw DiffusionError.badCheckpoint(path: modelURL.path, reason: "was trained with text encoder '\(info.textEncoder)', but '\(encoder.name)' is loaded")
        }
        guard encoder.width == info.config.crossAttentionDim else {
            throw DiffusionError.badCheckpoint(path: modelURL.path, reason: "expects \(info.config.crossAttentionDim)-wide text states, the encoder gives \(encoder.width)")
        }
        return (TextToImage(predictor: unet, config: info.config, encoder: encoder), info, modelURL)
    }
}

/// The image stage as one call: `perCaption` images per caption of a captions file, into a
/// resumable, shardable `ImageJob` folder. The same value drives `synclr images` and the pipeline.
public struct ImageGenerationConfiguration: Codable, Sendable, Hashable {
    /// Captions JSONL (`CaptionsFile`).
    public var captions: String
    /// Output folder.
    public var output: String
    /// Images per caption.
    public var perCaption: Int
    /// Guidance scale and refinements.
    public var guidance: GuidanceSettings
    /// Sampler steps.
    public var steps: Int
    /// Sampler.
    public var sampler: SamplerKind
    /// Job seed.
    public var seed: UInt64
    /// The part of the job this run renders.
    public var shard: Shard
    /// Model and text encoder.
    public var models: ModelSelection
    /// Captions per batch unit (part of the job's identity).
    public var batchCaptions: Int

    /// A configuration with SynCLR's defaults.
    public init(captions: String, output: String, perCaption: Int = 4, guidance: GuidanceSettings = GuidanceSettings(),
                steps: Int = 50, sampler: SamplerKind = .ddim, seed: UInt64 = 0, shard: Shard = .all,
                models: ModelSelection = ModelSelection(), batchCaptions: Int = 8) {
        self.captions = captions
        self.output = output
        self.perCaption = perCaption
        self.guidance = guidance
        self.steps = steps
        self.sampler = sampler
        self.seed = seed
        self.shard = shard
        self.models = models
        self.batchCaptions = batchCaptions
    }

    /// Reads the captions, loads and checks the model, and returns the job with a one-line description.
    public func prepare() throws -> (job: ImageJob<UNet2DCondition>, description: String, shardImages: Int) {
        let records = try CaptionsFile.read(URL(fileURLWithPath: captions))
        guard !records.isEmpty else { throw DiffusionError.badData(path: captions, reason: "holds no captions") }
        let (t2i, info, modelURL) = try models.load()
        let options = try guidance.resolved(ImageJobOptions(perCaption: perCaption, steps: steps, sampler: sampler, seed: seed,
                                                            model: info.name, unitCaptions: batchCaptions),
                                            recommended: info.sampling)
        let job = ImageJob(model: t2i, captions: records, options: options, directory: URL(fileURLWithPath: output), shard: shard)
        let shardImages = (0..<job.unitCount).filter { shard.owns(unit: $0) }.reduce(0) { $0 + job.positions(ofUnit: $1).count } * perCaption
        let line = "\(records.count) captions x \(perCaption) from \(modelURL.lastPathComponent) (\(info.name)), \(sampler.rawValue) \(steps) steps, guidance \(guidance.scale)\(options.refinementsSummary), seed \(seed), shard \(shard): \(shardImages) images"
        return (job, line, shardImages)
    }
}

extension Shard: Codable {
    /// Decodes "i/n".
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let s = Shard(text) else { throw DiffusionError.invalidParameter("shard must be i/n with 0 <= i < n, got '\(text)'") }
        self = s
    }

    /// Encodes as "i/n".
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

extension SamplerKind {
    /// The sampler named `name`; throws `DiffusionError.invalidParameter` naming the choices.
    public static func named(_ name: String) throws -> SamplerKind {
        guard let s = SamplerKind(rawValue: name) else {
            throw DiffusionError.invalidParameter("sampler '\(name)' is unknown; choose \(allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return s
    }
}
