import Foundation

/// Shape and training-time conventions of `UNet2DCondition`, stored as JSON in checkpoint metadata
/// so a file rebuilds its own model and scheduler.
public struct UNetConfig: Codable, Sendable, Hashable {
    /// Image side in pixels (square).
    public var sampleSize: Int
    /// Image channels in and out.
    public var channels: Int
    /// Width of each resolution level, finest first (each level after the first halves the side).
    public var blockOutChannels: [Int]
    /// Residual blocks per level on the way down (the way up has one more).
    public var layersPerBlock: Int
    /// Whether each level (finest first) has a spatial transformer after each residual block.
    public var attentionLevels: [Bool]
    /// Channels per attention head.
    public var attentionHeadDim: Int
    /// Width of the caption token states and pooled vector (384 for all-MiniLM-L6-v2).
    public var crossAttentionDim: Int
    /// Groups of every GroupNorm.
    public var normGroups: Int
    /// Number of sinusoidal timestep features (diffusers uses the first level's width).
    public var timestepChannels: Int
    /// Width of the timestep (and pooled-caption) embedding added in every residual block.
    public var timeEmbedDim: Int
    /// Whether the pooled caption vector is projected and added to the timestep embedding.
    public var pooledProjection: Bool
    /// What the network predicts.
    public var predictionType: PredictionType
    /// Beta schedule of the forward process.
    public var betaSchedule: BetaScheduleName
    /// Number of forward-process steps.
    public var trainTimesteps: Int

    /// A configuration; the defaults are the shipped Fashion-MNIST model.
    public init(sampleSize: Int = 32, channels: Int = 1, blockOutChannels: [Int] = [16, 32, 64, 64], layersPerBlock: Int = 1,
                attentionLevels: [Bool] = [false, false, true, true], attentionHeadDim: Int = 32, crossAttentionDim: Int = 384,
                normGroups: Int = 8, timestepChannels: Int = 64, timeEmbedDim: Int = 256, pooledProjection: Bool = true, predictionType: PredictionType = .vPrediction,
                betaSchedule: BetaScheduleName = .squaredcosCapV2, trainTimesteps: Int = 1000) {
        self.sampleSize = sampleSize
        self.channels = channels
        self.blockOutChannels = blockOutChannels
        self.layersPerBlock = layersPerBlock
        self.attentionLevels = attentionLevels
        self.attentionHeadDim = attentionHeadDim
        self.crossAttentionDim = crossAttentionDim
        self.normGroups = normGroups
        self.timestepChannels = timestepChannels
        self.timeEmbedDim = timeEmbedDim
        self.pooledProjection = pooledProjection
        self.predictionType = predictionType
        self.betaSchedule = betaSchedule
        self.trainTimesteps = trainTimesteps
    }


    /// Problems that would make the network ill-formed (empty when valid).
    public var problems: [String] {
        var p: [String] = []
        if blockOutChannels.isEmpty { p.append("block_out_channels is empty") }
        if attentionLevels.count != blockOutChannels.count {
            p.append("attention_levels has \(attentionLevels.count) entries for \(blockOutChannels.count) levels")
        }
        if layersPerBlock < 1 { p.append("layers_per_block must be at least 1") }
        for (c, attn) in zip(blockOutChannels, attentionLevels + [Bool](repeating: false, count: max(0, blockOutChannels.count - attentionLevels.count))) where normGroups <= 0 || c % normGroups != 0 || ((attn || c == blockOutChannels.last) && c % attentionHeadDim != 0) {
            p.append("width \(c) must be divisible by norm_groups \(normGroups) and attention_head_dim \(attentionHeadDim)")
        }
        let factor = 1 << max(0, blockOutChannels.count - 1)
        if sampleSize % factor != 0 { p.append("sample_size \(sampleSize) is not divisible by \(factor)") }
        if timestepChannels < 2 || timestepChannels % 2 != 0 { p.append("timestep_channels must be even and positive") }
        if timeEmbedDim < 1 { p.append("time_embed_dim must be positive") }
        return p
    }

    enum CodingKeys: String, CodingKey {
        case sampleSize = "sample_size", channels, blockOutChannels = "block_out_channels", layersPerBlock = "layers_per_block"
        case attentionLevels = "attention_levels", attentionHeadDim = "attention_head_dim"
        case crossAttentionDim = "cross_attention_dim", normGroups = "norm_groups", timestepChannels = "timestep_channels"
        case timeEmbedDim = "time_embed_dim", pooledProjection = "pooled_projection"
        case predictionType = "prediction_type", betaSchedule = "beta_schedule", trainTimesteps = "num_train_timesteps"
    }

    /// Compact JSON with sorted keys.
    public func json() -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        return String(decoding: (try? enc.encode(self)) ?? Data(), as: UTF8.self)
    }
}

/// A beta schedule by its diffusers name (what configs and checkpoints store).
public enum BetaScheduleName: String, Codable, Sendable, CaseIterable {
    /// diffusers "linear" (1e-4 to 0.02).
    case linear
    /// diffusers "scaled_linear" with Stable Diffusion's ends (0.00085 to 0.012).
    case scaledLinear = "scaled_linear"
    /// diffusers "squaredcos_cap_v2" (improved DDPM cosine).
    case squaredcosCapV2 = "squaredcos_cap_v2"

    /// The schedule it names.
    public var schedule: BetaSchedule {
        switch self {
        case .linear: return .linear()
        case .scaledLinear: return .stableDiffusion
        case .squaredcosCapV2: return .squaredCosCapV2()
        }
    }
}
