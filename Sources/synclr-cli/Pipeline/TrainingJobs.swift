import ArgumentParser
import Foundation
import Synchronization
import SynPipeline
import SynRep
import SynTensor

extension TrainingJobCount: ExpressibleByArgument {
    /// The text `--help` shows as the default.
    public var defaultValueDescription: String {
        switch self {
        case .auto: "auto"
        case .count(let n): "\(n)"
        }
    }
}

/// One training run of the pipeline: its stage name, input hash, folder and configuration.
struct TrainingStage: Sendable {
    var name: String
    var hash: String
    var directory: URL
    var configuration: TrainingRunConfiguration
    var modelURL: URL { directory.appendingPathComponent("model.safetensors") }
    var logURL: URL { directory.appendingPathComponent("train.log") }
    var configurationURL: URL { directory.appendingPathComponent("train-run.json") }

    /// Writes the configuration into the run folder, so `synclr train-run` can repeat the run.
    func writeConfiguration() throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(configuration).write(to: configurationURL, options: .atomic)
    }
}

/// Trains the pipeline's runs `jobs` at a time, each in a child `synclr train-run` process with
/// its own share of the cores (`synclr pipeline --jobs N`).
///
/// Small ViTs use two threads far less than twice as well as one, so independent runs side by
/// side finish sooner than the same runs one after another (Docs/scaling.md, "Several runs side by
/// side"). Each run
/// is a stage of its own as in one process: finished runs are skipped, an interrupted one resumes
/// from its checkpoint. A failed run lets the running ones finish (no finished work is lost),
/// starts no new one, and then stops the pipeline with the child's exit status and the end of its log.
struct TrainingJobs {
    let stages: [TrainingStage]
    let runDirectory: URL
    let jobs: Int

    /// Threads of each child: SYNCLR_NUM_THREADS when set (every child inherits it), else the
    /// cores split evenly between the jobs that run at once.
    var threadsPerJob: Int {
        if let threads = TrainingJobCount.environmentThreadsPerRun { return threads }
        return max(1, ProcessInfo.processInfo.activeProcessorCount / max(1, min(jobs, stages.count)))
    }

    /// Runs every stage; returns the training's wall seconds, kept across interruptions in the
    /// `stages/train.json` record (the per-run records keep each run's own time).
    func run() async throws -> Double {
        let runner = StageRunner(runDirectory: runDirectory)
        let combined = StageRunner.hash(["train-jobs"] + stages.map(\.hash))
        let before = runner.record("train").flatMap { $0.hash == combined ? $0.seconds : nil } ?? 0
        let start = Date()
        let threads = threadsPerJob
        let left = stages.filter { !runner.isUpToDate($0.name, hash: $0.hash, outputs: [$0.modelURL]) }.count
        if left > 0 {
            let done = stages.count - left
            log("training \(left) run\(left == 1 ? "" : "s")\(done > 0 ? " (\(done) up to date)" : ""), \(jobs) at a time, \(threads) thread\(threads == 1 ? "" : "s") each; each run's log is its folder's train.log")
        }
        let progress = JobsProgress(stages: stages)
        let poll = Task { await progress.poll() }
        // A killed pipeline writes nothing at its end, so the wall record is kept current meanwhile.
        let record = runDirectory.appendingPathComponent("stages/train.json")
        let clock = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(StageRunner.recordPeriod))
                try? StageRunner.write(StageRecord(hash: combined, status: "running", seconds: before + Date().timeIntervalSince(start)), to: record)
            }
        }
        let dir = runDirectory
        var failure: (any Error)?
        var recorded = 0.0, allSkipped = true
        await withTaskGroup(of: Result<(seconds: Double, skipped: Bool), any Error>.self) { group in
            var next = 0
            func startNext() {
                let stage = stages[next]
                next += 1
                group.addTask {
                    do {
                        let r = try await StageRunner(runDirectory: dir).run(stage.name, hash: stage.hash, outputs: [stage.modelURL], clean: [stage.directory]) {
                            try await ChildTraining(stage: stage, threads: threads).run()
                        }
                        progress.finished(stage)
                        return .success(r)
                    } catch {
                        return .failure(error)
                    }
                }
            }
            while next < min(jobs, stages.count) { startNext() }
            for await outcome in group {
                switch outcome {
                case .success(let r):
                    recorded += r.seconds
                    allSkipped = allSkipped && r.skipped
                case .failure(let error):
                    allSkipped = false
                    if failure == nil { failure = error }
                }
                if failure == nil, next < stages.count { startNext() }
            }
        }
        poll.cancel()
        clock.cancel()
        _ = await poll.value
        _ = await clock.value
        progress.finish()
        // A folder trained one run at a time has no wall record: its runs' own times are the wall time.
        let total = allSkipped && before == 0 ? recorded : before + Date().timeIntervalSince(start)
        try FileManager.default.createDirectory(at: runDirectory.appendingPathComponent("stages"), withIntermediateDirectories: true)
        try StageRunner.write(StageRecord(hash: combined, status: failure == nil ? "done" : "running", seconds: total), to: record)
        if let failure { throw failure }
        return total
    }
}

