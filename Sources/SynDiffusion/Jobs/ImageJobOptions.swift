import Foundation
import SynTensor

/// What a generation job renders; stored as DIR/job.json so a resumed or sharded run of the same
/// folder must ask for the same images.
public struct ImageJobOptions: Codable, Sendable, Hashable {
    /// Images per caption.
    public var perCaption: Int
    /// Classifier-free guidance scale.
    public var guidance: Float
    /// Sampler steps.
    public var steps: Int
    /// Sampler.
    public var sampler: SamplerKind
    /// Job seed (each image's seed derives from it, the caption id and the image index).
    public var seed: UInt64
    /// Model name recorded in the manifest.
    public var model: String
    /// Captions rendered together in one batch unit (part of the job: a unit is always the same batch).
    public var unitCaptions: Int
    /// Guidance rescale weight (`ClassifierFreeGuidance.rescale`; 0: off).
    public var guidanceRescale: Float
    /// Training timesteps where guidance applies (nil: all).
    public var guidanceInterval: ClosedRange<Float>?
    /// Dynamic thresholding of the predicted x0 (DDIM, DDPM and DPM-Solver++; nil: none).
    public var thresholding: DynamicThresholding?
    /// Side of the square images in pixels, for models that render several sizes (Stable
    /// Diffusion); nil for a model with one size (the shipped UNet).
    public var size: Int?

    /// Options of a job.
    public init(perCaption: Int = 4, guidance: Float = 2.5, steps: Int = 50, sampler: SamplerKind = .ddim, seed: UInt64 = 0,
                model: String, unitCaptions: Int = 8, guidanceRescale: Float = 0, guidanceInterval: ClosedRange<Float>? = nil,
                thresholding: DynamicThresholding? = nil, size: Int? = nil) {
        self.perCaption = perCaption
        self.guidance = guidance
        self.steps = steps
        self.sampler = sampler
        self.seed = seed
        self.model = model
        self.unitCaptions = unitCaptions
        self.guidanceRescale = guidanceRescale
        self.guidanceInterval = guidanceInterval
        self.thresholding = thresholding
        self.size = size
    }

    /// The classifier-free guidance these options describe.
    public var classifierFreeGuidance: ClassifierFreeGuidance {
        ClassifierFreeGuidance(scale: guidance, rescale: guidanceRescale, interval: guidanceInterval)
    }

    /// Problems with the options (empty when valid).
    public var problems: [String] {
        var p: [String] = []
        if perCaption < 1 { p.append("`perCaption` must be at least 1") }
        if !guidance.isFinite || guidance < 0 { p.append("`guidance` must be a finite number >= 0") }
        if steps < 1 || steps > 1000 { p.append("`steps` must be in 1...1000") }
        if unitCaptions < 1 { p.append("the batch unit must hold at least one caption") }
        if let size, size < 1 { p.append("`size` must be at least 1") }
        if !guidanceRescale.isFinite || guidanceRescale < 0 || guidanceRescale > 1 { p.append("`guidanceRescale` must be in 0...1") }
        if let t = thresholding, !(t.ratio > 0 && t.ratio <= 1 && t.maxValue >= 1) {
            p.append("`dynamicThreshold` needs a quantile in (0, 1] and a maximum >= 1")
        }
        if thresholding != nil && !sampler.supportsThresholding {
            p.append("`dynamicThreshold` (thresholding) works with the ddim, ddpm and dpm++ samplers, not \(sampler.rawValue)")
        }
        return p
    }

    enum CodingKeys: String, CodingKey {
        case perCaption = "per_caption", guidance, steps, sampler, seed, model, unitCaptions = "unit_captions"
        case guidanceRescale = "guidance_rescale", guidanceInterval = "guidance_interval", thresholding, size
    }

    /// Reads job.json; the guidance refinements and the size are optional (older jobs lack them).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        perCaption = try c.decode(Int.self, forKey: .perCaption)
        guidance = try c.decode(Float.self, forKey: .guidance)
        steps = try c.decode(Int.self, forKey: .steps)
        sampler = try c.decode(SamplerKind.self, forKey: .sampler)
        seed = try c.decode(UInt64.self, forKey: .seed)
        model = try c.decode(String.self, forKey: .model)
        unitCaptions = try c.decode(Int.self, forKey: .unitCaptions)
        guidanceRescale = try c.decodeIfPresent(Float.self, forKey: .guidanceRescale) ?? 0
        guidanceInterval = try c.decodeIfPresent(ClosedRange<Float>.self, forKey: .guidanceInterval)
        thresholding = try c.decodeIfPresent(DynamicThresholding.self, forKey: .thresholding)
        size = try c.decodeIfPresent(Int.self, forKey: .size)
    }

    /// Writes job.json, leaving out refinements that are off (and an absent size) so plain jobs keep their old form.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(perCaption, forKey: .perCaption)
        try c.encode(guidance, forKey: .guidance)
        try c.encode(steps, forKey: .steps)
        try c.encode(sampler, forKey: .sampler)
        try c.encode(seed, forKey: .seed)
        try c.encode(model, forKey: .model)
        try c.encode(unitCaptions, forKey: .unitCaptions)
        if guidanceRescale != 0 { try c.encode(guidanceRescale, forKey: .guidanceRescale) }
        try c.encodeIfPresent(guidanceInterval, forKey: .guidanceInterval)
        try c.encodeIfPresent(thresholding, forKey: .thresholding)
        try c.encodeIfPresent(size, forKey: .size)
    }
}

/// `--shard i/n`: this run renders the caption units u with u % n == i.
public struct Shard: Sendable, Hashable, CustomStringConvertible {
    /// Index of this shard, 0-based.
    public var index: Int
    /// Number of shards.
    public var count: Int

    /// The whole job.
    public static let all = Shard(index: 0, count: 1)

    /// A shard; `index` must be below `count`.
    public init(index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    /// Parses "i/n" (0 <= i < n); nil when malformed.
    public init?(_ text: String) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n >= 1, i >= 0, i < n else { return nil }
        self.init(index: i, count: n)
    }

    /// "i/n".
    public var description: String { "\(index)/\(count)" }

    /// Whether unit `u` belongs to this shard.
    public func owns(unit u: Int) -> Bool { u % count == index }
}

/// The seed of image `index` of caption `id` in a job seeded `jobSeed`: SplitMix-mixed from all
/// three and kept below 2^53 so every JSON reader holds it exactly. This formula is frozen (seeds
/// already written into manifests must keep rendering the same images); new code derives its
/// seeds and streams with `RandomGenerator.derived` (Docs/architecture.md, "Seeds").
public func imageSeed(jobSeed: UInt64, captionID: CaptionID, index: Int) -> UInt64 {
    let h: UInt64
    switch captionID {
    case .number(let n): h = stableHash("n:\(n)")
    case .text(let s): h = stableHash("s:" + s)
    }
    let mixed = mixSeed(mixSeed(jobSeed) ^ mixSeed(h) ^ mixSeed(UInt64(index) &+ 0x1234_5678))
    return mixed & ((1 << 53) - 1)
}
