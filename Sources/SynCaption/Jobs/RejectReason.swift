/// Why a completion did not become a caption.
public enum RejectReason: String, Sendable, Hashable, Codable, CaseIterable {
    /// Nothing left after cutting at the first newline and trimming.
    case empty
    /// Fewer words or characters than the filter's minimum.
    case tooShort = "too_short"
    /// More words or characters than the filter's maximum.
    case tooLong = "too_long"
    /// Contains `=>`, a prompt header, or copies an in-context example.
    case echo
    /// No word of the concept appears in the caption.
    case missingConcept = "missing_concept"
    /// Exactly the same text as an earlier caption.
    case duplicate
    /// Same text as an earlier caption after normalization (case, punctuation, spacing, leading article).
    case nearDuplicate = "duplicate_normalized"
}
