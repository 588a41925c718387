import Foundation
import Testing
import SynTensor
import SynPipeline

/// `synclr pipeline --jobs N`: training runs side by side as child `synclr train-run` processes.
@Suite(.serialized) struct TrainingJobsTests {
    /// SynCLR and SimCLR on the generated images.
    let twoRuns = """
        [{"name": "synclr", "data": "synthetic", "objective": "synclr", "limit": 0},
         {"name": "simclr", "data": "synthetic", "objective": "simclr", "limit": 0}]
        """

    /// Template captions, few sampler steps, short vit-pico32 runs; `runs` replaces the list.
    func config(runs: String, steps: Int = 6) -> String {
        """
        {"captions": {"count": 12, "backend": "template"},
         "images": {"steps": 4, "perCaption": 2},
         "train": {"model": "vit-pico32", "steps": \(steps), "batchCaptions": 3, "imagesPerCaption": 2, "prototypes": 32, "localCrops": 2, "warmup": 2},
         "runs": \(runs),
         "eval": {"trainLimit": 300, "probeGrid": 2, "baselines": []}}
        """
    }

    func scratch(_ text: String) throws -> (root: URL, config: URL) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("synclr-jobs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let file = root.appendingPathComponent("config.json")
        try Data(text.utf8).write(to: file)
        return (root, file)
    }

