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

    /// Options of a job.
    public init(perCaption: Int = 4, guidance: Float = 2.5, steps: Int = 50, sampler: SamplerKind = .ddim, seed: UInt64 = 0,
                model: String, unitCaptions: Int = 8) {
        self.perCaption = perCaption
        self.guidance = guidance
        self.steps = steps
        self.sampler = sampler
        self.seed = seed
        self.model = model
        self.unitCaptions = unitCaptions
    }

    /// Problems with the options (empty when valid).
    public var problems: [String] {
        var p: [String] = []
        if perCaption < 1 { p.append("--per-caption must be at least 1") }
        if !guidance.isFinite || guidance < 0 { p.append("--guidance must be a finite number >= 0") }
        if steps < 1 || steps > 1000 { p.append("--steps must be in 1...1000") }
        if unitCaptions < 1 { p.append("the batch unit must hold at least one caption") }
        return p
    }

    enum CodingKeys: String, CodingKey {
        case perCaption = "per_caption", guidance, steps, sampler, seed, model, unitCaptions = "unit_captions"
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
/// three and kept below 2^53 so every JSON reader holds it exactly.
public func imageSeed(jobSeed: UInt64, captionID: CaptionID, index: Int) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    let text: String
    switch captionID {
    case .number(let n): text = "n:\(n)"
    case .text(let s): text = "s:" + s
    }
    for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
    let mixed = mixSeed(mixSeed(jobSeed) ^ mixSeed(h) ^ mixSeed(UInt64(index) &+ 0x1234_5678))
    return mixed & ((1 << 53) - 1)
}
