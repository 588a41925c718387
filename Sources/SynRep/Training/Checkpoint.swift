import Foundation
import SynTensor

extension Trainer {
    /// Writes student, teacher and optimizer state plus the step and config in one safetensors
    /// file, atomically, so an interrupted write never replaces the last good checkpoint.
    /// Every random choice is a function of (seed, step), so the step is the whole RNG state.
    public func saveCheckpoint(_ url: URL) throws {
        var tensors: [String: Tensor] = [:]
        for (k, v) in student.stateDict() { tensors["student." + k] = v }
        if let teacher { for (k, v) in teacher.stateDict() { tensors["teacher." + k] = v } }
        for (k, v) in optimizer.stateDict() { tensors["optimizer." + k] = v }
        let configJSON = String(decoding: try JSONEncoder().encode(config), as: UTF8.self)
        try Safetensors.save(tensors, to: url, metadata: ["step": String(step), "config": configJSON, "format": "synclr-checkpoint"])
    }

    /// Restores a checkpoint written by `saveCheckpoint` for the same configuration.
    public func loadCheckpoint(_ url: URL) throws {
        let file = try SafetensorsFile(url: url)
        guard let meta = file.metadata, let stepString = meta["step"], let savedStep = Int(stepString),
              let cfg = meta["config"] else {
            throw TrainingError.badCheckpoint(path: url.path, reason: "missing step/config metadata")
        }
        let saved = try JSONDecoder().decode(TrainConfig.self, from: Data(cfg.utf8))
        // Only the bookkeeping intervals may differ; anything else changes the trajectory.
        var mine = config, theirs = saved
        mine.checkpointEvery = 0; theirs.checkpointEvery = 0
        mine.logEvery = 0; theirs.logEvery = 0
        guard mine == theirs else {
            throw TrainingError.badCheckpoint(path: url.path, reason: "it was written by a run with different options")
        }
        var groups: [String: [String: Tensor]] = ["student.": [:], "teacher.": [:], "optimizer.": [:]]
        for name in file.names {
            for prefix in groups.keys where name.hasPrefix(prefix) {
                groups[prefix]![String(name.dropFirst(prefix.count))] = try file.tensor(name)
            }
        }
        try student.loadStateDict(groups["student."]!, source: url.path + " (student)")
        if let teacher { try teacher.loadStateDict(groups["teacher."]!, source: url.path + " (teacher)") }
        try optimizer.loadStateDict(groups["optimizer."]!)
        step = savedStep
    }

    /// Writes the backbone with timm names and its configuration as metadata (model.safetensors).
    public func saveModel(_ url: URL) throws {
        try saveBackbone(student.backbone, config: config, to: url)
    }
}

/// Metadata written beside the backbone weights so any tool can rebuild and normalize inputs.
public struct ModelCard: Codable, Sendable {
    /// Image size.
    public var imageSize: Int
    /// Input channels.
    public var channels: Int
    /// Patch size.
    public var patchSize: Int
    /// Width.
    public var width: Int
    /// Depth.
    public var depth: Int
    /// Heads.
    public var heads: Int
    /// MLP ratio.
    public var mlpRatio: Int
    /// Per-channel mean applied after scaling inputs to [0, 1].
    public var mean: [Float]
    /// Per-channel std.
    public var std: [Float]
    /// Objective that trained it ("random" for an untrained model).
    public var objective: String

    enum CodingKeys: String, CodingKey {
        case imageSize = "image_size", channels, patchSize = "patch_size", width, depth, heads, mlpRatio = "mlp_ratio", mean, std, objective
    }
}

/// Saves a backbone's weights (timm names) with a `synclr` metadata entry holding its `ModelCard`.
public func saveBackbone(_ backbone: VisionTransformer, config: TrainConfig, to url: URL) throws {
    let m = config.model
    let card = ModelCard(imageSize: m.imageSize, channels: m.channels, patchSize: m.patchSize, width: m.width, depth: m.depth,
                         heads: m.heads, mlpRatio: m.mlpRatio, mean: config.mean, std: config.std, objective: config.objective.rawValue)
    let enc = JSONEncoder()
    enc.outputFormatting = [.sortedKeys]
    let json = String(decoding: try enc.encode(card), as: UTF8.self)
    try Safetensors.save(backbone.stateDict(), to: url, metadata: ["synclr": json, "format": "pt"])
}
