import Foundation
import Testing
import SynTensor

@Suite(.serialized) struct DistributedSynthesisTests {
    /// `synclr images --shard auto` under `mpiexec -n 2` renders half the units per rank into one
    /// folder; the images and the manifest rank 0 writes after both finish are byte-identical to
    /// one process rendering everything.
    @Test func imagesShardAutoUnderTwoRanksMatchesOneProcess() throws {
        guard let (mpiexec, root) = mpiScratch("DistributedSynthesisTests", "synclr-shard") else { return }
        let fm = FileManager.default
        defer { try? fm.removeItem(at: root) }
        try fm.createDirectory(at: root, withIntermediateDirectories: true)
        let captions = root.appendingPathComponent("captions.jsonl")
        let lines = ["a sneaker on a white background", "an ankle boot", "a striped shirt", "a leather bag", "a wool pullover"]
            .enumerated().map { "{\"id\":\($0.offset),\"caption\":\"\($0.element)\"}" }
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: captions)
        func args(_ out: URL, _ shard: String) -> [String] {
            ["images", "--captions", captions.path, "--out", out.path, "--per-caption", "2", "--steps", "3",
             "--batch-captions", "1", "--shard", shard]
        }
        let single = root.appendingPathComponent("single"), multi = root.appendingPathComponent("multi")
        let one = try runSynclr(args(single, "0/1"))
        #expect(one.status == 0, "\(one.output)")
        let two = try runMPI(mpiexec, ["-n", "2", synclrProgram] + args(multi, "auto"))
        #expect(two.status == 0, "\(two.output)")
        #expect(two.output.contains("shard 0/2") && two.output.contains("shard 1/2"), "\(two.output)")
        let a = deterministicTree(single), b = deterministicTree(multi)
        #expect(a.keys.filter { $0.hasSuffix(".png") }.count == 10, "\(a.keys.sorted())")
        #expect(a["manifest.jsonl"] != nil)
        #expect(a.keys.sorted() == b.keys.sorted())
        for (k, v) in a { #expect(b[k] == v, "\(k) differs") }
    }

