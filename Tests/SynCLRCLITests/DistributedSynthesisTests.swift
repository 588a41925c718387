import Foundation
import Testing

@Suite(.serialized) struct DistributedSynthesisTests {
    /// `synclr images --shard auto` under `mpiexec -n 2` renders half the units per rank into one
    /// folder; the images and the manifest rank 0 writes after both finish are byte-identical to
    /// one process rendering everything.
    @Test func imagesShardAutoUnderTwoRanksMatchesOneProcess() throws {
        guard let mpiexec = mpiexecExecutable() else {
            print("DistributedSynthesisTests: skipped, no mpiexec on PATH (install openmpi-bin)")
            return
        }
        let fm = FileManager.default
        let root = fm.temporaryDirectory.appendingPathComponent("synclr-shard-\(UUID().uuidString)")
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

    /// Without a launcher `--shard auto` names the variables it looked for.
    @Test func shardAutoWithoutLauncherIsAClearError() throws {
        let r = try runSynclr(["images", "--captions", "/nonexistent.jsonl", "--out", "/tmp/x", "--shard", "auto"])
        #expect(r.status != 0)
        #expect(r.output.contains("no launcher found"), "\(r.output)")
    }
}

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
