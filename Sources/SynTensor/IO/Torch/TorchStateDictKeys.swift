extension TorchCheckpoint {
    /// Wrapper prefixes that `strippingPrefixes` removes by default.
    public static let defaultPrefixes = ["module.", "visual.", "backbone.", "encoder.", "model."]

    /// Removes wrapper prefixes shared by every key: while some prefix in `prefixes` (tried in
    /// order) starts all keys, it is stripped from all of them, so `module.visual.blocks.0...`
    /// becomes `blocks.0...`. Keys are left alone when they do not all share a prefix (use
    /// `selecting(prefix:from:)` to keep only, say, the `visual.` tower of a larger model).
    public static func strippingPrefixes(_ tensors: [String: Tensor], _ prefixes: [String] = defaultPrefixes) -> [String: Tensor] {
        var current = tensors
        while !current.isEmpty,
              let prefix = prefixes.first(where: { p in !p.isEmpty && current.keys.allSatisfy { $0.hasPrefix(p) && $0.count > p.count } }) {
            var next: [String: Tensor] = [:]
            for (key, value) in current { next[String(key.dropFirst(prefix.count))] = value }
            current = next
        }
        return current
    }

    /// The tensors whose keys start with `prefix`, with the prefix removed; others are dropped.
    public static func selecting(prefix: String, from tensors: [String: Tensor]) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (key, value) in tensors where key.hasPrefix(prefix) && key.count > prefix.count {
            out[String(key.dropFirst(prefix.count))] = value
        }
        return out
    }
}
