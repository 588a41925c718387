import Foundation

/// The in-context example pools, one per prompt shape. The built-in pools were written for this
/// project; a JSON file can replace any of them.
public struct ExamplePools: Sendable, Hashable, Codable {
    /// concept -> caption examples for objects.
    public var object: [CaptionExample]
    /// concept -> caption examples for scenes.
    public var scene: [CaptionExample]
    /// concept -> caption examples for textures.
    public var texture: [CaptionExample]
    /// concept + background -> caption examples (`extra` is the background).
    public var background: [CaptionExample]
    /// concept + relation -> caption examples (`extra` is the relation).
    public var relation: [CaptionExample]
    /// concept -> environments examples for the backgrounds command.
    public var environments: [EnvironmentExample]

    /// Pools from explicit arrays.
    public init(object: [CaptionExample], scene: [CaptionExample], texture: [CaptionExample],
                background: [CaptionExample], relation: [CaptionExample], environments: [EnvironmentExample]) {
        self.object = object
        self.scene = scene
        self.texture = texture
        self.background = background
        self.relation = relation
        self.environments = environments
    }

    /// The project's own pools: 56 object, 35 scene, 23 texture, 52 background, 22 relation, 24 environment examples.
    public static let builtin = ExamplePools(object: builtinObjects, scene: builtinScenes, texture: builtinTextures,
                                             background: builtinBackgrounds, relation: builtinRelations,
                                             environments: builtinEnvironments)

    /// The concept->caption pool for a kind.
    public func pool(for kind: ConceptKind) -> [CaptionExample] {
        switch kind {
        case .object: return object
        case .scene: return scene
        case .texture: return texture
        }
    }

    /// The pool a prompt of `mode` about a `kind` concept draws from.
    public func pool(mode: CaptionMode, kind: ConceptKind) -> [CaptionExample] {
        switch mode {
        case .concept: return pool(for: kind)
        case .background: return background
        case .relation: return relation
        }
    }

    /// Stable digest of every example (for job fingerprints).
    public var digest: UInt64 {
        var text = ""
        for (name, pool) in [("o", object), ("s", scene), ("t", texture), ("b", background), ("r", relation)] {
            text += name + pool.map { "\($0.concept)\u{1}\($0.extra ?? "")\u{1}\($0.caption)" }.joined(separator: "\u{2}")
        }
        text += "e" + environments.map(\.line).joined(separator: "\u{2}")
        return TextHash.fnv1a(text)
    }

    /// Pools from a JSON file with any of the members `object`, `scene`, `texture` (arrays of
    /// `{"concept", "caption"}`), `background` (`{"concept", "background", "caption"}`), `relation`
    /// (`{"concept", "relation", "caption"}`) and `environments` (`{"concept", "environments"}`);
    /// members left out keep the built-in pools. Every pool must hold at least 3 examples.
    public static func load(path: String) throws -> ExamplePools {
        let json = try JSONFile.read(path: path, what: "example pools file")
        guard let object = json as? [String: Any] else {
            throw CaptionError.malformedJSON(path: path, reason: "expected an object with pools such as \"object\": [...]")
        }
        var pools = ExamplePools.builtin
        func captions(_ key: String, extraKey: String?) throws -> [CaptionExample]? {
            guard let value = object[key] else { return nil }
            guard let items = value as? [[String: Any]] else {
                throw CaptionError.malformedJSON(path: path, reason: "\"\(key)\" must be an array of objects")
            }
            let out: [CaptionExample] = try items.enumerated().map { i, item in
                guard let concept = item["concept"] as? String, let caption = item["caption"] as? String else {
                    throw CaptionError.malformedJSON(path: path, reason: "\"\(key)\"[\(i)] needs string \"concept\" and \"caption\"")
                }
                if let extraKey {
                    guard let extra = item[extraKey] as? String else {
                        throw CaptionError.malformedJSON(path: path, reason: "\"\(key)\"[\(i)] needs a string \"\(extraKey)\"")
                    }
                    return CaptionExample(concept, extra, caption)
                }
                return CaptionExample(concept, caption)
            }
            if out.count < 3 { throw CaptionError.malformedJSON(path: path, reason: "\"\(key)\" has \(out.count) examples; at least 3 are needed") }
            return out
        }
        if let p = try captions("object", extraKey: nil) { pools.object = p }
        if let p = try captions("scene", extraKey: nil) { pools.scene = p }
        if let p = try captions("texture", extraKey: nil) { pools.texture = p }
        if let p = try captions("background", extraKey: "background") { pools.background = p }
        if let p = try captions("relation", extraKey: "relation") { pools.relation = p }
        if let value = object["environments"] {
            guard let items = value as? [[String: Any]] else {
                throw CaptionError.malformedJSON(path: path, reason: "\"environments\" must be an array of objects")
            }
            pools.environments = try items.enumerated().map { i, item in
                guard let concept = item["concept"] as? String, let envs = item["environments"] as? [String], !envs.isEmpty else {
                    throw CaptionError.malformedJSON(path: path, reason: "\"environments\"[\(i)] needs \"concept\" and a non-empty \"environments\" array")
                }
                return EnvironmentExample(concept, envs)
            }
            if pools.environments.count < 3 { throw CaptionError.malformedJSON(path: path, reason: "\"environments\" needs at least 3 examples") }
        }
        return pools
    }
}
