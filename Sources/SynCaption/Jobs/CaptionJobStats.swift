import Foundation
import SynTensor

/// Counters of a caption job, saved in checkpoints and in the finished file's stats sidecar.
public struct CaptionJobStats: Sendable, Hashable, Codable {
    /// Attempts consumed (the next attempt index).
    public var next: Int
    /// Captions accepted.
    public var captions: Int
    /// Rejections by reason (raw values of `RejectReason`).
    public var rejected: [String: Int]

    /// Zero counters.
    public init(next: Int = 0, captions: Int = 0, rejected: [String: Int] = [:]) {
        self.next = next
        self.captions = captions
        self.rejected = rejected
    }

    /// Total rejections.
    public var totalRejected: Int { rejected.values.reduce(0, +) }

    /// Rejections for `reason`.
    public func count(_ reason: RejectReason) -> Int { rejected[reason.rawValue] ?? 0 }

    /// Adds one rejection.
    public mutating func reject(_ reason: RejectReason) { rejected[reason.rawValue, default: 0] += 1 }

    /// Compact JSON with sorted keys.
    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }
}

/// The sidecar `OUT.stats.json` written when a job finishes.
public struct CaptionJobSummaryFile: Sendable, Hashable, Codable {
    /// The job's configuration.
    public var config: CaptionJobConfig
    /// Final counters.
    public var stats: CaptionJobStats
    /// The BLAS kernel and thread count of the run that finished the job (nil in older files).
    public var blas: BLASRuntime? = nil

    /// Path of the sidecar for output `path`.
    public static func path(for output: String) -> String { output + ".stats.json" }

    /// Reads the sidecar of `output`, if present and valid.
    public static func load(for output: String) -> CaptionJobSummaryFile? {
        guard let data = FileManager.default.contents(atPath: path(for: output)) else { return nil }
        return try? JSONDecoder().decode(CaptionJobSummaryFile.self, from: data)
    }

    /// Pretty JSON text.
    var jsonText: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self) + "\n"
    }
}