    /// `synclr captions --shard auto` gives the one-process captions.jsonl bytes under `mpiexec -n 2`
    /// (rank 0 writes), and as independent shards from a Slurm job array (3 tasks) and a Kubernetes
    /// Indexed Job (2 pods, count from SYNCLR_SHARD_COUNT) followed by a `--shard 0/1` merge; with
    /// the template backend, and with the native language model when it is installed.
    @Test(arguments: ["template", "native"]) func captionsShardAutoMatchesOneProcess(backend: String) throws {
        if backend == "native" && !FileManager.default.fileExists(atPath: nativeCaptionModel) {
            print("DistributedSynthesisTests: native skipped, no model at \(nativeCaptionModel)")
            return
        }
        let fm = FileManager.default
        let root = fm.temporaryDirectory.appendingPathComponent("synclr-capshard-\(UUID().uuidString)")
        defer { try? fm.removeItem(at: root) }
        try fm.createDirectory(at: root, withIntermediateDirectories: true)
        // Enough template captions for duplicates to be rejected, so the merge must dedup across ranks.
        let size = backend == "native" ? ["--count", "12", "--batch-size", "4"] : ["--count", "3000", "--batch-size", "32", "--min-words", "9"]
        func args(_ name: String, _ shard: String) -> [String] {
            ["captions", "--backend", backend, "--seed", "7", "--out", root.appendingPathComponent(name).path, "--shard", shard] + size
        }
        func bytes(_ name: String) -> Data? { fm.contents(atPath: root.appendingPathComponent(name).path) }
        let one = try runSynclr(args("one.jsonl", "0/1"))
        #expect(one.status == 0, "\(one.output)")
        let reference = try #require(bytes("one.jsonl"))
        if backend == "template" { #expect(one.output.contains("rejected") && !one.output.contains(" 0 rejected"), "\(one.output)") }

        if let mpiexec = mpiexecExecutable() {
            let two = try runMPI(mpiexec, ["-n", "2", synclrProgram] + args("mpi.jsonl", "auto"))
            #expect(two.status == 0, "\(two.output)")
            #expect(two.output.contains("shard 0/2 (rank 0 of 2)") && two.output.contains("shard 1/2 (rank 1 of 2)"), "\(two.output)")
            #expect(bytes("mpi.jsonl") == reference)
            #expect(!fm.fileExists(atPath: root.appendingPathComponent("mpi.jsonl.partial").path))
        } else {
            print("DistributedSynthesisTests: mpiexec part skipped, no mpiexec on PATH (install openmpi-bin)")
        }
        guard backend == "template" else { return }

        for task in 0..<3 {
            let r = try runSynclr(args("slurm.jsonl", "auto"), environment: [
                "SLURM_ARRAY_TASK_ID": "\(10 + task)", "SLURM_ARRAY_TASK_MIN": "10", "SLURM_ARRAY_TASK_COUNT": "3"])
            #expect(r.status == 0 && r.output.contains("shard \(task)/3 (independent shard)"), "\(r.output)")
        }
        #expect(bytes("slurm.jsonl") == nil)
        let merge = try runSynclr(args("slurm.jsonl", "0/1"))
        #expect(merge.status == 0 && merge.output.contains("merged"), "\(merge.output)")
        #expect(bytes("slurm.jsonl") == reference)
        #expect(!fm.fileExists(atPath: root.appendingPathComponent("slurm.jsonl.shards").path))

        for pod in 0..<2 {
            let r = try runSynclr(args("k8s.jsonl", "auto"), environment: ["JOB_COMPLETION_INDEX": "\(pod)", "SYNCLR_SHARD_COUNT": "2"])
            #expect(r.status == 0, "\(r.output)")
        }
        #expect(try runSynclr(args("k8s.jsonl", "0/1")).status == 0)
        #expect(bytes("k8s.jsonl") == reference)
    }

    /// `mpiexec -n 2 synclr captions` without `--shard auto` is refused (both ranks would write the
    /// same files) and writes nothing.
    @Test func captionsUnderMPIWithoutShardIsRefused() throws {
        guard let mpiexec = mpiexecExecutable() else { return }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("synclr-noshard-\(UUID().uuidString).jsonl")
        let r = try runMPI(mpiexec, ["-n", "2", synclrProgram, "captions", "--backend", "template", "--count", "10", "--out", out.path])
        #expect(r.status != 0 && r.output.contains("pass --shard auto"), "\(r.output)")
        #expect(!FileManager.default.fileExists(atPath: out.path) && !FileManager.default.fileExists(atPath: out.path + ".partial"))
    }

    /// Without a launcher `--shard auto` names the variables it looked for.
    @Test func shardAutoWithoutLauncherIsAClearError() throws {
        let r = try runSynclr(["images", "--captions", "/nonexistent.jsonl", "--out", "/tmp/x", "--shard", "auto"])
        #expect(r.status != 0)
        #expect(r.output.contains("no launcher found"), "\(r.output)")
    }
}

/// Where the native caption backend's default model is installed (Scripts/setup/install_models.sh).
let nativeCaptionModel = ProcessInfo.processInfo.environment["SYNCLR_LLM_MODEL"]
    ?? SynCLRPaths.models.appendingPathComponent("smollm2/SmolLM2-135M-Instruct.Q4_1.gguf").path

/// Every file under `dir` (relative path -> bytes).
func deterministicTree(_ dir: URL) -> [String: Data] {
    var out: [String: Data] = [:]
    let fm = FileManager.default
    guard let e = fm.enumerator(at: dir, includingPropertiesForKeys: nil) else { return out }
    for case let url as URL in e where !url.hasDirectoryPath {
        let rel = url.path.replacingOccurrences(of: dir.path + "/", with: "")
        // shards/I-of-N.json record how the work was split (and each shard's BLAS core), not output.
        if rel.hasPrefix("shards/") { continue }
        if let d = fm.contents(atPath: url.path) { out[rel] = d }
    }
    return out
}

@Suite(.serialized) struct DistributedPipelineTests {
    /// `mpiexec -n 2 synclr pipeline` on a tiny configuration (template captions, 48 images, 6
    /// training steps) writes the run folder one process writes: captions.jsonl, the manifest and
    /// every image byte-identical, the trained student and teacher within the data-parallel
    /// tolerance of `DistributedTrainingTests`; rank 0 alone logs the stages and evaluates; a
    /// rerun under either launcher finds every stage up to date (the stage hashes leave out the
    /// number of ranks). Both runs use 1 thread per process: the image kernels' rounding depends
    /// on the thread count.
    @Test func twoRankPipelineMatchesOneProcess() throws {
        guard let mpiexec = mpiexecExecutable() else {
            print("DistributedPipelineTests: skipped, no mpiexec on PATH (install openmpi-bin)")
            return
        }
        let fm = FileManager.default
        let root = fm.temporaryDirectory.appendingPathComponent("synclr-mpipipe-\(UUID().uuidString)")
        defer { try? fm.removeItem(at: root) }
        try fm.createDirectory(at: root, withIntermediateDirectories: true)
        let config = root.appendingPathComponent("tiny.json")
        try Data(PipelineIntegrationTests().tinyConfig.utf8).write(to: config)
        let single = root.appendingPathComponent("single"), multi = root.appendingPathComponent("multi")
        func args(_ out: URL) -> [String] { ["pipeline", "--config", config.path, "--out", out.path] }

        let one = try runSynclr(args(single), environment: ["SYNCLR_NUM_THREADS": "1"])
        #expect(one.status == 0, "\(one.output)")
        let two = try runMPI(mpiexec, ["-n", "2", synclrProgram] + args(multi))
        #expect(two.status == 0, "\(two.output)")
        #expect(two.output.contains("captions: shard 1/2 (rank 1 of 2)") && two.output.contains("shard 1/2: 16 images"), "\(two.output)")
        #expect(two.output.contains("train: data-parallel over 2 processes"), "\(two.output)")
        // Rank 0 alone records and logs each stage, evaluates and reports.
        for line in ["stage captions: done", "stage images: done", "stage train-synclr-seed0: done", "stage eval-synclr-seed0: done",
                     "pipeline: demo finished"] {
            #expect(two.output.components(separatedBy: line).count == 2, "\(line):\n\(two.output)")
        }

        func data(_ dir: URL) -> [String: Data] {
            deterministicTree(dir).filter { $0.key == "captions.jsonl" || ($0.key.hasPrefix("images/") && !$0.key.hasPrefix("images/shards/")) }
        }
        let a = data(single), b = data(multi)
        #expect(a.keys.filter { $0.hasSuffix(".png") }.count == 48 && a["images/manifest.jsonl"] != nil, "\(a.keys.sorted())")
        #expect(a.keys.sorted() == b.keys.sorted())
        for (k, v) in a { #expect(b[k] == v, "\(k) differs") }
        let d = try checkpointDifference(multi.appendingPathComponent("train/checkpoint/state.safetensors"),
                                         single.appendingPathComponent("train/checkpoint/state.safetensors"))
        print("DistributedPipelineTests: \(d.tensors) tensors, worst relative difference \(d.worst) (\(d.name))")
        #expect(d.tensors > 0 && d.worst < 1e-4, "\(d.name) differs by \(d.worst) relative")
        for f in ["eval.json", "report.md", "sheet.png", "stages/eval-synclr-seed0.json", "train/model.safetensors"] {
            #expect(fm.fileExists(atPath: multi.appendingPathComponent(f).path), "missing \(f)")
        }

        // Rerun with 2 ranks and with 1 process: nothing left to do.
        let again = try runMPI(mpiexec, ["-n", "2", synclrProgram] + args(multi))
        #expect(again.status == 0 && again.output.contains("stage train-synclr-seed0: up to date")
                && again.output.contains("stage images: up to date") && !again.output.contains("running"), "\(again.output)")
        let alone = try runSynclr(args(multi))
        #expect(alone.status == 0 && alone.output.contains("stage captions: up to date")
                && alone.output.contains("stage train-synclr-seed0: up to date"), "\(alone.output)")
    }
}
