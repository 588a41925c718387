import SynTensor

/// A caption's identifier as it appears in a captions file: a number or a string, kept as written
/// (SynCaption writes numbers; hand-made files may use either).
public enum CaptionID: Hashable, Sendable, CustomStringConvertible, ExpressibleByIntegerLiteral, Codable {
    /// An integer id, e.g. `"id": 12`.
    case number(Int)
    /// A string id, e.g. `"id": "b-2"`.
    case text(String)

    /// An integer id from a literal.
    public init(integerLiteral value: Int) { self = .number(value) }

    /// The id as text (numbers in decimal).
    public var description: String {
        switch self {
        case .number(let n): return String(n)
        case .text(let s): return s
        }
    }

    /// The id as a JSON value (number or string literal).
    public var json: String {
        switch self {
        case .number(let n): return String(n)
        case .text(let s): return JSONText.quote(s, style: .serde)
        }
    }

    /// Decodes a JSON integer or string.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let n = try? c.decode(Int.self) {
            self = .number(n)
        } else if let s = try? c.decode(String.self) {
            self = .text(s)
        } else {
            throw RecordError.field("must be an integer or a string")
        }
    }

    /// Encodes as a JSON integer or string.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .number(let n): try c.encode(n)
        case .text(let s): try c.encode(s)
        }
    }
}
