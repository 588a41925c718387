import Foundation

extension Module {
    /// Loads parameters and buffers from a PyTorch `.pth` checkpoint (see `TorchCheckpoint.load`).
    ///
    /// With `prefix` (e.g. "module.visual."), only keys starting with it are used, stripped;
    /// without, wrapper prefixes shared by every key (`TorchCheckpoint.defaultPrefixes`) are
    /// stripped. Strict mode throws `StateDictError` naming the file on missing, unexpected
    /// or mis-shaped keys.
    @discardableResult
    public func loadTorchCheckpoint(_ url: URL, strict: Bool = true, prefix: String? = nil) throws -> StateDictReport {
        let all = try TorchCheckpoint.load(url)
        let dict = prefix.map { TorchCheckpoint.selecting(prefix: $0, from: all) } ?? TorchCheckpoint.strippingPrefixes(all)
        return try loadStateDict(dict, strict: strict, source: url.path)
    }
}
