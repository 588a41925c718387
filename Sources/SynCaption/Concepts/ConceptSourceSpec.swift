/// One `NAME_OR_FILE[:KIND][=WEIGHT]` item of a `--concepts` specification.
public struct ConceptSourceSpec: Sendable, Hashable {
    /// A built-in list name or alias, the preset `paper`, or a file path.
    public var reference: String
    /// Kind override (files default to `object`; built-ins have their own kind).
    public var kind: ConceptKind?
    /// Relative sampling weight (nil: the default for this source).
    public var weight: Double?

    /// A spec for `reference`.
    public init(reference: String, kind: ConceptKind? = nil, weight: Double? = nil) {
        self.reference = reference
        self.kind = kind
        self.weight = weight
    }

    /// Parses a comma-separated list such as `imagenet-1k=0.7,my-birds.txt:object=0.3`.
    public static func parseList(_ text: String) throws -> [ConceptSourceSpec] {
        let items = text.split(separator: ",").map { String($0).trimmed() }.filter { !$0.isEmpty }
        if items.isEmpty { throw CaptionError.invalidArgument("`concepts` is empty; name a built-in list (\(BuiltinConcepts.names.joined(separator: ", "))), `paper`, or a file") }
        return try items.map(parse)
    }

    /// Parses one item.
    public static func parse(_ item: String) throws -> ConceptSourceSpec {
        var rest = item
        var weight: Double?
        if let eq = rest.lastIndex(of: "=") {
            let w = String(rest[rest.index(after: eq)...]).trimmed()
            guard let value = Double(w), value.isFinite, value >= 0 else {
                throw CaptionError.invalidArgument("bad weight '\(w)' in '\(item)': expected a number >= 0")
            }
            weight = value
            rest = String(rest[..<eq])
        }
        var kind: ConceptKind?
        if let colon = rest.lastIndex(of: ":"), let k = ConceptKind(rawValue: String(rest[rest.index(after: colon)...]).lowercased()) {
            kind = k
            rest = String(rest[..<colon])
        }
        rest = rest.trimmed()
        if rest.isEmpty { throw CaptionError.invalidArgument("empty concept list name in '\(item)'") }
        return ConceptSourceSpec(reference: rest, kind: kind, weight: weight)
    }
}
