/// A named list of concepts of one kind, optionally with plausible backgrounds per concept.
public struct ConceptList: Sendable, Hashable {
    /// Short name recorded as the caption's `source` (built-in name or file name).
    public var name: String
    /// What the concepts are.
    public var kind: ConceptKind
    /// The concepts, in a fixed order (duplicates removed, case-insensitively).
    public var concepts: [String]
    /// Backgrounds that came with the list itself (JSON lists), keyed by concept.
    public var backgrounds: [String: [String]]

    /// A list named `name`; blank entries and case-insensitive duplicates are dropped.
    public init(name: String, kind: ConceptKind, concepts: [String], backgrounds: [String: [String]] = [:]) {
        self.name = name
        self.kind = kind
        self.concepts = ConceptList.cleaned(concepts)
        self.backgrounds = backgrounds
    }

    /// Stable 64-bit digest of the name, kind, concepts and backgrounds (for job fingerprints).
    public var digest: UInt64 {
        var text = "\(name)\u{1}\(kind.rawValue)\u{1}" + concepts.joined(separator: "\u{2}")
        for key in backgrounds.keys.sorted() {
            text += "\u{3}\(key)\u{4}" + backgrounds[key]!.joined(separator: "\u{2}")
        }
        return TextHash.fnv1a(text)
    }

    /// Trimmed, non-empty, first occurrence of each concept (case-insensitive).
    static func cleaned(_ items: [String]) -> [String] {
        var seen = Set<String>()
        var out: [String] = []
        for raw in items {
            let item = raw.collapsingWhitespace()
            if item.isEmpty { continue }
            if seen.insert(item.lowercased()).inserted { out.append(item) }
        }
        return out
    }
}
