import Foundation
import SynTensor

/// Progress of a backgrounds job.
public struct BackgroundJobProgress: Sendable {
    /// Concepts finished (including those loaded from an earlier run).
    public var done: Int
    /// Concepts in the job.
    public var total: Int
    /// Concepts already finished when this run started.
    public var resumedFrom: Int
    /// Seconds since this run started.
    public var elapsed: Double
}

/// Asks a generator for plausible environments of each concept (few-shot, `concept => env; env; ...`)
/// and stores them as JSON for the concept+background mode. Resumable: finished concepts are kept
/// and the file is rewritten atomically after every chunk.
public struct BackgroundJob: Sendable {
    /// Concepts to cover, in order.
    public var concepts: [String]
    /// The generator.
    public var generator: any TextGenerator
    /// Sampling options.
    public var options: GenerationOptions
    /// In-context examples (`environments` pool).
    public var pools: ExamplePools
    /// Job seed.
    public var seed: UInt64
    /// Backgrounds wanted per concept.
    public var perConcept: Int
    /// Most generator calls per concept.
    public var maxRounds: Int
    /// Output JSON path.
    public var output: String
    /// Concepts per generator call and per checkpoint.
    public var chunkSize: Int

    /// A job for `concepts` writing `output`.
    public init(concepts: [String], generator: any TextGenerator, options: GenerationOptions = GenerationOptions(),
                pools: ExamplePools = .builtin, seed: UInt64, perConcept: Int = 20, maxRounds: Int = 8,
                output: String, chunkSize: Int = 32) {
        self.concepts = ConceptList.cleaned(concepts)
        self.generator = generator
        self.options = options
        self.pools = pools
        self.seed = seed
        self.perConcept = perConcept
        self.maxRounds = maxRounds
        self.output = output
        self.chunkSize = max(1, chunkSize)
    }

    /// The request for round `round` of `concept`.
    public func request(concept: String, round: Int) -> GenerationRequest {
        var rng = RandomGenerator(seed: seed).derived("synclr/backgrounds/v1").derived(concept).derived(UInt64(round))
        let lower = concept.lowercased()
        var candidates = pools.environments.filter { $0.concept.lowercased() != lower }
        if candidates.count < 3 { candidates = pools.environments }
        let examples = rng.sample(candidates.count, count: min(3, candidates.count)).map { candidates[$0] }
        let prompt = PromptBuilder.environmentPrompt(concept: concept, examples: examples)
        return GenerationRequest(prompt: prompt, seed: rng.nextUInt64() & ((1 << 53) - 1),
                                 context: ["task": "backgrounds", "concept": concept])
    }

    /// Environments parsed from one completion: first line, split on `;` (or `,` when there is no `;`).
    public static func parseEnvironments(_ completion: String, concept: String) -> [String] {
        let line = PromptBuilder.firstLine(of: completion)
        let separator: Character = line.contains(";") ? ";" : ","
        return line.split(separator: separator).compactMap { part in
            var s = String(part).trimmed()
            while let last = s.last, ".!".contains(last) { s.removeLast() }
            s = s.collapsingWhitespace()
            let words = s.split(separator: " ").count
            if s.isEmpty || words > 8 || s.contains("=>") || s.lowercased() == concept.lowercased() { return nil }
            return s
        }
    }

    /// Runs or resumes the job and returns the full table.
    public func run(overwrite: Bool = false, progress: (@Sendable (BackgroundJobProgress) -> Void)? = nil) async throws -> BackgroundTable {
        if perConcept < 1 { throw CaptionError.invalidArgument("`perConcept` must be >= 1") }
        var table = BackgroundTable()
        if overwrite { Files.remove(output) }
        if Files.exists(output) {
            let (loaded, meta) = try BackgroundJob.loadWithMeta(path: output)
            if let g = meta.generator, g != generator.name {
                throw CaptionError.jobMismatch(path: output, differences: ["generator: \(generator.name) now, \(g) before"])
            }
            if let s = meta.seed, s != seed {
                throw CaptionError.jobMismatch(path: output, differences: ["seed: \(seed) now, \(s) before"])
            }
            table = loaded
        }
        let todo = concepts.filter { table.backgrounds(for: $0) == nil }
        let resumedFrom = concepts.count - todo.count
        let start = Date()
        var done = resumedFrom
        progress?(BackgroundJobProgress(done: done, total: concepts.count, resumedFrom: resumedFrom, elapsed: 0))
        var i = 0
        while i < todo.count {
            try Task.checkCancellation()
            let chunk = Array(todo[i..<min(i + chunkSize, todo.count)])
            var found: [String: [String]] = Dictionary(uniqueKeysWithValues: chunk.map { ($0, []) })
            var seen: [String: Set<String>] = Dictionary(uniqueKeysWithValues: chunk.map { ($0, []) })
            for round in 0..<maxRounds {
                let needy = chunk.filter { found[$0]!.count < perConcept }
                if needy.isEmpty { break }
                let replies = try await generator.generate(needy.map { request(concept: $0, round: round) }, options: options)
                if replies.count != needy.count {
                    throw CaptionError.generatorCountMismatch(name: generator.name, expected: needy.count, got: replies.count)
                }
                for (concept, reply) in zip(needy, replies) {
                    for env in BackgroundJob.parseEnvironments(reply, concept: concept) where found[concept]!.count < perConcept {
                        if seen[concept]!.insert(env.lowercased()).inserted { found[concept]!.append(env) }
                    }
                }
            }
            for concept in chunk {
                // A concept the generator gave nothing usable for stays missing and is retried next run.
                if !found[concept]!.isEmpty { table.set(found[concept]!, for: concept) }
            }
            try Files.writeAtomically(table.jsonText(generator: generator.name, seed: seed), to: output)
            i += chunk.count
            done += chunk.count
            progress?(BackgroundJobProgress(done: done, total: concepts.count, resumedFrom: resumedFrom, elapsed: Date().timeIntervalSince(start)))
        }
        if todo.isEmpty && !Files.exists(output) {
            try Files.writeAtomically(table.jsonText(generator: generator.name, seed: seed), to: output)
        }
        return table
    }

    /// A backgrounds file with its `generator` and `seed` members, if present.
    public static func loadWithMeta(path: String) throws -> (BackgroundTable, (generator: String?, seed: UInt64?)) {
        let json = try JSONFile.read(path: path, what: "backgrounds file")
        let entries = try JSONFile.conceptEntries(json, path: path)
        var table = BackgroundTable()
        for e in entries where !e.backgrounds.isEmpty { table.set(e.backgrounds, for: e.concept) }
        let object = json as? [String: Any]
        let generator = object?["generator"] as? String
        let seed = (object?["seed"] as? NSNumber)?.uint64Value
        return (table, (generator, seed))
    }
}
