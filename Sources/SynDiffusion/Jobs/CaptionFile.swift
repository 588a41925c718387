import Foundation

/// A caption's identifier as it appears in the JSONL file: a number or a string (kept as written).
public enum CaptionID: Hashable, Sendable, CustomStringConvertible {
    /// An integer id, e.g. SynCaption's `"id": 12`.
    case number(Int)
    /// A string id.
    case text(String)

    /// The id as text (numbers in decimal).
    public var description: String {
        switch self {
        case .number(let n): return String(n)
        case .text(let s): return s
        }
    }

    /// The id as a JSON value (number or string literal).
    var json: String {
        switch self {
        case .number(let n): return String(n)
        case .text(let s): return jsonString(s)
        }
    }
}

/// One line of a captions JSONL file (SynCaption's format: `id`, `caption`, `concept`, ...).
public struct CaptionRecord: Sendable, Hashable {
    /// The caption's id (`id` field; the 0-based line index among captions when absent).
    public var id: CaptionID
    /// The caption text.
    public var caption: String
    /// The concept it was written for, when the line has one.
    public var concept: String?

    /// A record.
    public init(id: CaptionID, caption: String, concept: String? = nil) {
        self.id = id
        self.caption = caption
        self.concept = concept
    }
}

/// Reads captions JSONL files: one JSON object per line with a string `caption`, an optional
/// `id` (integer or string) and an optional string `concept`; blank lines are skipped.
public enum CaptionFile {
    /// All records of `url` in file order. Throws `DiffusionError` naming the file and line on a
    /// malformed line, a missing caption or a repeated id.
    public static func read(_ url: URL) throws -> [CaptionRecord] {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw DiffusionError.missingFile(path: url.path, hint: "Pass a captions JSONL file (e.g. from `synclr captions`).")
        }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw DiffusionError.badData(path: url.path, reason: "cannot read: \(error.localizedDescription)")
        }
        var records: [CaptionRecord] = []
        var seen = Set<CaptionID>()
        var lineNumber = 0
        for rawLine in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = rawLine.last == UInt8(ascii: "\r") ? rawLine.dropLast() : rawLine
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            let parsed: CaptionLine
            do { parsed = try JSONDecoder().decode(CaptionLine.self, from: Data(line)) } catch let e as CaptionLine.Problem {
                throw DiffusionError.malformedLine(path: url.path, line: lineNumber, reason: e.message)
            } catch {
                throw DiffusionError.malformedLine(path: url.path, line: lineNumber, reason: "not a valid JSON object")
            }
            let id = parsed.id ?? .number(records.count)
            guard seen.insert(id).inserted else {
                throw DiffusionError.malformedLine(path: url.path, line: lineNumber, reason: "id \(id) appears more than once")
            }
            let caption = parsed.caption, concept = parsed.concept
            records.append(CaptionRecord(id: id, caption: caption, concept: concept))
        }
        return records
    }
}

/// The fields of one captions line this package uses (others are ignored).
private struct CaptionLine: Decodable {
    struct Problem: Error { let message: String }
    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    let caption: String
    let id: CaptionID?
    let concept: String?

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        let captionKey = Key(stringValue: "caption"), idKey = Key(stringValue: "id"), conceptKey = Key(stringValue: "concept")
        guard let caption = try? c.decode(String.self, forKey: captionKey) else {
            throw Problem(message: "missing string field \"caption\"")
        }
        self.caption = caption
        if try !c.contains(idKey) || c.decodeNil(forKey: idKey) {
            id = nil
        } else if let n = try? c.decode(Int.self, forKey: idKey) {
            id = .number(n)
        } else if let s = try? c.decode(String.self, forKey: idKey) {
            id = .text(s)
        } else {
            throw Problem(message: "\"id\" must be an integer or a string")
        }
        if try !c.contains(conceptKey) || c.decodeNil(forKey: conceptKey) {
            concept = nil
        } else if let s = try? c.decode(String.self, forKey: conceptKey) {
            concept = s
        } else {
            throw Problem(message: "\"concept\" must be a string")
        }
    }
}

/// `s` as a JSON string literal (quotes, backslashes and control characters escaped; UTF-8 kept).
func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case "\u{08}": out += "\\b"
        case "\u{0C}": out += "\\f"
        default:
            if u.value < 0x20 {
                out += String(format: "\\u%04x", u.value)
            } else {
                out.unicodeScalars.append(u)
            }
        }
    }
    return out + "\""
}
