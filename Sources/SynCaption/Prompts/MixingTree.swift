import SynTensor

/// How a caption's concept and mode are drawn: kind (object/scene/texture), then a list within the
/// kind, then a concept uniformly within the list, then a mode. Every weight is configurable.
public struct MixingTree: Sendable {
    /// One concept list and its weight among the lists of its kind.
    public struct Source: Sendable, Hashable {
        /// The list.
        public var list: ConceptList
        /// Relative weight within its kind.
        public var weight: Double

        /// A weighted list.
        public init(list: ConceptList, weight: Double) {
            self.list = list
            self.weight = weight
        }
    }

    /// The lists, in a fixed order.
    public var sources: [Source]
    /// Relative weight of each kind (kinds without lists are ignored).
    public var kindWeights: [ConceptKind: Double]
    /// Mode split per kind.
    public var modeWeights: [ConceptKind: ModeWeights]

    /// A tree from explicit parts.
    public init(sources: [Source], kindWeights: [ConceptKind: Double], modeWeights: [ConceptKind: ModeWeights] = MixingTree.paperModeWeights) {
        self.sources = sources
        self.kindWeights = kindWeights
        self.modeWeights = modeWeights
    }

    /// The paper's kind split: 91% objects, 8.8% scenes, 0.2% textures.
    public static let paperKindWeights: [ConceptKind: Double] = [.object: 0.91, .scene: 0.088, .texture: 0.002]
    /// The paper's object lists and their weights among objects.
    public static let paperObjectWeights: [(String, Double)] = [
        ("food-101", 0.05), ("stanford-cars", 0.06), ("fgvc-aircraft", 0.06), ("flowers-102", 0.03),
        ("imagenet-1k", 0.504), ("imagenet-21k", 0.296),
    ]
    /// The paper's mode split: 0.44/0.11/0.45 for objects, concept->caption only for scenes and textures.
    public static let paperModeWeights: [ConceptKind: ModeWeights] = [
        .object: .paperObjects, .scene: .conceptOnly, .texture: .conceptOnly,
    ]

    /// The paper's full tree over the built-in lists.
    public static func paper() throws -> MixingTree {
        var sources = try paperObjectWeights.map { Source(list: try BuiltinConcepts.load($0.0), weight: $0.1) }
        sources.append(Source(list: try BuiltinConcepts.load("scenes"), weight: 1))
        sources.append(Source(list: try BuiltinConcepts.load("dtd"), weight: 1))
        return MixingTree(sources: sources, kindWeights: paperKindWeights)
    }

    /// A tree from `--concepts` items. `paper` expands to the paper's lists with their overall
    /// probabilities as weights. With `kindWeights` nil a list's probability is its weight over the
    /// sum of all weights (default weight 1); otherwise kinds are drawn by `kindWeights` first.
    public static func from(specs: [ConceptSourceSpec], kindWeights: [ConceptKind: Double]? = nil,
                            modeWeights: [ConceptKind: ModeWeights] = paperModeWeights) throws -> MixingTree {
        var sources: [Source] = []
        for spec in specs {
            if spec.reference.lowercased() == "paper" {
                let scale = spec.weight ?? 1
                let paper = try MixingTree.paper()
                let totals = paper.kindTotals()
                for s in paper.sources {
                    sources.append(Source(list: s.list, weight: scale * paperKindWeights[s.list.kind]! * s.weight / totals[s.list.kind]!))
                }
            } else {
                sources.append(Source(list: try ConceptLoader.load(spec), weight: spec.weight ?? 1))
            }
        }
        let tree: MixingTree
        if let kindWeights {
            tree = MixingTree(sources: sources, kindWeights: kindWeights, modeWeights: modeWeights)
        } else {
            let flat = MixingTree(sources: sources, kindWeights: [:], modeWeights: modeWeights)
            tree = MixingTree(sources: sources, kindWeights: flat.kindTotals(), modeWeights: modeWeights)
        }
        try tree.validate()
        return tree
    }

    /// Sum of source weights per kind.
    func kindTotals() -> [ConceptKind: Double] {
        var t: [ConceptKind: Double] = [:]
        for s in sources { t[s.list.kind, default: 0] += s.weight }
        return t
    }

