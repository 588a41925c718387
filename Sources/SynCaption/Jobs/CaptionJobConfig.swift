import Foundation

/// What determines a caption job's output (everything but the count): compared on resume.
public struct CaptionJobConfig: Sendable, Hashable, Codable {
    /// One concept list as recorded in the job header.
    public struct SourceInfo: Sendable, Hashable, Codable {
        /// List name.
        public var name: String
        /// Concept kind.
        public var kind: ConceptKind
        /// Weight within its kind.
        public var weight: Double
        /// Number of concepts.
        public var concepts: Int
        /// Digest of the list's content.
        public var digest: String
    }

    /// File format version.
    public var format: Int
    /// The job seed.
    public var seed: UInt64
    /// Concept lists.
    public var sources: [SourceInfo]
    /// Kind weights (by kind name).
    public var kindWeights: [String: Double]
    /// Mode weights (by kind name).
    public var modeWeights: [String: ModeWeights]
    /// Digest of the background table in use.
    public var backgrounds: String
    /// Concepts with backgrounds.
    public var backgroundConcepts: Int
    /// Digest of the example pools.
    public var examples: String
    /// Generator name.
    public var generator: String
    /// Sampling options.
    public var options: GenerationOptions
    /// Filters.
    public var filter: CaptionFilter

    /// The config of a job built from these parts.
    public init(planner: CaptionPlanner, generator: String, options: GenerationOptions, filter: CaptionFilter) {
        format = 1
        seed = planner.seed
        sources = planner.tree.sources.map {
            SourceInfo(name: $0.list.name, kind: $0.list.kind, weight: $0.weight, concepts: $0.list.concepts.count,
                       digest: TextHash.hex($0.list.digest))
        }
        kindWeights = Dictionary(uniqueKeysWithValues: planner.tree.kindWeights.map { ($0.key.rawValue, $0.value) })
        modeWeights = Dictionary(uniqueKeysWithValues: planner.tree.modeWeights.map { ($0.key.rawValue, $0.value) })
        backgrounds = TextHash.hex(planner.backgrounds.digest)
        backgroundConcepts = planner.backgrounds.count
        examples = TextHash.hex(planner.pools.digest)
        self.generator = generator
        self.options = options
        self.filter = filter
    }

    /// Canonical JSON (sorted keys) on one line.
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// Human-readable differences between this (new) config and `other` (the recorded one); empty when equal.
    public func differences(from other: CaptionJobConfig) -> [String] {
        var out: [String] = []
        func note<T: Equatable>(_ name: String, _ now: T, _ before: T) { if now != before { out.append("\(name): \(now) now, \(before) before") } }
        note("seed", seed, other.seed)
        note("concept lists", sources.map { "\($0.name)=\($0.weight)" }, other.sources.map { "\($0.name)=\($0.weight)" })
        if sources.map(\.name) == other.sources.map(\.name) && sources.map(\.digest) != other.sources.map(\.digest) {
            out.append("concept list contents changed")
        }
        note("kind weights", kindWeights, other.kindWeights)
        if modeWeights != other.modeWeights { out.append("mode weights changed") }
        note("backgrounds", "\(backgroundConcepts) concepts (\(backgrounds))", "\(other.backgroundConcepts) concepts (\(other.backgrounds))")
        if examples != other.examples { out.append("example pools changed") }
        note("generator", generator, other.generator)
        if options != other.options { out.append("sampling options changed") }
        if filter != other.filter { out.append("filters changed") }
        if out.isEmpty && self != other { out.append("format \(format) now, \(other.format) before") }
        return out
    }
}
