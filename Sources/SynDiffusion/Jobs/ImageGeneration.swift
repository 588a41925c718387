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

/// Where a job's model and text encoder come from: this package's UNet model file (with a
/// MiniLM text encoder) or a Stable Diffusion 1.x / 2.x model (a diffusers folder or a
/// single-file checkpoint, which brings its own CLIP text encoder and VAE).
public struct ModelSelection: Codable, Sendable, Hashable {
    /// UNet model file, Stable Diffusion folder or single-file checkpoint (nil: the shipped Fashion-MNIST model, `DefaultModel`).
    public var model: String?
    /// Text encoder folder (nil: the installed all-MiniLM-L6-v2); UNet model files only.
    public var textEncoder: String?
    /// For a single-file Stable Diffusion checkpoint: a diffusers folder whose configs and tokenizer to use.
    public var modelConfig: String?
    /// Stable Diffusion only: overrides the scheduler config's prediction type.
    public var predictionType: PredictionType?

    /// A selection.
    public init(model: String? = nil, textEncoder: String? = nil, modelConfig: String? = nil, predictionType: PredictionType? = nil) {
        self.model = model
        self.textEncoder = textEncoder
        self.modelConfig = modelConfig
        self.predictionType = predictionType
    }

    /// The two kinds of model a selection can name.
    public enum Kind: Sendable, Equatable {
        /// A SynDiffusion UNet model file (safetensors with metadata `format = synclr-unet`).
        case unet
        /// A Stable Diffusion diffusers folder or single-file original-layout safetensors checkpoint.
        case stableDiffusion
    }

