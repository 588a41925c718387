import Foundation
import SynTensor

/// What a model file says about itself (safetensors metadata beside the weights).
public struct UNetModelInfo: Sendable, Hashable {
    /// Short model name recorded in image manifests.
    public var name: String
    /// The network's configuration.
    public var config: UNetConfig
    /// Name of the text encoder the model was trained with (`TextEncoder.name`).
    public var textEncoder: String
    /// Free-form provenance (training command, steps, seed, ...).
    public var extra: [String: String]
    /// Guidance settings the model recommends (metadata `sampling`; nil: plain guidance).
    public var sampling: SamplingRecommendation?

    /// A description of a model file.
    public init(name: String, config: UNetConfig, textEncoder: String, extra: [String: String] = [:],
                sampling: SamplingRecommendation? = nil) {
        self.name = name
        self.config = config
        self.textEncoder = textEncoder
        self.extra = extra
        self.sampling = sampling
    }
}

/// Reads and writes UNet model files: safetensors with diffusers-style parameter names and
/// metadata `format = synclr-unet`, `name`, `unet_config` (JSON), `text_encoder` and optionally
/// `sampling` (JSON `SamplingRecommendation`).
public enum UNetCheckpoint {
    /// Format tag stored in the metadata.
    public static let format = "synclr-unet"

    /// Writes `unet`'s weights (float16 unless `dtype` says otherwise) with `info` as metadata, atomically.
    public static func save(_ unet: UNet2DCondition, info: UNetModelInfo, to url: URL, dtype: SafetensorsDType = .f16) throws {
        var meta = info.extra
        meta["format"] = format
        meta["name"] = info.name
        meta["unet_config"] = info.config.json()
        meta["text_encoder"] = info.textEncoder
        meta["sampling"] = info.sampling?.json()
        try Safetensors.save(unet.stateDict(), to: url, metadata: meta, dtype: dtype)
    }

    /// Reads only the metadata of a model file.
    public static func info(_ url: URL) throws -> UNetModelInfo {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw DiffusionError.missingFile(path: url.path, hint: "Set `model` to a UNet model file (e.g. one exported from a diffusion training run).")
        }
        let file: SafetensorsFile
        do { file = try SafetensorsFile(url: url) } catch {
            throw DiffusionError.badCheckpoint(path: url.path, reason: "not a readable safetensors file (\(error))")
        }
        return try info(of: file, path: url.path)
    }

    static func info(of file: SafetensorsFile, path: String) throws -> UNetModelInfo {
        guard let meta = file.metadata, meta["format"] == format, let configJSON = meta["unet_config"] else {
            throw DiffusionError.badCheckpoint(path: path, reason: "not a SynDiffusion UNet model (metadata lacks format=\(format) and unet_config)")
        }
        let config: UNetConfig
        do { config = try JSONDecoder().decode(UNetConfig.self, from: Data(configJSON.utf8)) } catch {
            throw DiffusionError.badCheckpoint(path: path, reason: "unet_config metadata is not a valid configuration (\(error))")
        }
        if !config.problems.isEmpty {
            throw DiffusionError.badCheckpoint(path: path, reason: "invalid unet_config: \(config.problems.joined(separator: "; "))")
        }
        var sampling: SamplingRecommendation?
        if let json = meta["sampling"] {
            do { sampling = try JSONDecoder().decode(SamplingRecommendation.self, from: Data(json.utf8)) } catch {
                throw DiffusionError.badCheckpoint(path: path, reason: "sampling metadata is not a valid recommendation (\(error))")
            }
            if let p = sampling?.problems.first { throw DiffusionError.badCheckpoint(path: path, reason: "sampling metadata: \(p)") }
        }
        var extra = meta
        for k in ["format", "name", "unet_config", "text_encoder", "sampling"] { extra[k] = nil }
        return UNetModelInfo(name: meta["name"] ?? "unnamed", config: config, textEncoder: meta["text_encoder"] ?? "", extra: extra,
                             sampling: sampling)
    }

    /// Builds the network a model file describes and loads its weights; throws `DiffusionError`
    /// naming the file when it is missing, not a UNet model, or has tensors of the wrong shape.
    public static func load(_ url: URL) throws -> (UNet2DCondition, UNetModelInfo) {
        let info = try self.info(url)
        let file = try SafetensorsFile(url: url)
        var g = RandomGenerator(seed: 0)
        let unet = UNet2DCondition(info.config, generator: &g)
        var dict: [String: Tensor] = [:]
        for name in file.names { dict[name] = try file.tensor(name) }
        do { try unet.loadStateDict(dict, source: url.path) } catch let e as StateDictError {
            throw DiffusionError.badCheckpoint(path: url.path, reason: "weights do not fit its unet_config: \(e.description)")
        }
        unet.eval()
        return (unet, info)
    }
}
