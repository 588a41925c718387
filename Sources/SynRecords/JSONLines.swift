import Foundation

/// The non-blank lines of a JSONL file with their 1-based line numbers (a trailing `\r` is dropped).
enum JSONLines {
    /// Reads `url`; `what` names the file's role in the error when it is missing.
    static func read(_ url: URL, what: String) throws -> [(number: Int, line: Data)] {
        guard FileManager.default.fileExists(atPath: url.path) else { throw RecordError.missingFile(path: url.path, what: what) }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw RecordError.unreadable(path: url.path, reason: error.localizedDescription)
        }
        var out: [(Int, Data)] = []
        for (i, raw) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            let line = raw.last == UInt8(ascii: "\r") ? raw.dropLast() : raw
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            out.append((i + 1, Data(line)))
        }
        return out
    }

    /// The `format_version` check every record does: absent (files of earlier releases) or at most `current`.
    static func checkVersion(_ version: Int?, current: Int) throws {
        if let version, version < 0 || version > current {
            throw RecordError.field("format_version \(version) is newer than this release reads (up to \(current))")
        }
    }
}
