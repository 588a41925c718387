import Foundation

/// Provenance of one built-in list, as written by Scripts/setup/build_concepts.py.
public struct BuiltinListInfo: Sendable, Hashable, Codable {
    /// List name (e.g. `imagenet-1k`).
    public var name: String
    /// Concept kind.
    public var kind: ConceptKind
    /// Number of concepts.
    public var count: Int
    /// Package the names came from.
    public var package: String
    /// That package's version.
    public var version: String
    /// That package's license.
    public var license: String
    /// Data files read inside the package.
    public var files: [String]
    /// How the raw names were cleaned.
    public var cleaning: String
}

/// The concept lists shipped with SynCaption (see Resources/NOTICE for provenance).
public enum BuiltinConcepts {
    /// Names of every built-in list.
    public static let names = ["imagenet-1k", "imagenet-21k", "scenes", "dtd", "food-101", "stanford-cars",
                               "fgvc-aircraft", "flowers-102", "oxford-pets", "caltech-101", "fashion-mnist"]

    /// Short alternative names accepted on the command line.
    public static let aliases: [String: String] = [
        "in1k": "imagenet-1k", "imagenet": "imagenet-1k", "in21k": "imagenet-21k", "places": "scenes",
        "places365": "scenes", "sun397": "scenes", "textures": "dtd", "food": "food-101", "cars": "stanford-cars",
        "aircraft": "fgvc-aircraft", "flowers": "flowers-102", "pets": "oxford-pets", "caltech": "caltech-101",
        "fashion": "fashion-mnist",
    ]

    /// The canonical built-in name for `name` or an alias (case-insensitive), if any.
    public static func canonicalName(_ name: String) -> String? {
        let lower = name.lowercased()
        if names.contains(lower) { return lower }
        return aliases[lower]
    }

    /// Provenance records of all built-in lists.
    public static func manifest() throws -> [BuiltinListInfo] {
        let url = try ResourceLocator.resourceDirectory().appendingPathComponent("Concepts/manifest.json")
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw CaptionError.unreadable(path: url.path, reason: "\(error.localizedDescription)")
        }
        do { return try JSONDecoder().decode([BuiltinListInfo].self, from: data) } catch {
            throw CaptionError.malformedJSON(path: url.path, reason: "\(error)")
        }
    }

    /// The built-in list `name` (or alias).
    public static func load(_ name: String) throws -> ConceptList {
        guard let canonical = canonicalName(name) else { throw CaptionError.unknownList(name: name, known: names) }
        let info = try manifest().first { $0.name == canonical }
        let url = try ResourceLocator.resourceDirectory().appendingPathComponent("Concepts/\(canonical).txt")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw CaptionError.fileNotFound(path: url.path, what: "built-in concept list")
        }
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw CaptionError.unreadable(path: url.path, reason: error.localizedDescription)
        }
        let list = ConceptList(name: canonical, kind: info?.kind ?? .object, concepts: text.components(separatedBy: "\n"))
        if list.concepts.isEmpty { throw CaptionError.emptyList(name: canonical) }
        return list
    }

    /// The NOTICE text (provenance and licenses of the lists).
    public static func notice() throws -> String {
        let url = try ResourceLocator.resourceDirectory().appendingPathComponent("NOTICE")
        do { return try String(contentsOf: url, encoding: .utf8) } catch {
            throw CaptionError.unreadable(path: url.path, reason: error.localizedDescription)
        }
    }
}
