import Foundation

extension Module {
    /// Loads parameters and buffers from a safetensors file (any float dtype becomes Float32).
    ///
    /// With `prefix` (e.g. "module.visual."), only keys starting with it are considered and the
    /// prefix is stripped; other keys are neither converted nor reported. Strict mode throws
    /// `StateDictError` naming the file on missing, unexpected or mis-shaped keys.
    @discardableResult
    public func loadSafetensors(_ url: URL, strict: Bool = true, prefix: String = "") throws -> StateDictReport {
        let file = try SafetensorsFile(url: url)
        var dict: [String: Tensor] = [:]
        for name in file.names where name.hasPrefix(prefix) {
            dict[String(name.dropFirst(prefix.count))] = try file.tensor(name)
        }
        return try loadStateDict(dict, strict: strict, source: url.path)
    }

    /// Saves the state dict as a safetensors file, atomically (F32 unless `dtype` says otherwise).
    public func saveSafetensors(to url: URL, metadata: [String: String]? = ["format": "pt"],
                                dtype: SafetensorsDType = .f32) throws {
        try Safetensors.save(stateDict(), to: url, metadata: metadata, dtype: dtype)
    }
}
