import Foundation
import SynTensor

/// Plausible environments per concept, used by the concept+background caption mode.
public struct BackgroundTable: Sendable, Hashable {
    /// Backgrounds keyed by concept as written.
    public private(set) var entries: [String: [String]]
    private var lowercased: [String: String]

    /// A table from `entries`; blank and repeated backgrounds are dropped, empty concepts omitted.
    public init(_ entries: [String: [String]] = [:]) {
        self.entries = [:]
        self.lowercased = [:]
        for (concept, list) in entries { set(list, for: concept) }
    }

    /// Number of concepts with at least one background.
    public var count: Int { entries.count }

    /// Replaces the backgrounds of `concept`.
    public mutating func set(_ backgrounds: [String], for concept: String) {
        let key = concept.collapsingWhitespace()
        let clean = ConceptList.cleaned(backgrounds)
        if let old = lowercased[key.lowercased()] { entries[old] = nil }
        if clean.isEmpty {
            lowercased[key.lowercased()] = nil
            return
        }
        entries[key] = clean
        lowercased[key.lowercased()] = key
    }

    /// Backgrounds of `concept` (exact match first, then case-insensitive), or nil.
    public func backgrounds(for concept: String) -> [String]? {
        if let exact = entries[concept] { return exact }
        if let key = lowercased[concept.lowercased()] { return entries[key] }
        return nil
    }

    /// This table merged with `other` (entries of `other` win).
    public func merging(_ other: BackgroundTable) -> BackgroundTable {
        var out = self
        for (k, v) in other.entries { out.set(v, for: k) }
        return out
    }

    /// Stable digest of the whole table (sorted by concept).
    public var digest: UInt64 {
        var text = ""
        for key in entries.keys.sorted() { text += key + "\u{1}" + entries[key]!.joined(separator: "\u{2}") + "\u{3}" }
        return TextHash.fnv1a(text)
    }

    /// Reads a backgrounds file: `{"backgrounds": {concept: [..]}}`, a plain `{concept: [..]}`
    /// object, or `[{"concept": .., "backgrounds": [..]}]`.
    public static func load(path: String) throws -> BackgroundTable {
        let json = try JSONFile.read(path: path, what: "backgrounds file")
        let entries = try JSONFile.conceptEntries(json, path: path)
        var table = BackgroundTable()
        for entry in entries where !entry.backgrounds.isEmpty { table.set(entry.backgrounds, for: entry.concept) }
        if table.count == 0 { throw CaptionError.malformedJSON(path: path, reason: "no concept has any background") }
        return table
    }

    /// Pretty, key-sorted JSON `{"generator": .., "seed": .., "backgrounds": {..}}` with concepts in sorted order.
    public func jsonText(generator: String, seed: UInt64) -> String {
        var out = "{\n  \"generator\": \(JSONText.quote(generator, style: .lineSafe)),\n  \"seed\": \(seed),\n  \"backgrounds\": {"
        let keys = entries.keys.sorted()
        for (i, key) in keys.enumerated() {
            let items = entries[key]!.map { JSONText.quote($0, style: .lineSafe) }.joined(separator: ", ")
            out += "\n    \(JSONText.quote(key, style: .lineSafe)): [\(items)]" + (i + 1 < keys.count ? "," : "")
        }
        out += keys.isEmpty ? "}\n}\n" : "\n  }\n}\n"
        return out
    }
}
