/// The paper's three ways of asking for a caption.
public enum CaptionMode: String, Sendable, Hashable, Codable, CaseIterable {
    /// concept -> caption.
    case concept
    /// concept + background (environment) -> caption.
    case background
    /// concept + spatial relation -> caption.
    case relation
}

/// The ten spatial relation words of the paper's concept+relation mode, verbatim.
public enum Relations {
    /// in, on, next to, behind, in front of, over, under, above, below, besides.
    public static let all = ["in", "on", "next to", "behind", "in front of", "over", "under", "above", "below", "besides"]
}
