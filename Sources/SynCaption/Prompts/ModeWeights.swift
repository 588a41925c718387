/// Relative weights of the three caption modes for one concept kind.
public struct ModeWeights: Sendable, Hashable, Codable {
    /// concept -> caption.
    public var concept: Double
    /// concept + relation -> caption.
    public var relation: Double
    /// concept + background -> caption.
    public var background: Double

    /// Weights (need not sum to one).
    public init(concept: Double, relation: Double, background: Double) {
        self.concept = concept
        self.relation = relation
        self.background = background
    }

    /// The paper's split for objects: 0.44 / 0.11 / 0.45.
    public static let paperObjects = ModeWeights(concept: 0.44, relation: 0.11, background: 0.45)
    /// concept -> caption only (the paper's choice for scenes and textures).
    public static let conceptOnly = ModeWeights(concept: 1, relation: 0, background: 0)

    /// The weight of `mode`.
    public func weight(_ mode: CaptionMode) -> Double {
        switch mode {
        case .concept: return concept
        case .relation: return relation
        case .background: return background
        }
    }

    /// Parses `concept=0.44,relation=0.11,background=0.45` (omitted modes get 0).
    public static func parse(_ text: String) throws -> ModeWeights {
        var w = ModeWeights(concept: 0, relation: 0, background: 0)
        for item in text.split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1).map { String($0).trimmed() }
            guard parts.count == 2, let mode = CaptionMode(rawValue: parts[0].lowercased()), let v = Double(parts[1]), v >= 0, v.isFinite else {
                throw CaptionError.invalidArgument("bad mode weight '\(item)': expected concept=W, relation=W or background=W with W >= 0")
            }
            switch mode {
            case .concept: w.concept = v
            case .relation: w.relation = v
            case .background: w.background = v
            }
        }
        if w.concept + w.relation + w.background <= 0 { throw CaptionError.invalidArgument("mode weights '\(text)' are all zero") }
        return w
    }
}
