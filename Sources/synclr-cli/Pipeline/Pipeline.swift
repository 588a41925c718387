import ArgumentParser
import Foundation
import SynPipeline
import SynMPI
import SynRep
import SynTensor

/// `synclr pipeline`: concepts -> captions -> images -> representation learning -> evaluation -> report.
struct Pipeline: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the whole SynCLR method end to end, offline, and write a report.",
        discussion: """
            Stages write into the run folder (captions.jsonl, images/, train/, eval.json, report.md) and \
            record the hash of their options and inputs in stages/; rerunning skips finished stages whose \
            inputs did not change and resumes an interrupted one where it stopped.
            """)

    @Option(help: "Preset: demo (minutes), paper-small (the measured ablation, about 90 minutes on 2 cores) or paper-small-full (plus supervised references, about two hours).") var preset: String = "demo"
    @Option(help: "JSON file merged over the preset (any subset of the configuration).") var config: String?
    @Option(name: .customLong("set"), help: "Override one value, e.g. --set train.steps=100 (repeatable).") var overrides: [String] = []
    @Option(help: "Run folder (default: runs/<preset>).") var out: String?
    @Option(help: "Training runs at a time: auto (one per core, at most the preset's runs; 1 under mpiexec), 1 (one after another in this process, all the cores each) or N > 1 (each a child `synclr train-run` with the cores split between the N, or SYNCLR_NUM_THREADS threads each).")
    var jobs: TrainingJobCount = .auto
    @Flag(help: "Print the resolved configuration and exit.") var showConfig = false

    func validate() throws {
        if case .count(let n) = jobs, n < 1 { throw ValidationError("--jobs must be auto or at least 1 (got \(n))") }
    }

    func run() async throws {
        let cfg = try PipelineConfig.resolve(preset: preset, file: config, overrides: overrides)
        if showConfig { print(cfg.json()); return }
        let dir = URL(fileURLWithPath: out ?? "runs/\(preset)")
        // Under mpiexec / srun every rank runs the stages together (Docs/scaling.md); ranks started
        // with different configurations or run folders are refused before any stage.
        let comm: (any Communicator)? = LaunchEnvironment().isMPILaunch ? try Distributed.communicator() : nil
        if let comm {
            // Every rank trains each run together there; children of one rank would not join them.
            if case .count(let n) = jobs, n != 1 {
                throw ValidationError("--jobs \(n) cannot be combined with mpiexec / srun (every rank trains each run together); use --jobs 1")
            }
            var fingerprint = Fingerprint()
            fingerprint.combine(cfg.json())
            fingerprint.combine(dir.standardizedFileURL.path)
            try comm.requireIdentical(fingerprint.value, what: "pipeline configuration or run folder")
        }
        // Rank 0 alone writes the run folder, so it alone holds the folder's lock.
        var lock: OutputLock? = nil
        defer { lock?.release() }
        if comm?.isRoot ?? true {
            lock = try OutputLock.folder(dir, job: "synclr pipeline")
            try Data(cfg.json().utf8).write(to: dir.appendingPathComponent("config.json"), options: .atomic)
        }
        comm?.barrier()
        let started = Date()
        let atOnce = jobs.resolved(runs: cfg.runs.count * cfg.trainSeeds.count, cores: ProcessInfo.processInfo.activeProcessorCount,
                                 threadsPerRun: TrainingJobCount.environmentThreadsPerRun, distributed: comm != nil)
        guard let result = try await PipelineRun(config: cfg, directory: dir, communicator: comm, jobs: atOnce).execute() else { return }
        try writeReport(result, config: cfg, directory: dir, preset: preset)
        try HTMLReport.write(runDirectory: dir)
        print(String(format: "pipeline: %@ finished in %@; report: %@", preset, ProgressReporter.formatDuration(Date().timeIntervalSince(started)),
                     dir.appendingPathComponent("report.html").path))
        for row in result.summaryRows() { print("  " + row) }
    }
}
