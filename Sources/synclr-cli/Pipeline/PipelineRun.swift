import Foundation
import SynPipeline
import SynCaption
import SynDiffusion
import SynRep
import SynTensor

/// One trained model (or baseline) and its evaluation.
struct EvaluatedModel: Codable {
    /// Run name (table row).
    var name: String
    /// Objective or baseline kind.
    var objective: String
    /// Data it was trained on.
    var data: String
    /// Training seed (nil for baselines without training).
    var seed: UInt64?
    /// The evaluation report.
    var report: EvaluationReport
}

/// Everything the report needs.
struct PipelineResult {
    /// Wall seconds per stage, in order.
    var stageSeconds: [(String, Double)] = []
    /// Evaluations (runs and baselines).
    var evaluations: [EvaluatedModel] = []
    /// Training folders by run name and seed.
    var trainDirectories: [(name: String, seed: UInt64, url: URL)] = []

    /// "name  kNN x  linear y" lines (means over seeds).
    func summaryRows() -> [String] {
        groupedMeans().map { String(format: "%-24@ kNN %5.2f ± %4.2f   linear %5.2f ± %4.2f  (%d seed%@)",
                                    $0.name as NSString, $0.knn.mean, $0.knn.std, $0.linear.mean, $0.linear.std, $0.count, $0.count == 1 ? "" : "s") }
    }

    /// Mean and sample standard deviation per name.
    func groupedMeans() -> [(name: String, knn: (mean: Double, std: Double), linear: (mean: Double, std: Double), count: Int)] {
        var order: [String] = []
        var groups: [String: [EvaluatedModel]] = [:]
        for e in evaluations {
            if groups[e.name] == nil { order.append(e.name) }
            groups[e.name, default: []].append(e)
        }
        func stats(_ xs: [Double]) -> (Double, Double) {
            let m = xs.reduce(0, +) / Double(max(xs.count, 1))
            let v = xs.count > 1 ? xs.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(xs.count - 1) : 0
            return (m, v.squareRoot())
        }
        return order.map { name in
            let g = groups[name]!
            return (name, stats(g.compactMap { $0.report.knn?.top1 }), stats(g.compactMap { $0.report.linear?.top1 }), g.count)
        }
    }
}

/// Executes the stages of one pipeline configuration in a run folder.
///
/// Under `mpiexec -n N` (a `communicator` of N ranks) every rank runs the synthesis and training
/// stages together: the captions are generated in rounds split by rank and written by rank 0,
/// the images are sharded by rank, and each training run is data-parallel; then the ranks end
/// their communication and rank 0 alone evaluates (Docs/scaling.md).
struct PipelineRun {
    let config: PipelineConfig
    let directory: URL
    /// The ranks running the pipeline together (nil: this process alone).
    var communicator: (any Communicator)? = nil
    /// Training runs at a time (1: one after another in this process; more: `TrainingJobs`).
    var jobs = 1
    var runner: StageRunner { StageRunner(runDirectory: directory, communicator: communicator) }
    private var ranks: (index: Int, count: Int) { (communicator?.rank ?? 0, communicator?.size ?? 1) }

    var captionsURL: URL { directory.appendingPathComponent("captions.jsonl") }
    var imagesURL: URL { directory.appendingPathComponent("images") }