/// One child `synclr train-run` process training one stage.
struct ChildTraining {
    let stage: TrainingStage
    let threads: Int

    /// The running `synclr` executable (the child is the same build as the pipeline).
    static var executable: URL {
        Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
    }

    /// Writes the run's configuration, starts the child with its output in the run's train.log and
    /// waits; a task cancelled meanwhile terminates the child (it resumes from its checkpoint later).
    func run() async throws {
        let fm = FileManager.default
        try stage.writeConfiguration()
        if !fm.fileExists(atPath: stage.logURL.path) { _ = fm.createFile(atPath: stage.logURL.path, contents: nil) }
        let log = try FileHandle(forWritingTo: stage.logURL)
        defer { try? log.close() }
        _ = try log.seekToEnd()
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = ["train-run", stage.configurationURL.path]
        var environment = ProcessInfo.processInfo.environment
        environment["SYNCLR_NUM_THREADS"] = String(threads)
        environment[TrainRun.pipelineVariable] = String(getpid())
        process.environment = environment
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        let exit = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<(Int32, Process.TerminationReason), any Error>) in
                process.terminationHandler = { p in continuation.resume(returning: (p.terminationStatus, p.terminationReason)) }
                do { try process.run() } catch {
                    process.terminationHandler = nil
                    continuation.resume(throwing: PipelineError.stageFailed(stage: stage.name, reason: "could not start \(Self.executable.path): \(error)"))
                }
            }
        } onCancel: {
            if process.isRunning { process.terminate() }
        }
        guard exit.0 != 0 || exit.1 != .exit else { return }
        let how = exit.1 == .uncaughtSignal ? "was killed by signal \(exit.0)" : "exited with status \(exit.0)"
        throw PipelineError.stageFailed(stage: stage.name, reason: "synclr train-run \(how); the end of \(stage.logURL.path):\n" + Self.tail(of: stage.logURL))
    }

    /// The last lines of a log, indented.
    static func tail(of url: URL, lines: Int = 12) -> String {
        let text = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
        return text.split(separator: "\n", omittingEmptySubsequences: true).suffix(lines).map { "  " + $0 }.joined(separator: "\n")
    }
}

/// Steps done over every run, drawn as one progress line on a terminal: finished runs count whole,
/// running ones by the last step in their metrics.jsonl.
final class JobsProgress: Sendable {
    private let stages: [TrainingStage]
    private let done = Mutex<Set<String>>([])
    private let reporter: ProgressReporter

    init(stages: [TrainingStage]) {
        self.stages = stages
        let total = stages.reduce(0) { $0 + $1.configuration.train.steps }
        reporter = ProgressReporter(label: "train \(stages.count) runs", total: total, unit: "step",
                                    startingAt: stages.reduce(0) { $0 + JobsProgress.steps(of: $1) })
    }

    /// Marks `stage` finished (skipped or trained).
    func finished(_ stage: TrainingStage) {
        _ = done.withLock { $0.insert(stage.name) }
    }

    /// Redraws once a second until cancelled.
    func poll() async {
        while !Task.isCancelled {
            update()
            try? await Task.sleep(for: .seconds(1))
        }
    }

    func update() {
        let finished = done.withLock { $0 }
        let completed = stages.reduce(0) { $0 + (finished.contains($1.name) ? $1.configuration.train.steps : JobsProgress.steps(of: $1)) }
        reporter.update(completed: completed, detail: "\(finished.count)/\(stages.count) runs done")
    }

    func finish() {
        update()
        reporter.finish()
    }

    /// Steps a run has done: all of them once its model exists, else one past the last step its metrics logged.
    static func steps(of stage: TrainingStage) -> Int {
        let steps = stage.configuration.train.steps
        if FileManager.default.fileExists(atPath: stage.modelURL.path) { return steps }
        guard let text = try? String(contentsOf: stage.directory.appendingPathComponent("metrics.jsonl"), encoding: .utf8),
              let last = text.split(separator: "\n").last,
              let object = try? JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any],
              let step = object["step"] as? Int else { return 0 }
        return min(steps, step + 1)
    }
}
