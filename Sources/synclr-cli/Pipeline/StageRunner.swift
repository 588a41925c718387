import Foundation
import SynTensor

/// What a stage's record says (RUN/stages/NAME.json).
struct StageRecord: Codable {
    /// Hash of the stage's options and of its inputs' hashes.
    var hash: String
    /// `running` until the stage finishes, then `done`.
    var status: String
    /// Wall seconds spent in the stage, summed over interrupted attempts.
    var seconds: Double
}

/// Runs pipeline stages at most once per input hash: a finished stage whose hash is unchanged is
/// skipped, an interrupted one is rerun with the same options (each stage resumes itself), and a
/// stage whose options or inputs changed is cleaned and run from scratch.
struct StageRunner {
    let runDirectory: URL
    private var stagesDirectory: URL { runDirectory.appendingPathComponent("stages") }

    /// Stable hex hash of the parts (FNV-1a over their joined text).
    static func hash(_ parts: [String]) -> String {
        String(format: "%016llx", stableHash(parts.joined(separator: "\u{1F}")))
    }

    /// Stable hex hash of a stage: its name, the hashes of its inputs, and its typed configuration
    /// in canonical form (JSON with sorted keys).
    static func hash(_ stage: String, _ configuration: some Encodable, upstream: [String] = []) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return hash([stage] + upstream + [String(decoding: try encoder.encode(configuration), as: UTF8.self)])
    }

    func record(_ name: String) -> StageRecord? {
        let url = stagesDirectory.appendingPathComponent(name + ".json")
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        return try? JSONDecoder().decode(StageRecord.self, from: data)
    }

    private func write(_ record: StageRecord, _ name: String) throws {
        try FileManager.default.createDirectory(at: stagesDirectory, withIntermediateDirectories: true)
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try enc.encode(record).write(to: stagesDirectory.appendingPathComponent(name + ".json"), options: .atomic)
    }

    /// Runs `body` unless the stage is done with this hash and its outputs exist.
    /// Returns the stage's total wall seconds and whether it was skipped.
    @discardableResult
    func run(_ name: String, hash: String, outputs: [URL], clean: [URL], _ body: () async throws -> Void) async throws -> (seconds: Double, skipped: Bool) {
        let fm = FileManager.default
        let previous = record(name)
        if let previous, previous.hash == hash, previous.status == "done", outputs.allSatisfy({ fm.fileExists(atPath: $0.path) }) {
            log("stage \(name): up to date (\(ProgressReporter.formatDuration(previous.seconds)))")
            return (previous.seconds, true)
        }
        var spent = 0.0
        if let previous, previous.hash == hash {
            spent = previous.seconds
            log("stage \(name): resuming")
        } else {
            if previous != nil { log("stage \(name): options or inputs changed, starting over") }
            for url in clean where fm.fileExists(atPath: url.path) { try fm.removeItem(at: url) }
            log("stage \(name): running")
        }
        try write(StageRecord(hash: hash, status: "running", seconds: spent), name)
        let start = Date()
        do {
            try await body()
        } catch {
            try? write(StageRecord(hash: hash, status: "running", seconds: spent + Date().timeIntervalSince(start)), name)
            throw error
        }
        let total = spent + Date().timeIntervalSince(start)
        for url in outputs where !fm.fileExists(atPath: url.path) {
            throw PipelineError.stageFailed(stage: name, reason: "finished without writing \(url.path)")
        }
        try write(StageRecord(hash: hash, status: "done", seconds: total), name)
        log("stage \(name): done in \(ProgressReporter.formatDuration(total))")
        return (total, false)
    }
}

/// A pipeline log line on standard error.
func log(_ line: String) {
    Output.note("pipeline: " + line)
}