    /// With the same threads per run, runs trained side by side in child processes write the same
    /// weights as runs trained one after another in the pipeline's process, `train-run` on a run
    /// folder's configuration repeats its run, and a rerun skips them.
    @Test func parallelRunsTrainTheSameWeightsAsSequentialOnes() throws {
        let fm = FileManager.default
        let (root, file) = try scratch(config(runs: twoRuns))
        defer { try? fm.removeItem(at: root) }
        let one = ["SYNCLR_NUM_THREADS": "1"]
        let a = root.appendingPathComponent("a"), b = root.appendingPathComponent("b")
        let sequential = try runSynclr(["pipeline", "--config", file.path, "--out", a.path], environment: one)
        #expect(sequential.status == 0, "pipeline --jobs 1 failed:\n\(sequential.output)")
        let parallel = try runSynclr(["pipeline", "--config", file.path, "--out", b.path, "--jobs", "2"], environment: one)
        #expect(parallel.status == 0, "pipeline --jobs 2 failed:\n\(parallel.output)")
        #expect(parallel.output.contains("training 2 runs, 2 at a time, 1 thread each"), "\(parallel.output)")
        for model in ["train/model.safetensors", "runs/simclr/seed-0/model.safetensors"] {
            let x = fm.contents(atPath: a.appendingPathComponent(model).path), y = fm.contents(atPath: b.appendingPathComponent(model).path)
            #expect(x != nil && x == y, "\(model) differs between --jobs 1 and --jobs 2")
        }
        #expect(fm.fileExists(atPath: b.appendingPathComponent("runs/simclr/seed-0/train.log").path))
        let record = fm.contents(atPath: b.appendingPathComponent("stages/train.json").path).flatMap(StageRecord.read)
        #expect(record?.status == "done" && (record?.seconds ?? 0) > 0)
        // The same weights score the same (eval.json also records seconds and paths, so compare the summary).
        func summary(_ dir: URL) throws -> String {
            let object = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("eval.json"))) as? [String: Any]
            return String(decoding: try JSONSerialization.data(withJSONObject: object?["summary"] ?? [], options: .sortedKeys), as: UTF8.self)
        }
        #expect(try summary(a) == summary(b), "the same weights scored differently")

        // Every run folder holds its configuration; `train-run` on it (with another output) repeats the run.
        var run = try JSONSerialization.jsonObject(with: Data(contentsOf: a.appendingPathComponent("runs/simclr/seed-0/train-run.json"))) as? [String: Any] ?? [:]
        let repeated = root.appendingPathComponent("repeated")
        run["output"] = repeated.path
        let runFile = root.appendingPathComponent("run.json")
        try JSONSerialization.data(withJSONObject: run).write(to: runFile)
        let r = try runSynclr(["train-run", runFile.path], environment: one)
        #expect(r.status == 0, "train-run failed:\n\(r.output)")
        #expect(fm.contents(atPath: repeated.appendingPathComponent("model.safetensors").path) == fm.contents(atPath: a.appendingPathComponent("runs/simclr/seed-0/model.safetensors").path),
                "train-run did not repeat the pipeline's run")

        let again = try runSynclr(["pipeline", "--config", file.path, "--out", b.path, "--jobs", "2"], environment: one)
        #expect(again.status == 0)
        for stage in ["train-synclr-seed0", "train-simclr-seed0"] {
            #expect(again.output.contains("stage \(stage): up to date"), "stage \(stage) was not reused:\n\(again.output)")
        }
        #expect(!again.output.contains("at a time"), "a rerun with nothing to train announced training:\n\(again.output)")
    }

    /// A run that fails stops the pipeline with the child's error, after the run beside it finished.
    @Test func aFailedRunStopsThePipelineAfterTheOthersFinish() throws {
        let fm = FileManager.default
        let (root, file) = try scratch(config(runs: """
            [{"name": "synclr", "data": "synthetic", "objective": "synclr", "limit": 0},
             {"name": "broken", "data": "/nonexistent-synclr-data", "objective": "simclr", "limit": 0}]
            """))
        defer { try? fm.removeItem(at: root) }
        let run = root.appendingPathComponent("run")
        let r = try runSynclr(["pipeline", "--config", file.path, "--out", run.path, "--jobs", "2"], environment: ["SYNCLR_NUM_THREADS": "1"])
        #expect(r.status != 0, "a run without data did not fail the pipeline:\n\(r.output)")
        #expect(r.output.contains("train-broken-seed0") && r.output.contains("synclr train-run exited with status"), "\(r.output)")
        #expect(r.output.contains("/nonexistent-synclr-data"), "the child's own error is not shown:\n\(r.output)")
        #expect(fm.fileExists(atPath: run.appendingPathComponent("train/model.safetensors").path), "the healthy run did not finish")
        let done = fm.contents(atPath: run.appendingPathComponent("stages/train-synclr-seed0.json").path).flatMap(StageRecord.read)
        #expect(done?.status == "done")
        #expect(!fm.fileExists(atPath: run.appendingPathComponent("eval.json").path))
    }

    /// Children of a pipeline killed on its own stop by themselves, so the rerun can take over
    /// their run folders and resume them.
    @Test func runsStopWithTheirKilledPipeline() throws {
        let fm = FileManager.default
        let (root, file) = try scratch(config(runs: twoRuns, steps: 600))
        defer { try? fm.removeItem(at: root) }
        let run = root.appendingPathComponent("run")
        let killed = try runSynclr(["pipeline", "--config", file.path, "--out", run.path, "--jobs", "2"], killWhen: { dir in
            fm.fileExists(atPath: dir.appendingPathComponent("train/metrics.jsonl").path)
        }, runDirectory: run, environment: ["SYNCLR_NUM_THREADS": "1"])
        #expect(killed.status != 0, "the pipeline finished before it was killed")
        // The children look for their parent once a second.
        var stopped = false
        for _ in 0..<100 where !stopped {
            usleep(100_000)
            let log = (try? String(contentsOf: run.appendingPathComponent("train/train.log"), encoding: .utf8)) ?? ""
            stopped = log.contains("is gone; stopping")
        }
        #expect(stopped, "the training child did not notice its pipeline was gone")
        usleep(500_000)
        let resumed = try runSynclr(["pipeline", "--config", file.path, "--out", run.path, "--jobs", "2"],
                                    environment: ["SYNCLR_NUM_THREADS": "1"])
        #expect(resumed.status == 0, "the rerun could not take over the runs:\n\(resumed.output)")
        #expect(resumed.output.contains("stage train-synclr-seed0: resuming"), "\(resumed.output)")
    }

    @Test func autoGivesEachRunACoreAtMostOneJobPerRunAndOneUnderMPI() {
        #expect(TrainingJobCount(argument: "auto") == .auto && TrainingJobCount(argument: "3") == .count(3))
        #expect(TrainingJobCount(argument: "two") == nil && TrainingJobCount(argument: "") == nil)
        let auto = TrainingJobCount.auto
        #expect(auto.resolved(runs: 12, cores: 2, threadsPerRun: nil, distributed: false) == 2)
        #expect(auto.resolved(runs: 1, cores: 2, threadsPerRun: nil, distributed: false) == 1, "one run keeps every core in-process")
        #expect(auto.resolved(runs: 12, cores: 64, threadsPerRun: nil, distributed: false) == 12)
        #expect(auto.resolved(runs: 12, cores: 16, threadsPerRun: 4, distributed: false) == 4)
        #expect(auto.resolved(runs: 12, cores: 2, threadsPerRun: 4, distributed: false) == 1)
        #expect(auto.resolved(runs: 12, cores: 1, threadsPerRun: 0, distributed: false) == 1)
        #expect(auto.resolved(runs: 12, cores: 8, threadsPerRun: nil, distributed: true) == 1, "MPI ranks train each run together")
        #expect(TrainingJobCount.count(3).resolved(runs: 1, cores: 1, threadsPerRun: nil, distributed: false) == 3)
    }

    /// Without --jobs the pipeline gives each run SYNCLR_NUM_THREADS cores (here 1): side by side on
    /// a machine with two cores or more, one after another in-process on one core.
    @Test func theDefaultTrainsOneRunPerCore() throws {
        let (root, file) = try scratch(config(runs: twoRuns, steps: 3))
        defer { try? FileManager.default.removeItem(at: root) }
        let run = root.appendingPathComponent("run")
        let r = try runSynclr(["pipeline", "--config", file.path, "--out", run.path], environment: ["SYNCLR_NUM_THREADS": "1"])
        #expect(r.status == 0, "pipeline failed:\n\(r.output)")
        if ProcessInfo.processInfo.activeProcessorCount >= 2 {
            #expect(r.output.contains("training 2 runs, 2 at a time, 1 thread each"), "\(r.output)")
        } else {
            #expect(!r.output.contains("at a time"), "\(r.output)")
        }
    }

    @Test func badJobsAndBadRunFilesAreClearErrors() throws {
        let zero = try runSynclr(["pipeline", "--jobs", "0", "--show-config"])
        #expect(zero.status != 0 && zero.output.contains("--jobs must be auto or at least 1 (got 0)"), "\(zero.output)")
        let word = try runSynclr(["pipeline", "--jobs", "many", "--show-config"])
        #expect(word.status != 0 && word.output.contains("many") && word.output.contains("--jobs"), "\(word.output)")
        let missing = try runSynclr(["train-run", "/nonexistent-synclr-run.json"])
        #expect(missing.status != 0 && missing.output.contains("/nonexistent-synclr-run.json: cannot read the training configuration"), "\(missing.output)")
        let (root, file) = try scratch("{\"data\": \"fashion-mnist\"}")
        defer { try? FileManager.default.removeItem(at: root) }
        let partial = try runSynclr(["train-run", file.path])
        #expect(partial.status != 0 && partial.output.contains("not a training configuration (missing key"), "\(partial.output)")
    }
}