    /// Runs every stage; nil on ranks other than 0, which stop after training.
    func execute() async throws -> PipelineResult? {
        var result = PipelineResult()
        let needsSynthetic = config.runs.contains { $0.data == "synthetic" }
        var upstream = ""
        if needsSynthetic {
            // 1. Captions.
            let captions = try config.captionsJob(output: captionsURL.path)
            // The hashes leave out the split (a caption job does not encode it; the image job's is
            // set after hashing), so a run may resume with another number of ranks.
            let capHash = try StageRunner.hash("captions", captions)
            var captionsPart = captions
            captionsPart.shard = CaptionShard(index: ranks.index, count: ranks.count)
            let cap = try await runner.run("captions", hash: capHash, outputs: [captionsURL], clean: [captionsURL]) {
                try await CaptionsGenerate.execute(captionsPart, communicator: communicator)
            }
            result.stageSeconds.append(("captions", cap.seconds))
            // 2. Images.
            let images = try config.imageJob(captions: captionsURL.path, output: imagesURL.path)
            let imgHash = try StageRunner.hash("images", images, upstream: [capHash])
            var imagesPart = images
            imagesPart.shard = Shard(index: ranks.index, count: ranks.count)
            let img = try await runner.run("images", hash: imgHash, outputs: [ManifestFile.url(in: imagesURL)], clean: [imagesURL]) {
                try ImagesGenerate.execute(imagesPart, communicator: communicator)
            }
            result.stageSeconds.append(("images", img.seconds))
            let sheet = directory.appendingPathComponent("sheet.png")
            if ranks.index == 0, !FileManager.default.fileExists(atPath: sheet.path) || !img.skipped {
                try ImagesSheet.execute(directory: imagesURL, out: sheet, maxCaptions: 24, labels: true)
            }
            upstream = imgHash
        }
        // 3. Training runs (every run x seed).
        var trained: [(PipelineConfig.Run, UInt64, URL, String)] = []
        var pending: [TrainingStage] = []
        for (ri, run) in config.runs.enumerated() {
            for (si, seed) in config.trainSeeds.enumerated() {
                let dir = (ri == 0 && si == 0) ? directory.appendingPathComponent("train")
                    : directory.appendingPathComponent("runs/\(run.name)/seed-\(seed)")
                let training = try config.trainingRun(run, seed: seed, data: run.data == "synthetic" ? imagesURL.path : run.data, output: dir.path)
                let hash = try StageRunner.hash("train", training, upstream: [run.data == "synthetic" ? upstream : ""])
                pending.append(TrainingStage(name: "train-\(run.name)-seed\(seed)", hash: hash, directory: dir, configuration: training))
                trained.append((run, seed, dir, hash))
                result.trainDirectories.append((run.name, seed, dir))
            }
        }
        var trainSeconds = 0.0
        if jobs > 1 {
            trainSeconds = try await TrainingJobs(stages: pending, runDirectory: directory, jobs: jobs).run()
        } else {
            for t in pending {
                let r = try await runner.run(t.name, hash: t.hash, outputs: [t.modelURL], clean: [t.directory]) {
                    if ranks.index == 0 { try t.writeConfiguration() }
                    try Train.execute(t.configuration, communicator: communicator)
                }
                trainSeconds += r.seconds
            }
        }
        result.stageSeconds.append(("train", trainSeconds))
        if let comm = communicator {
            // Every stage left needs one process: end the job's communication (the other ranks exit)
            // and give rank 0 the whole machine.
            comm.finalize()
            guard comm.isRoot else { return nil }
            if comm.size > 1, ProcessInfo.processInfo.environment["SYNCLR_NUM_THREADS"] == nil {
                Threading.setCount(ProcessInfo.processInfo.activeProcessorCount)
            }
        }
        let runner = StageRunner(runDirectory: directory)
        // 4. Evaluation of every model and baseline.
        let evalDir = directory.appendingPathComponent("eval")
        try FileManager.default.createDirectory(at: evalDir, withIntermediateDirectories: true)
        var evalSeconds = 0.0
        func evaluate(_ key: String, _ features: EvaluationConfiguration.Features, upstream: [String]) async throws -> EvaluationReport {
            let out = evalDir.appendingPathComponent(key + ".json")
            let evaluation = config.evaluation(features)
            var report: EvaluationReport?
            let r = try await runner.run("eval-\(key)", hash: try StageRunner.hash("eval", evaluation, upstream: upstream), outputs: [out], clean: [out]) {
                let measured = try Eval.execute(evaluation)
                try Data(try measured.json().utf8).write(to: out, options: .atomic)
                report = measured
            }
            evalSeconds += r.seconds
            // A stage finished in an earlier run is read back from its record.
            return try report ?? JSONDecoder().decode(EvaluationReport.self, from: Data(contentsOf: out))
        }
        for b in config.eval.baselines {
            let rep = try await evaluate(b, config.baselineFeatures(b), upstream: [])
            result.evaluations.append(EvaluatedModel(name: b == "random" ? "random init" : "raw pixels", objective: b, data: "-", seed: nil, report: rep))
        }
        for (run, seed, dir, hash) in trained {
            let rep = try await evaluate("\(run.name)-seed\(seed)", .checkpoint(dir.appendingPathComponent("model.safetensors").path), upstream: [hash])
            result.evaluations.append(EvaluatedModel(name: run.name, objective: run.objective, data: run.data, seed: seed, report: rep))
        }
        result.stageSeconds.append(("eval", evalSeconds))
        try writeEvalJSON(result)
        return result
    }

    /// RUN/eval.json: every evaluation plus per-name means.
    func writeEvalJSON(_ result: PipelineResult) throws {
        struct Summary: Codable {
            var name: String
            var knn_top1: Double
            var knn_top1_std: Double
            var linear_top1: Double
            var linear_top1_std: Double
            var seeds: Int
        }
        struct File: Codable {
            var summary: [Summary]
            var evaluations: [EvaluatedModel]
        }
        let summary = result.groupedMeans().map {
            Summary(name: $0.name, knn_top1: $0.knn.mean, knn_top1_std: $0.knn.std, linear_top1: $0.linear.mean,
                    linear_top1_std: $0.linear.std, seeds: $0.count)
        }
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try enc.encode(File(summary: summary, evaluations: result.evaluations)).write(to: directory.appendingPathComponent("eval.json"), options: .atomic)
    }
}
