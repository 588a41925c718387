/// Exact and normalized-text deduplication with 128-bit digests (memory stays small at scale).
public struct Deduplicator: Sendable {
    private var exact = Set<TextKey>()
    private var normalized = Set<TextKey>()

    /// An empty deduplicator.
    public init() {}

    /// Number of distinct captions seen.
    public var count: Int { exact.count }

    /// Lowercase, punctuation to spaces, whitespace collapsed, a leading article dropped.
    public static func normalize(_ caption: String) -> String {
        var out = ""
        out.reserveCapacity(caption.utf8.count)
        var pendingSpace = false
        for ch in caption.lowercased() {
            if ch.isLetter || ch.isNumber {
                if pendingSpace && !out.isEmpty { out.append(" ") }
                pendingSpace = false
                out.append(ch)
            } else {
                pendingSpace = true
            }
        }
        for article in ["a ", "an ", "the "] where out.hasPrefix(article) {
            return String(out.dropFirst(article.count))
        }
        return out
    }

    /// `.duplicate` or `.nearDuplicate` if seen before; otherwise records the caption and returns nil.
    public mutating func check(_ caption: String) -> RejectReason? {
        let e = TextHash.key128(caption)
        if exact.contains(e) { return .duplicate }
        let n = TextHash.key128(Deduplicator.normalize(caption))
        if normalized.contains(n) { return .nearDuplicate }
        exact.insert(e)
        normalized.insert(n)
        return nil
    }
}
