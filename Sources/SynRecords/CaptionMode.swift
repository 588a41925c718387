/// The paper's three ways of asking for a caption (Sec. 3.1), recorded in each captions line.
public enum CaptionMode: String, Sendable, Hashable, Codable, CaseIterable {
    /// concept -> caption.
    case concept
    /// concept + background (environment) -> caption.
    case background
    /// concept + spatial relation -> caption.
    case relation
}
