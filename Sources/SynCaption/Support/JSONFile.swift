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