    /// What `url` holds; throws `DiffusionError` naming the file (and `model`) when it is neither kind.
    public static func kind(of url: URL) throws -> Kind {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
            throw DiffusionError.missingFile(path: url.path, hint: "`model` takes a SynDiffusion UNet model file, a diffusers Stable Diffusion folder or a single-file Stable Diffusion .safetensors checkpoint.")
        }
        if isDir.boolValue {
            guard FileManager.default.fileExists(atPath: url.appendingPathComponent("model_index.json").path) else {
                throw DiffusionError.badCheckpoint(path: url.path, reason: "is a folder but not a diffusers Stable Diffusion model (it has no model_index.json); `model` takes a folder with model_index.json, scheduler/, tokenizer/, text_encoder/, unet/ and vae/, a single-file .safetensors checkpoint or a SynDiffusion UNet model file")
            }
            return .stableDiffusion
        }
        let file: SafetensorsFile
        do { file = try SafetensorsFile(url: url) } catch {
            throw DiffusionError.badCheckpoint(path: url.path, reason: "`model` must be a safetensors file or a diffusers folder; this file is not readable as safetensors (\(error))")
        }
        if file.metadata?["format"] == UNetCheckpoint.format { return .unet }
        if file.names.contains(where: { $0.hasPrefix("model.diffusion_model.") }) { return .stableDiffusion }
        throw DiffusionError.badCheckpoint(path: url.path, reason: "`model` is neither a SynDiffusion UNet model (metadata format=\(UNetCheckpoint.format)) nor a single-file Stable Diffusion checkpoint (model.diffusion_model.* tensors)")
    }

    /// Loads the UNet and the text encoder and checks that they belong together (the encoder the
    /// model was trained with, and the width of its text states). Stable Diffusion models are refused
    /// here (`loadForImages` takes both kinds).
    public func load() throws -> (model: TextToImage<UNet2DCondition>, info: UNetModelInfo, url: URL) {
        let modelURL = try model.map { URL(fileURLWithPath: $0) } ?? DefaultModel.url()
        if model != nil, try Self.kind(of: modelURL) == .stableDiffusion {
            throw DiffusionError.badCheckpoint(path: modelURL.path, reason: "is a Stable Diffusion model; this command needs a SynDiffusion UNet model file (`synclr images` renders with either)")
        }
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

    /// A model loaded for an image job, whichever kind the selection names.
    public struct Loaded {
        /// The model, its denoiser behind `AnyNoisePredictor`.
        public var model: TextToImage<AnyNoisePredictor>
        /// Name recorded in manifests.
        public var name: String
        /// Guidance the model file recommends (SynDiffusion UNet files only).
        public var sampling: SamplingRecommendation?
        /// Where it was loaded from.
        public var url: URL
        /// The image side for the job's identity: set for Stable Diffusion (which renders any multiple of
        /// its factor), nil for a UNet model file (which renders its own size).
        public var size: Int?
    }

    /// Loads a UNet model file (as `load`) or a Stable Diffusion model rendering `size` x `size`
    /// images (nil: the model's native size, `StableDiffusion.nativeSize`). Options that do not
    /// apply to the kind named are errors naming them.
    public func loadForImages(size: Int?) throws -> Loaded {
        let url = try model.map { URL(fileURLWithPath: $0) } ?? DefaultModel.url()
        let kind: Kind = model == nil ? .unet : try Self.kind(of: url)
        switch kind {
        case .unet:
            if modelConfig != nil || predictionType != nil {
                throw DiffusionError.invalidParameter("`modelConfig` and `predictionType` apply to Stable Diffusion models; \(url.path) is a SynDiffusion UNet model")
            }
            if let size {
                let side = try UNetCheckpoint.info(url).config.sampleSize
                if size != side {
                    throw DiffusionError.invalidParameter("`size` \(size): \(url.path) renders \(side)x\(side) images only (`size` chooses the resolution of Stable Diffusion models)")
                }
            }
            let (t2i, info, url) = try load()
            return Loaded(model: TextToImage(predictor: AnyNoisePredictor(t2i.predictor), space: t2i.space, encoder: t2i.encoder),
                          name: info.name, sampling: info.sampling, url: url, size: nil)
        case .stableDiffusion:
            if textEncoder != nil {
                throw DiffusionError.invalidParameter("`textEncoder` applies to SynDiffusion UNet models; the Stable Diffusion model \(url.path) brings its own CLIP text encoder")
            }
            var isDir: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir)
            if isDir.boolValue && modelConfig != nil {
                throw DiffusionError.invalidParameter("`modelConfig` applies to single-file checkpoints; \(url.path) is a diffusers folder with its own configs")
            }
            let sd = try StableDiffusion.load(url, config: modelConfig.map { URL(fileURLWithPath: $0) }, predictionType: predictionType)
            let side = size ?? sd.nativeSize
            let space = try SampleSpace.latents(of: sd, size: side)
            // An overridden prediction type renders other images from the same weights, so it is part of the name (and the job).
            let name = sd.textEncoder.name + (predictionType.map { " (\($0.rawValue))" } ?? "")
            return Loaded(model: TextToImage(predictor: AnyNoisePredictor(sd.unet, maxBatch: space.maxBatch), space: space, encoder: sd.textEncoder),
                          name: name, sampling: nil, url: url, size: side)
        }
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
    /// Image side for Stable Diffusion models (nil: the model's native size); a UNet model file renders its own size.
    public var size: Int?

    /// A configuration with SynCLR's defaults.
    public init(captions: String, output: String, perCaption: Int = 4, guidance: GuidanceSettings = GuidanceSettings(),
                steps: Int = 50, sampler: SamplerKind = .ddim, seed: UInt64 = 0, shard: Shard = .all,
                models: ModelSelection = ModelSelection(), batchCaptions: Int = 8, size: Int? = nil) {
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
        self.size = size
    }

    /// Reads the captions, loads and checks the model, and returns the job with a one-line description.
    public func prepare() throws -> (job: ImageJob<AnyNoisePredictor>, description: String, shardImages: Int) {
        let records = try CaptionsFile.read(URL(fileURLWithPath: captions))
        guard !records.isEmpty else { throw DiffusionError.badData(path: captions, reason: "holds no captions") }
        if let size, size < 1 { throw DiffusionError.invalidParameter("`size` must be at least 1, got \(size)") }
        let loaded = try models.loadForImages(size: size)
        let options = try guidance.resolved(ImageJobOptions(perCaption: perCaption, steps: steps, sampler: sampler, seed: seed,
                                                            model: loaded.name, unitCaptions: batchCaptions, size: loaded.size),
                                            recommended: loaded.sampling)
        let job = ImageJob(model: loaded.model, captions: records, options: options, directory: URL(fileURLWithPath: output), shard: shard)
        let shardImages = (0..<job.unitCount).filter { shard.owns(unit: $0) }.reduce(0) { $0 + job.positions(ofUnit: $1).count } * perCaption
        let shape = loaded.model.space.imageShape
        let line = "\(records.count) captions x \(perCaption) from \(loaded.url.lastPathComponent) (\(loaded.name)), \(shape[1])x\(shape[2])x\(shape[0]), \(sampler.rawValue) \(steps) steps, guidance \(guidance.scale)\(options.refinementsSummary), seed \(seed), shard \(shard): \(shardImages) images"
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
