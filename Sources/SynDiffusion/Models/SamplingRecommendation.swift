import Foundation

/// Guidance settings a model file recommends for itself (metadata key `sampling`, JSON), the way a
/// diffusers repository ships its scheduler config beside the weights: `synclr images` uses them
/// unless told otherwise, since the best settings depend on how the model was trained.
public struct SamplingRecommendation: Codable, Sendable, Hashable {
    /// Guidance rescale weight (`ClassifierFreeGuidance.rescale`).
    public var guidanceRescale: Float
    /// Training timesteps where guidance applies, as [lo, hi] (nil: all).
    public var guidanceInterval: [Float]?

    /// A recommendation.
    public init(guidanceRescale: Float = 0, guidanceInterval: ClosedRange<Float>? = nil) {
        self.guidanceRescale = guidanceRescale
        self.guidanceInterval = guidanceInterval.map { [$0.lowerBound, $0.upperBound] }
    }

    /// The interval as a range (nil when absent or malformed).
    public var interval: ClosedRange<Float>? {
        guard let i = guidanceInterval, i.count == 2, i[0] <= i[1] else { return nil }
        return i[0]...i[1]
    }

    /// Problems that make the recommendation unusable (empty when valid).
    public var problems: [String] {
        var p: [String] = []
        if !(0...1).contains(guidanceRescale) { p.append("guidance_rescale \(guidanceRescale) is outside 0...1") }
        if guidanceInterval != nil && interval == nil { p.append("guidance_interval must be [lo, hi] with lo <= hi") }
        return p
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
