import Foundation

/// Guidance settings a model file recommends for itself (metadata key `sampling`, JSON), the way a
/// diffusers repository ships its scheduler config beside the weights: `synclr images` uses them
/// unless told otherwise, since the best settings depend on how the model was trained.
public struct SamplingRecommendation: Codable, Sendable, Hashable {
    /// Guidance rescale weight (`ClassifierFreeGuidance.rescale`).
    public var guidanceRescale: Float
    /// Training timesteps where guidance applies, stored as [lo, hi] (nil: all).
    public var guidanceInterval: ClosedRange<Float>?

    /// A recommendation.
    public init(guidanceRescale: Float = 0, guidanceInterval: ClosedRange<Float>? = nil) {
        self.guidanceRescale = guidanceRescale
        self.guidanceInterval = guidanceInterval
    }

    /// Problems that make the recommendation unusable (empty when valid; a reversed interval
    /// already fails to decode).
    public var problems: [String] {
        (0...1).contains(guidanceRescale) ? [] : ["guidance_rescale \(guidanceRescale) is outside 0...1"]
    }

    enum CodingKeys: String, CodingKey {
        case guidanceRescale = "guidance_rescale", guidanceInterval = "guidance_interval"
    }

    /// Compact JSON for the metadata.
    func json() -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        return String(decoding: (try? enc.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }
}
