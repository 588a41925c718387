import Foundation
import SynTensor

/// Errors loading a backbone.
public enum BackboneError: Error, CustomStringConvertible {
    /// The file lacks what is needed to rebuild the model.
    case unusable(path: String, reason: String)

    /// Message naming the file.
    public var description: String {
        switch self {
        case let .unusable(path, reason): return "\(path): \(reason)"
        }
    }
}

/// A backbone ready for feature extraction, with the input normalization it was trained with.
public struct LoadedBackbone {
    /// The network (in eval mode).
    public let model: VisionTransformer
    /// Its description (sizes, normalization, objective).
    public let card: ModelCard

    /// Wraps a network trained in this process (so it can be evaluated without a save and reload).
    public init(model: VisionTransformer, card: ModelCard) {
        self.model = model
        self.card = card
    }
}

/// Loads `model.safetensors` written by `synclr train` (configuration in the `synclr` metadata entry).
public func loadBackbone(_ url: URL) throws -> LoadedBackbone {
    let file = try SafetensorsFile(url: url)
    guard let json = file.metadata?["synclr"] else {
        throw BackboneError.unusable(path: url.path, reason: "no `synclr` metadata entry with the model configuration (was it written by `synclr train`?)")
    }
    let card: ModelCard
    do { card = try JSONDecoder().decode(ModelCard.self, from: Data(json.utf8)) } catch {
        throw BackboneError.unusable(path: url.path, reason: "malformed `synclr` metadata: \(error)")
    }
    let config: ViTConfig
    do { config = try card.vitConfig() } catch {
        throw BackboneError.unusable(path: url.path, reason: "unusable `synclr` metadata: \(error)")
    }
    var g = RandomGenerator(seed: 0)
    let model = VisionTransformer(config, generator: &g)
    var dict: [String: Tensor] = [:]
    for name in file.names { dict[name] = try file.tensor(name) }
    // Released timm/MAE backbones have no mask token: tolerate its absence only.
    if dict["mask_token"] == nil { dict["mask_token"] = Tensor.zeros([1, 1, card.width]) }
    try model.loadStateDict(dict, strict: true, source: url.path)
    model.eval()
    return LoadedBackbone(model: model, card: card)
}

extension ModelCard {
    /// The backbone shape the card describes, validated together with its normalization.
    func vitConfig() throws -> ViTConfig {
        let config = ViTConfig(imageSize: imageSize, patchSize: patchSize, channels: channels, width: width,
                               depth: depth, heads: heads, mlpRatio: mlpRatio)
        try config.validate()
        try ParameterError.require(mean.count == channels && std.count == channels && std.allSatisfy { $0 > 0 && $0.isFinite },
                                   "std", std, allowed: "\(channels) values > 0, as many as mean (\(mean.count)) and channels")
        return config
    }
}

/// A randomly initialized backbone with the given card (the "random" evaluation baseline);
/// a card the network cannot be built from throws a `ParameterError`.
public func randomBackbone(_ card: ModelCard, seed: UInt64 = 0) throws -> LoadedBackbone {
    let config = try card.vitConfig()
    var g = RandomGenerator(seed: seed).derived("init")
    let model = VisionTransformer(config, generator: &g)
    model.eval()
    return LoadedBackbone(model: model, card: card)
}

/// Final-norm CLS features [N, D] of every image, in batches, without gradients.
public func extractFeatures(_ backbone: LoadedBackbone, images: ImageSet, batchSize: Int = 256, progress: Bool? = nil) -> Tensor {
    let reporter = ProgressReporter(label: "embed", total: images.count, unit: "img", enabled: progress)
    var chunks: [Tensor] = []
    var start = 0
    while start < images.count {
        let end = min(start + batchSize, images.count)
        let x = images.tensor(mean: backbone.card.mean, std: backbone.card.std, indices: start..<end)
        chunks.append(withNoGrad { backbone.model(x) })
        start = end
        reporter.update(completed: end)
    }
    reporter.finish()
    return Tensor.concatenate(chunks, axis: 0)
}
