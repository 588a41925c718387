import Foundation

/// Loads built-in lists and user list files.
public enum ConceptLoader {
    /// The list a spec refers to: a built-in name/alias, else a file (text or JSON).
    public static func load(_ spec: ConceptSourceSpec) throws -> ConceptList {
        if BuiltinConcepts.canonicalName(spec.reference) != nil {
            var list = try BuiltinConcepts.load(spec.reference)
            if let kind = spec.kind { list.kind = kind }
            return list
        }
        let looksLikePath = spec.reference.contains("/") || spec.reference.hasSuffix(".txt") || spec.reference.hasSuffix(".json")
        if !looksLikePath && !FileManager.default.fileExists(atPath: spec.reference) {
            throw CaptionError.unknownList(name: spec.reference, known: BuiltinConcepts.names)
        }
        return try loadFile(path: spec.reference, kind: spec.kind ?? .object)
    }

    /// A user list: one concept per line (`#` comments allowed), or JSON (see `BackgroundTable.load`
    /// for the accepted shapes; backgrounds given per concept are kept with the list).
    public static func loadFile(path: String, kind: ConceptKind = .object) throws -> ConceptList {
        let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        if path.lowercased().hasSuffix(".json") {
            let json = try JSONFile.read(path: path, what: "concept list file")
            let entries = try JSONFile.conceptEntries(json, path: path)
            var backgrounds: [String: [String]] = [:]
            for e in entries where !e.backgrounds.isEmpty { backgrounds[e.concept.collapsingWhitespace()] = e.backgrounds }
            let list = ConceptList(name: name, kind: kind, concepts: entries.map(\.concept), backgrounds: backgrounds)
            if list.concepts.isEmpty { throw CaptionError.emptyList(name: path) }
            return list
        }
        guard FileManager.default.fileExists(atPath: path) else { throw CaptionError.fileNotFound(path: path, what: "concept list file") }
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw CaptionError.unreadable(path: path, reason: "not UTF-8 text (\(error.localizedDescription))")
        }
        let lines = text.components(separatedBy: .newlines).filter { !$0.trimmed().hasPrefix("#") }
        let list = ConceptList(name: name, kind: kind, concepts: lines)
        if list.concepts.isEmpty { throw CaptionError.emptyList(name: path) }
        return list
    }
}
