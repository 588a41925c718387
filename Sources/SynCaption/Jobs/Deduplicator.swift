/// Exact and normalized-text deduplication with 128-bit digests (memory stays small at scale).
public struct Deduplicator: Sendable {
    private var exact = Set<TextKey>()
    private var normalizedKeys = Set<TextKey>()

    /// An empty deduplicator.
    public init() {}

    /// Number of distinct captions seen.
    public var count: Int { exact.count }

    /// Lowercase, punctuation to spaces, whitespace collapsed, a leading article dropped.
    public static func normalize(_ caption: String) -> String {
        let folded = TextScan.foldedWords(caption)
        for article in ["a ", "an ", "the "] where folded.hasPrefix(article) {
            return String(folded.dropFirst(article.count))
        }
        return folded
    }

    /// `.duplicate` or `.nearDuplicate` if seen before; otherwise records the caption and returns nil.
    public mutating func check(_ caption: String) -> RejectReason? { check(caption, normalized: Deduplicator.normalize(caption)) }

    /// `check(_:)` with the normalized text already computed.
    public mutating func check(_ caption: String, normalized: String) -> RejectReason? {
        let e = TextHash.key128(caption)
        if exact.contains(e) { return .duplicate }
        let n = TextHash.key128(normalized)
        if normalizedKeys.contains(n) { return .nearDuplicate }
        exact.insert(e)
        normalizedKeys.insert(n)
        return nil
    }
}
