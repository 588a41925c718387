import Foundation

/// Training checkpoints of this package: groups of state dicts under name prefixes (e.g.
/// `student.`, `optimizer.`) plus string metadata, in one safetensors file written atomically
/// (the one home of checkpoint save/load; each trainer adds its own metadata checks).
public enum StateCheckpoint {
    /// Writes `groups` (prefix, state dict) and `metadata` to `url`.
    public static func save(_ groups: [(prefix: String, state: [String: Tensor])], metadata: [String: String], to url: URL) throws {
        var tensors: [String: Tensor] = [:]
        for g in groups {
            for (k, v) in g.state { tensors[g.prefix + k] = v }
        }
        try Safetensors.save(tensors, to: url, metadata: metadata)
    }

    /// Reads the checkpoint at `url`: `check` sees the metadata first (and throws to refuse the
    /// file before any tensor is read), then the tensors are grouped by `prefixes` with the prefix removed.
    public static func load(_ url: URL, prefixes: [String], check: ([String: String]) throws -> Void) throws -> [String: [String: Tensor]] {
        let file = try SafetensorsFile(url: url)
        try check(file.metadata ?? [:])
        var groups = Dictionary(uniqueKeysWithValues: prefixes.map { ($0, [String: Tensor]()) })
        for name in file.names {
            for prefix in prefixes where name.hasPrefix(prefix) {
                groups[prefix]![String(name.dropFirst(prefix.count))] = try file.tensor(name)
            }
        }
        return groups
    }
}
