import Foundation

/// The in-progress file `OUT.partial`: a job header line, caption lines, and a checkpoint line
/// after every committed batch. Each batch (its captions plus checkpoint) is one write, and
/// anything after the last checkpoint is discarded on resume, so a kill at any moment loses at
/// most the batch being written and never leaves a partial line in the final output.
struct PartialFile {
    /// What a partial file holds after recovery.
    struct Recovered {
        var config: CaptionJobConfig
        var stats: CaptionJobStats
        var dedup: Deduplicator
        /// Byte length up to and including the last checkpoint.
        var committedLength: Int64
    }

    static let headerPrefix = "{\"job\":"
    static let checkpointPrefix = "{\"checkpoint\":"

    /// Path of the partial file for output `path`.
    static func path(for output: String) -> String { output + ".partial" }

    /// The header line for `config`.
    static func header(_ config: CaptionJobConfig) -> String { headerPrefix + config.json + "}\n" }

    /// A checkpoint line for `stats`.
    static func checkpoint(_ stats: CaptionJobStats) -> String { checkpointPrefix + stats.json + "}\n" }

    /// Reads `path`, rebuilding counters and the dedup sets up to the last checkpoint.
    static func recover(path: String) throws -> Recovered {
        var reader = try LineReader(path: path)
        defer { reader.close() }
        guard let first = reader.next(), first.complete, let config = decodeWrapped(first.line, prefix: headerPrefix, as: CaptionJobConfig.self) else {
            throw CaptionError.outputExists(path: path, reason: "is not a synclr caption job file (bad header)")
        }
        var committed = CaptionJobStats()
        var committedLength = reader.consumed
        var dedup = Deduplicator()
        var committedDedup = dedup
        var lineNumber = 1
        var pending = 0
        var pendingError: CaptionError?
        while let (line, complete) = reader.next() {
            lineNumber += 1
            guard complete else { break }
            if line.starts(with: Array(checkpointPrefix.utf8)) {
                // A bad line is only fatal if a checkpoint follows it (committed data); after the
                // last checkpoint it is the torn tail of an interrupted write and is dropped.
                if let pendingError { throw pendingError }
                guard let stats = decodeWrapped(line, prefix: checkpointPrefix, as: CaptionJobStats.self) else {
                    throw CaptionError.malformedLine(path: path, line: lineNumber, reason: "bad checkpoint")
                }
                if stats.captions != committed.captions + pending {
                    throw CaptionError.malformedLine(path: path, line: lineNumber,
                                                     reason: "checkpoint counts \(stats.captions) captions but \(committed.captions + pending) precede it")
                }
                committed = stats
                committedLength = reader.consumed
                committedDedup = dedup
                pending = 0
            } else {
                if pendingError != nil { continue }
                do {
                    _ = dedup.check(try CaptionRecord.parse(line).caption)
                    pending += 1
                } catch {
                    pendingError = CaptionError.malformedLine(path: path, line: lineNumber, reason: CaptionSummary.reason(error))
                }
            }
        }
        return Recovered(config: config, stats: committed, dedup: committedDedup, committedLength: committedLength)
    }

    /// Decodes `{"<key>":VALUE}` given the line and its prefix.
    static func decodeWrapped<T: Decodable>(_ line: Data, prefix: String, as: T.Type) -> T? {
        guard line.starts(with: Array(prefix.utf8)), line.last == UInt8(ascii: "}") else { return nil }
        let inner = line.dropFirst(prefix.utf8.count).dropLast()
        return try? JSONDecoder().decode(T.self, from: Data(inner))
    }

    /// Copies the caption lines of the partial file at `path` into `output` (via a temporary file).
    static func finalize(path: String, output: String, expectedCaptions: Int) throws {
        var reader = try LineReader(path: path)
        defer { reader.close() }
        let tmp = output + ".tmp"
        Files.remove(tmp)
        let out = try AppendFile(path: tmp, truncateTo: 0)
        _ = reader.next()
        var chunk = ""
        var written = 0
        while let (line, complete) = reader.next(), complete, written < expectedCaptions {
            if line.starts(with: Array(checkpointPrefix.utf8)) { continue }
            chunk += String(decoding: line, as: UTF8.self) + "\n"
            written += 1
            if chunk.utf8.count > 1 << 20 {
                try out.append(chunk)
                chunk = ""
            }
        }
        try out.append(chunk)
        out.sync()
        if written != expectedCaptions {
            throw CaptionError.malformedLine(path: path, line: 0, reason: "expected \(expectedCaptions) captions, found \(written)")
        }
        try Files.rename(tmp, to: output)
    }
}
