import SynTensor

/// Turns (seed, index) into a `CaptionPlan`. Each index has its own Philox stream, so plans do not
/// depend on batching, thread count, resume points or the process's hash seed.
public struct CaptionPlanner: Sendable {
    /// Concept lists and weights.
    public let tree: MixingTree
    /// In-context example pools.
    public let pools: ExamplePools
    /// Backgrounds per concept (the lists' own, overridden by an explicit table).
    public let backgrounds: BackgroundTable
    /// The job seed.
    public let seed: UInt64
    /// Number of in-context examples per prompt (the paper uses 3).
    public let exampleCount: Int
    private let sampler: MixingSampler
    /// Every example caption of the pools, normalized: a completion equal to one is an echo.
    public let normalizedExampleCaptions: Set<String>
    private let loweredConcepts: [[String]]

    /// A planner; `backgrounds` entries win over backgrounds that came inside JSON lists.
    public init(tree: MixingTree, pools: ExamplePools = .builtin, backgrounds: BackgroundTable = BackgroundTable(),
                seed: UInt64, exampleCount: Int = 3) {
        var table = BackgroundTable()
        for s in tree.sources { table = table.merging(BackgroundTable(s.list.backgrounds)) }
        self.tree = tree
        self.pools = pools
        self.backgrounds = table.merging(backgrounds)
        self.seed = seed
        self.exampleCount = exampleCount
        self.sampler = tree.sampler()
        let all = pools.object + pools.scene + pools.texture + pools.background + pools.relation
        self.normalizedExampleCaptions = Set(all.map { Deduplicator.normalize($0.caption) })
        self.loweredConcepts = [pools.object, pools.scene, pools.texture, pools.background, pools.relation]
            .map { $0.map { $0.concept.lowercased() } }
    }

    /// True when some object-kind mode weight asks for backgrounds but no drawable concept has any.
    public var backgroundModeUnavailable: Bool {
        let wants = tree.activeKinds.contains { (tree.modeWeights[$0.0] ?? .conceptOnly).background > 0 }
        return wants && backgrounds.count == 0
    }

    /// Concepts (of kinds whose mode split includes backgrounds) that have no backgrounds: (missing, total).
    public func conceptsWithoutBackgrounds() -> (missing: Int, total: Int) {
        var missing = 0, total = 0
        for s in tree.sources where (tree.modeWeights[s.list.kind] ?? .conceptOnly).background > 0 && s.weight > 0 {
            total += s.list.concepts.count
            missing += s.list.concepts.filter { backgrounds.backgrounds(for: $0) == nil }.count
        }
        return (missing, total)
    }

    /// The random stream of attempt `index`.
    public func stream(_ index: Int) -> RandomGenerator {
        RandomGenerator(seed: seed).derived("synclr/captions/v1").derived(UInt64(index))
    }

    /// The plan for attempt `index`.
    public func plan(index: Int) -> CaptionPlan {
        var rng = stream(index)
        let source = tree.sources[sampler.drawSource(&rng)]
        let list = source.list
        let concept = list.concepts[rng.int(below: list.concepts.count)]
        let bgs = backgrounds.backgrounds(for: concept) ?? []
        let mode = tree.drawMode(kind: list.kind, hasBackgrounds: !bgs.isEmpty, &rng)
        var background: String?
        var relation: String?
        switch mode {
        case .concept: break
        case .background: background = bgs[rng.int(below: bgs.count)]
        case .relation: relation = Relations.all[rng.int(below: Relations.all.count)]
        }
        let examples = drawExamples(pool: pools.pool(mode: mode, kind: list.kind), lowered: lowered(mode: mode, kind: list.kind),
                                    excluding: concept, &rng)
        let prompt = PromptBuilder.prompt(mode: mode, kind: list.kind, concept: concept, extra: background ?? relation, examples: examples)
        let requestSeed = rng.nextUInt64() & ((1 << 53) - 1)
        return CaptionPlan(index: index, source: list.name, kind: list.kind, concept: concept, mode: mode,
                           background: background, relation: relation, examples: examples, prompt: prompt, seed: requestSeed)
    }

    /// The lowercased concepts of the pool a `mode`/`kind` prompt draws from.
    func lowered(mode: CaptionMode, kind: ConceptKind) -> [String] {
        switch mode {
        case .concept: return kind == .object ? loweredConcepts[0] : kind == .scene ? loweredConcepts[1] : loweredConcepts[2]
        case .background: return loweredConcepts[3]
        case .relation: return loweredConcepts[4]
        }
    }

    /// `exampleCount` distinct examples, avoiding ones about the query concept when the pool allows.
    func drawExamples(pool: [CaptionExample], lowered: [String], excluding concept: String, _ rng: inout RandomGenerator) -> [CaptionExample] {
        let lower = concept.lowercased()
        var candidates = Array(pool.indices)
        if lowered.contains(lower) {
            let kept = candidates.filter { lowered[$0] != lower }
            if kept.count >= exampleCount { candidates = kept }
        }
        let k = min(exampleCount, candidates.count)
        return rng.sample(candidates.count, count: k).map { pool[candidates[$0]] }
    }
}
