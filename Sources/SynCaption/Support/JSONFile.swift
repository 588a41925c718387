import Foundation

/// One concept read from a JSON list or backgrounds file.
struct ConceptEntry {
    var concept: String
    var backgrounds: [String]
}

/// Reading user JSON files with errors that name the file and the problem.
enum JSONFile {
    /// Parses the JSON document at `path`.
    static func read(path: String, what: String) throws -> Any {
        guard FileManager.default.fileExists(atPath: path) else { throw CaptionError.fileNotFound(path: path, what: what) }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw CaptionError.unreadable(path: path, reason: error.localizedDescription)
        }
        if data.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            throw CaptionError.malformedJSON(path: path, reason: "the file is empty")
        }
        do { return try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) } catch {
            throw CaptionError.malformedJSON(path: path, reason: JSONFile.reason(error))
        }
    }

    /// A short reason from a JSONSerialization error.
    static func reason(_ error: Error) -> String {
        let ns = error as NSError
        if let detail = ns.userInfo[NSDebugDescriptionErrorKey] as? String { return detail }
        return ns.localizedDescription
    }

    /// Concepts (with optional backgrounds) from any of the accepted shapes: an array of strings,
    /// an array of `{"concept"|"name": .., "backgrounds": [..]}`, a `{concept: [backgrounds]}` map
    /// (taken in sorted order), or an object with a `concepts` or `backgrounds` member of those shapes.
    static func conceptEntries(_ json: Any, path: String) throws -> [ConceptEntry] {
        if let object = json as? [String: Any] {
            if let inner = object["concepts"] { return try conceptEntries(inner, path: path) }
            if let inner = object["backgrounds"] { return try conceptEntries(inner, path: path) }
            var out: [ConceptEntry] = []
            for key in object.keys.sorted() {
                out.append(ConceptEntry(concept: key, backgrounds: try strings(object[key]!, path: path, context: "backgrounds of \"\(key)\"")))
            }
            return out
        }
        guard let array = json as? [Any] else {
            throw CaptionError.malformedJSON(path: path, reason: "expected an array of concepts or an object mapping concepts to backgrounds")
        }
        var out: [ConceptEntry] = []
        for (i, item) in array.enumerated() {
            if let s = item as? String {
                out.append(ConceptEntry(concept: s, backgrounds: []))
            } else if let o = item as? [String: Any] {
                guard let name = (o["concept"] ?? o["name"]) as? String else {
                    throw CaptionError.malformedJSON(path: path, reason: "item \(i) has no string \"concept\" member")
                }
                let bgs = try o["backgrounds"].map { try strings($0, path: path, context: "backgrounds of \"\(name)\"") } ?? []
                out.append(ConceptEntry(concept: name, backgrounds: bgs))
            } else {
                throw CaptionError.malformedJSON(path: path, reason: "item \(i) is neither a string nor an object")
            }
        }
        return out
    }

    /// `value` as an array of strings, or a malformed-JSON error naming `context`.
    static func strings(_ value: Any, path: String, context: String) throws -> [String] {
        guard let array = value as? [Any] else {
            throw CaptionError.malformedJSON(path: path, reason: "\(context) is not an array of strings")
        }
        return try array.map {
            guard let s = $0 as? String else { throw CaptionError.malformedJSON(path: path, reason: "\(context) contains a non-string") }
            return s
        }
    }
}

/// Minimal JSON text helpers for writing records in a fixed field order.
public enum JSONText {
    /// `s` as a JSON string literal (quotes, backslash and control characters escaped).
    public static func quote(_ s: String) -> String {
        var plain = true
        var previous: UInt8 = 0, beforePrevious: UInt8 = 0
        for b in s.utf8 {
            // Quote, backslash, control characters, and U+2028/U+2029 (E2 80 A8/A9) need escapes.
            if b == 0x22 || b == 0x5C || b < 0x20 || ((b == 0xA8 || b == 0xA9) && previous == 0x80 && beforePrevious == 0xE2) {
                plain = false
                break
            }
            beforePrevious = previous
            previous = b
        }
        if plain { return "\"" + s + "\"" }
        var out = "\""
        out.reserveCapacity(s.utf8.count + 2)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x2028 || scalar.value == 0x2029 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// `s` quoted, or `null` when nil.
    public static func quoteOrNull(_ s: String?) -> String { s.map(quote) ?? "null" }
}
