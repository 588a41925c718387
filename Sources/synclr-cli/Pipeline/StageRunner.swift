import Foundation
import SynPipeline
import SynTensor

/// Runs pipeline stages at most once per input hash: a finished stage whose hash is unchanged is
/// skipped, an interrupted one is rerun with the same options (each stage resumes itself), and a
/// stage whose options or inputs changed is cleaned and run from scratch.
///
/// With a `communicator` of several ranks (`mpiexec synclr pipeline`) every rank calls `run` for
/// the same stages in the same order: rank 0 alone reads and writes the records and cleans, and
/// broadcasts whether to skip, then every rank runs the stage's body and they meet at a barrier
/// before rank 0 records the stage done.
struct StageRunner {
    let runDirectory: URL
    /// The ranks running the stages together (nil: this process alone).
    var communicator: (any Communicator)? = nil
    private var isRoot: Bool { communicator?.isRoot ?? true }
    private var stagesDirectory: URL { runDirectory.appendingPathComponent("stages") }

    /// Seconds between rewrites of a running stage's record: 10, or SYNCLR_STAGE_RECORD_PERIOD (> 0; tests shorten it).
    static let recordPeriod: Double = {
        guard let text = ProcessInfo.processInfo.environment["SYNCLR_STAGE_RECORD_PERIOD"], let v = Double(text), v > 0, v.isFinite else {
            return 10
        }
        return v
    }()

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
        return StageRecord.read(data)
    }

    /// Whether the stage is done with this hash and its outputs exist (`run` would skip it).
    func isUpToDate(_ name: String, hash: String, outputs: [URL]) -> Bool {
        Self.isDone(record(name), hash: hash, outputs: outputs)
    }

    private static func isDone(_ record: StageRecord?, hash: String, outputs: [URL]) -> Bool {
        guard let record else { return false }
        return record.hash == hash && record.status == "done" && outputs.allSatisfy { FileManager.default.fileExists(atPath: $0.path) }
    }

    private func write(_ record: StageRecord, _ name: String) throws {
        try FileManager.default.createDirectory(at: stagesDirectory, withIntermediateDirectories: true)
        try Self.write(record, to: stagesDirectory.appendingPathComponent(name + ".json"))
    }

    /// Writes `record` to `url` atomically (pretty-printed, sorted keys).
    static func write(_ record: StageRecord, to url: URL) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try enc.encode(record).write(to: url, options: .atomic)
    }

    /// Runs `body` unless the stage is done with this hash and its outputs exist.
    /// Returns the stage's total wall seconds and whether it was skipped.
    @discardableResult
    func run(_ name: String, hash: String, outputs: [URL], clean: [URL], _ body: () async throws -> Void) async throws -> (seconds: Double, skipped: Bool) {
        let fm = FileManager.default
        // [skip (1) or run (0), seconds recorded so far], decided by rank 0.
        var decision: [Double] = [0, 0]
        var failure: Error?
        if isRoot {
            do {
                let previous = record(name)
                if let previous, Self.isDone(previous, hash: hash, outputs: outputs) {
                    log("stage \(name): up to date (\(ProgressReporter.formatDuration(previous.seconds)))")
                    decision = [1, previous.seconds]
                } else {
                    if let previous, previous.hash == hash {
                        decision[1] = previous.seconds
                        log("stage \(name): resuming")
                    } else {
                        if previous != nil { log("stage \(name): options or inputs changed, starting over") }
                        for url in clean where fm.fileExists(atPath: url.path) { try fm.removeItem(at: url) }
                        log("stage \(name): running")
                    }
                    try write(StageRecord(hash: hash, status: "running", seconds: decision[1]), name)
                }
            } catch {
                failure = error
                decision = [-1, 0]
            }
        }
        if let comm = communicator { decision.withUnsafeMutableBytes { comm.broadcast($0, root: 0) } }
        if decision[0] < 0 {
            throw failure ?? DistributedError.rootFailed("stage \(name) could not start on rank 0 (see its message)")
        }
        if decision[0] > 0 { return (decision[1], true) }
        let spent = decision[1]
        let start = Date()
        // A killed process writes nothing at its end, so rank 0 keeps the record's seconds current
        // while the body runs: an interrupted stage's time then counts (to within the period) when it resumes.
        let clock = isRoot ? RecordClock(url: stagesDirectory.appendingPathComponent(name + ".json"), hash: hash, spent: spent,
                                         start: start, period: Self.recordPeriod) : nil
        do {
            try await body()
        } catch {
            clock?.stop()
            if isRoot { try? write(StageRecord(hash: hash, status: "running", seconds: spent + Date().timeIntervalSince(start)), name) }
            throw error
        }
        clock?.stop()
        communicator?.barrier()
        let total = spent + Date().timeIntervalSince(start)
        guard isRoot else { return (total, false) }
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
    // On a terminal the line first clears a progress line drawn by a training or image stage.
    Output.note((isatty(STDERR_FILENO) != 0 ? "\r\u{1B}[K" : "") + "pipeline: " + line)
}

/// Rewrites a running stage's record every `period` seconds with the time spent so far.
private final class RecordClock {
    private let queue = DispatchQueue(label: "synclr.stage-record")
    private let timer: DispatchSourceTimer

    init(url: URL, hash: String, spent: Double, start: Date, period: Double) {
        timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + period, repeating: period)
        timer.setEventHandler {
            try? StageRunner.write(StageRecord(hash: hash, status: "running", seconds: spent + Date().timeIntervalSince(start)), to: url)
        }
        timer.resume()
    }

    /// Cancels the timer; returns once no rewrite can happen any more (so the caller's final record stands).
    func stop() {
        queue.sync { timer.cancel() }
    }
}
