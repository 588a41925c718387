import Foundation

/// Counts over a caption JSONL file, plus the job's rejection counters when available.
public struct CaptionSummary: Sendable {
    /// The file summarized.
    public var path: String
    /// Caption lines.
    public var captions = 0
    /// Captions per source list.
    public var perSource: [String: Int] = [:]
    /// Captions per mode.
    public var perMode: [String: Int] = [:]
    /// Captions per concept.
    public var perConcept: [String: Int] = [:]
    /// Captions per generator.
    public var perGenerator: [String: Int] = [:]
    /// Job counters (from `OUT.stats.json`, or the last checkpoint of `OUT.partial`), if found.
    public var stats: CaptionJobStats?
    /// True when the summary comes from an unfinished `.partial` file.
    public var inProgress = false
    /// Mean caption length in words.
    public var meanWords = 0.0

    /// Summarizes `path`; if it does not exist but `path.partial` does, summarizes the job in progress.
    public static func load(path: String) throws -> CaptionSummary {
        var summary = CaptionSummary(path: path)
        var file = path
        if !Files.exists(path) {
            let partial = PartialFile.path(for: path)
            guard Files.exists(partial) else { throw CaptionError.fileNotFound(path: path, what: "caption file") }
            file = partial
            summary.inProgress = true
        } else if path.hasSuffix(".partial") {
            summary.inProgress = true
        }
        var reader = try LineReader(path: file)
        defer { reader.close() }
        var lineNumber = 0
        var words = 0
        var pending: [CaptionRecord] = []
        func commit() {
            for record in pending {
                summary.captions += 1
                summary.perSource[record.source ?? "-", default: 0] += 1
                summary.perMode[record.mode?.rawValue ?? "-", default: 0] += 1
                summary.perConcept[record.concept ?? "-", default: 0] += 1
                summary.perGenerator[record.generator ?? "-", default: 0] += 1
                words += record.caption.split(whereSeparator: { $0.isWhitespace }).count
            }
            pending.removeAll(keepingCapacity: true)
        }
        while let (line, complete) = reader.next() {
            lineNumber += 1
            if line.isEmpty { continue }
            if line.starts(with: Array(PartialFile.headerPrefix.utf8)) { summary.inProgress = true; continue }
            if line.starts(with: Array(PartialFile.checkpointPrefix.utf8)) {
                summary.stats = PartialFile.decodeWrapped(line, prefix: PartialFile.checkpointPrefix, as: CaptionJobStats.self)
                commit()
                continue
            }
            if !complete && summary.inProgress { break }
            do { pending.append(try CaptionRecord.parse(line)) } catch {
                throw CaptionError.malformedLine(path: file, line: lineNumber, reason: CaptionSummary.reason(error))
            }
            if !summary.inProgress && pending.count >= 4096 { commit() }
        }
        if !summary.inProgress { commit() }  // in a partial file, lines after the last checkpoint are not committed
        if !summary.inProgress { summary.stats = CaptionJobSummaryFile.load(for: path)?.stats }
        summary.meanWords = summary.captions > 0 ? Double(words) / Double(summary.captions) : 0
        return summary
    }

    /// A short reason from a decoding error.
    static func reason(_ error: Error) -> String {
        if let e = error as? DecodingError {
            switch e {
            case let .keyNotFound(key, _): return "missing field \"\(key.stringValue)\""
            case let .typeMismatch(_, ctx), let .valueNotFound(_, ctx):
                return "wrong type for \"\(ctx.codingPath.map(\.stringValue).joined(separator: "."))\""
            case let .dataCorrupted(ctx):
                return ctx.codingPath.isEmpty ? "not valid JSON" : "bad value for \"\(ctx.codingPath.map(\.stringValue).joined(separator: "."))\""
            @unknown default: return "\(e)"
            }
        }
        return "\(error)"
    }

    /// A plain-text report; `top` concepts are listed by count.
    public func report(top: Int = 15) -> String {
        var out: [String] = []
        out.append("\(path)\(inProgress ? " (job in progress)" : ""): \(captions) captions, \(perConcept.count) distinct concepts, \(String(format: "%.1f", meanWords)) words on average")
        func table(_ title: String, _ counts: [String: Int], limit: Int? = nil) {
            out.append("")
            out.append(title)
            let sorted = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            for (k, v) in sorted.prefix(limit ?? sorted.count) {
                let pct = captions > 0 ? 100 * Double(v) / Double(captions) : 0
                out.append("  \(k.padding(toLength: max(28, k.count), withPad: " ", startingAt: 0)) \(String(v).leftPadded(9))  \(String(format: "%5.1f%%", pct))")
            }
            if let limit, sorted.count > limit { out.append("  ... \(sorted.count - limit) more") }
        }
        table("per generator:", perGenerator)
        table("per source:", perSource)
        table("per mode:", perMode)
        table("top concepts:", perConcept, limit: top)
        out.append("")
        if let s = stats {
            out.append("attempts: \(s.next), accepted: \(s.captions), rejected: \(s.totalRejected)")
            out.append("  duplicates removed: \(s.count(.duplicate)) exact, \(s.count(.nearDuplicate)) normalized")
            let filters: [RejectReason] = [.empty, .tooShort, .tooLong, .echo, .missingConcept]
            out.append("  filter rejections: " + filters.map { "\($0.rawValue) \(s.count($0))" }.joined(separator: ", "))
        } else {
            out.append("duplicates and filter rejections: unknown (no \(CaptionJobSummaryFile.path(for: path)))")
        }
        return out.joined(separator: "\n")
    }
}

extension String {
    /// Right-aligned to `width` with spaces.
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
