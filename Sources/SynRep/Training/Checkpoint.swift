import Foundation
import SynTensor

extension Trainer {
    /// Writes student, teacher and optimizer state plus the step and config in one safetensors
    /// file, atomically, so an interrupted write never replaces the last good checkpoint.
    /// Every random choice is a function of (seed, step), so the step is the whole RNG state.
    public func saveCheckpoint(_ url: URL) throws {
        // Sorted keys: the same run writes the same bytes (the header was in hash order before).
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let configJSON = String(decoding: try encoder.encode(config), as: UTF8.self)
        try StateCheckpoint.save([("student.", student.stateDict()), ("teacher.", teacher?.stateDict() ?? [:]),
                                  ("optimizer.", optimizer.stateDict())],
                                 metadata: ["step": String(step), "config": configJSON, "format": "synclr-checkpoint"], to: url)
    }

    /// Restores a checkpoint written by `saveCheckpoint` for the same configuration.
    public func loadCheckpoint(_ url: URL) throws {
        var savedStep = 0
        let groups = try StateCheckpoint.load(url, prefixes: ["student.", "teacher.", "optimizer."]) { meta in
            guard let stepString = meta["step"], let s = Int(stepString), let cfg = meta["config"] else {
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
            savedStep = s
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

    /// Writes the EMA teacher's backbone like `saveModel` (nil when the objective has no teacher).
    public func saveTeacherModel(_ url: URL) throws {
        if let teacher { try saveBackbone(teacher.backbone, config: config, to: url) }
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

    /// A card describing a backbone.
    public init(imageSize: Int, channels: Int, patchSize: Int, width: Int, depth: Int, heads: Int, mlpRatio: Int,
                mean: [Float], std: [Float], objective: String) {
        self.imageSize = imageSize
        self.channels = channels
        self.patchSize = patchSize
        self.width = width
        self.depth = depth
        self.heads = heads
        self.mlpRatio = mlpRatio
        self.mean = mean
        self.std = std
        self.objective = objective
    }

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