    /// Kinds that can be drawn, in fixed order, with their weights.
    var activeKinds: [(ConceptKind, Double)] {
        let totals = kindTotals()
        return ConceptKind.allCases.compactMap { k in
            guard let t = totals[k], t > 0, let w = kindWeights[k], w > 0 else { return nil }
            return (k, w)
        }
    }

    /// Throws when no list can be drawn or a weight is invalid.
    public func validate() throws {
        if sources.isEmpty { throw CaptionError.invalidArgument("no concept lists given") }
        for s in sources {
            if !(s.weight.isFinite && s.weight >= 0) { throw CaptionError.invalidArgument("list \(s.list.name) has invalid weight \(s.weight)") }
            if s.list.concepts.isEmpty { throw CaptionError.emptyList(name: s.list.name) }
        }
        for (k, w) in kindWeights where !(w.isFinite && w >= 0) {
            throw CaptionError.invalidArgument("kind \(k.rawValue) has invalid weight \(w)")
        }
        if activeKinds.isEmpty { throw CaptionError.invalidArgument("every concept list or kind has weight 0") }
        for (k, _) in activeKinds {
            let m = modeWeights[k] ?? .conceptOnly
            if m.concept + m.relation + m.background <= 0 { throw CaptionError.invalidArgument("all mode weights are 0 for \(k.rawValue) concepts") }
        }
    }

    /// The overall probability of drawing each source (index-aligned with `sources`).
    public func sourceProbabilities() -> [Double] {
        let kinds = activeKinds
        let kindSum = kinds.reduce(0) { $0 + $1.1 }
        let totals = kindTotals()
        return sources.map { s in
            guard let kw = kinds.first(where: { $0.0 == s.list.kind })?.1, let t = totals[s.list.kind], t > 0 else { return 0 }
            return kw / kindSum * s.weight / t
        }
    }

    /// Draws a source index: kind first, then a list within the kind.
    public func drawSource(_ rng: inout RandomGenerator) -> Int { sampler().drawSource(&rng) }

    /// Precomputed draw tables for this tree (use when drawing many times).
    public func sampler() -> MixingSampler {
        let kinds = activeKinds
        return MixingSampler(kindWeights: kinds.map(\.1), kindSources: kinds.map { k in
            let indices = sources.indices.filter { sources[$0].list.kind == k.0 && sources[$0].weight > 0 }
            return (indices, indices.map { sources[$0].weight })
        })
    }

    /// Draws a mode for a `kind` concept; background is only possible when `hasBackgrounds`.
    public func drawMode(kind: ConceptKind, hasBackgrounds: Bool, _ rng: inout RandomGenerator) -> CaptionMode {
        let w = modeWeights[kind] ?? .conceptOnly
        let modes: [CaptionMode] = [.concept, .relation, .background].filter {
            w.weight($0) > 0 && ($0 != .background || hasBackgrounds)
        }
        if modes.isEmpty { return .concept }
        return modes[MixingTree.pick(modes.map { w.weight($0) }, rng.uniformDouble())]
    }

    /// Index chosen by cumulative weights for a uniform `u` in [0, 1).
    static func pick(_ weights: [Double], _ u: Double) -> Int {
        let total = weights.reduce(0, +)
        var acc = 0.0
        let target = u * total
        for (i, w) in weights.enumerated() {
            acc += w
            if target < acc && w > 0 { return i }
        }
        return weights.lastIndex(where: { $0 > 0 }) ?? 0
    }

    /// Stable digest of the whole tree (lists, weights, mode splits).
    public var digest: UInt64 {
        var text = sources.map { "\(TextHash.hex($0.list.digest))=\($0.weight)" }.joined(separator: ",")
        for k in ConceptKind.allCases {
            let m = modeWeights[k] ?? .conceptOnly
            text += "|\(k.rawValue):\(kindWeights[k] ?? 0):\(m.concept),\(m.relation),\(m.background)"
        }
        return TextHash.fnv1a(text)
    }
}

/// Draw tables of a `MixingTree`: kind weights and, per kind, its source indices and weights.
public struct MixingSampler: Sendable {
    let kindWeights: [Double]
    let kindSources: [([Int], [Double])]

    /// Draws a source index (same draws as `MixingTree.drawSource`).
    public func drawSource(_ rng: inout RandomGenerator) -> Int {
        let (indices, weights) = kindSources[MixingTree.pick(kindWeights, rng.uniformDouble())]
        return indices[MixingTree.pick(weights, rng.uniformDouble())]
    }
}
