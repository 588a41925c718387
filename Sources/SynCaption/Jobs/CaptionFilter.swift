/// Quality filters applied to each completion's first line before deduplication.
public struct CaptionFilter: Sendable, Hashable, Codable {
    /// How strictly the caption must mention its concept.
    public enum ConceptCheck: String, Sendable, Hashable, Codable, CaseIterable {
        /// No check.
        case off
        /// At least one content word of the concept (plural-tolerant) appears in the caption.
        case anyWord = "any-word"
        /// Every content word of the concept appears.
        case allWords = "all-words"
    }

    /// Fewest words a caption may have.
    public var minWords: Int
    /// Most words a caption may have.
    public var maxWords: Int
    /// Most characters a caption may have.
    public var maxCharacters: Int
    /// Reject captions containing `=>`, a prompt header, or a copy of an in-context example.
    public var rejectEchoes: Bool
    /// Concept presence check.
    public var conceptCheck: ConceptCheck

    /// Defaults: 4...70 words, at most 600 characters, echoes rejected, any concept word required.
    public init(minWords: Int = 4, maxWords: Int = 70, maxCharacters: Int = 600, rejectEchoes: Bool = true,
                conceptCheck: ConceptCheck = .anyWord) {
        self.minWords = minWords
        self.maxWords = maxWords
        self.maxCharacters = maxCharacters
        self.rejectEchoes = rejectEchoes
        self.conceptCheck = conceptCheck
    }

    /// Words that never count as a concept's content words.
    static let stopwords: Set<String> = ["a", "an", "the", "of", "and", "or", "with", "in", "on", "for", "to", "at", "by"]

    /// The first failing check for `caption` (already cut and trimmed), or nil if it passes.
    /// Echo detection compares the normalized caption with the prompt's `examples`.
    public func rejection(caption: String, concept: String, examples: [CaptionExample] = []) -> RejectReason? {
        rejection(caption: caption, normalized: Deduplicator.normalize(caption), concept: concept,
                  echoes: Set(examples.map { Deduplicator.normalize($0.caption) }))
    }

    /// The first failing check, given the caption's normalized form and the normalized example
    /// captions it must not copy (e.g. every caption of the pools in use).
    public func rejection(caption: String, normalized: String, concept: String, echoes: Set<String>) -> RejectReason? {
        if caption.isEmpty { return .empty }
        let words = TextScan.wordCount(caption)
        if words < minWords { return .tooShort }
        if words > maxWords || caption.unicodeScalars.count > maxCharacters { return .tooLong }
        if rejectEchoes {
            if TextScan.contains(caption, "=>") { return .echo }
            for marker in CaptionFilter.echoMarkers where TextScan.contains(caption, marker, ignoreCase: true) { return .echo }
            if echoes.contains(normalized) { return .echo }
        }
        if conceptCheck != .off && !mentions(captionTokens: normalized.split(separator: " "), concept: concept) { return .missingConcept }
        return nil
    }

    /// Lowercase prompt fragments whose presence marks an echoed prompt.
    static let echoMarkers = ["generate an image description", "list plausible environments"]

    /// Whether `caption` mentions `concept` under `conceptCheck`.
    public func mentions(caption: String, concept: String) -> Bool {
        mentions(captionTokens: TextScan.words(caption), concept: concept)
    }

    /// `mentions(caption:concept:)` with the caption already split into folded words.
    func mentions(captionTokens: [Substring], concept: String) -> Bool {
        let conceptTokens = CaptionFilter.tokens(concept)
        var content = conceptTokens.filter { !CaptionFilter.stopwords.contains($0) }
        if content.isEmpty { content = conceptTokens }
        if content.isEmpty { return true }
        let found = content.map { c in captionTokens.contains { CaptionFilter.sameWord(String($0), c) } }
        return conceptCheck == .allWords ? found.allSatisfy { $0 } : found.contains(true)
    }

    /// Lowercased alphanumeric tokens.
    static func tokens(_ s: String) -> [String] { TextScan.words(s).map(String.init) }

    /// Equal up to a short inflection (dog/dogs, box/boxes, berry/berries, trousers/trouser).
    static func sameWord(_ t: String, _ c: String) -> Bool {
        if t == c { return true }
        if t.count >= 3 && c.count >= 3 {
            if t.hasPrefix(c) && t.count - c.count <= 3 { return true }
            if c.hasPrefix(t) && c.count - t.count <= 2 { return true }
            if c.hasSuffix("y") && t == String(c.dropLast()) + "ies" { return true }
            if c.hasSuffix("f") && t == String(c.dropLast()) + "ves" { return true }
            if c.hasSuffix("fe") && t == String(c.dropLast(2)) + "ves" { return true }
        }
        return false
    }
}
