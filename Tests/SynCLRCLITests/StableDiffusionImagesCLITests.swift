import Foundation
import SynRecords
import SynTensor
import Testing

/// The tiny Stable Diffusion 1.x-style diffusers folder of Scripts/fixtures/fixtures_sd.py (SynDiffusionTests' parity fixture).
private func sdFixture() -> URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("SynDiffusionTests/Fixtures/sd1")
}

/// `captions` as a captions JSONL in `dir`.
private func writeCaptions(_ captions: [String], in dir: URL) throws -> URL {
    let url = dir.appendingPathComponent("captions.jsonl")
    let lines = captions.enumerated().map { i, c in #"{"id":\#(i + 1),"caption":"\#(c)","concept":"c\#(i % 2)"}"# }
    try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: url)
    return url
}

/// Every image and the manifest under `dir` (relative path -> bytes).
private func outputs(_ dir: URL) -> [String: Data] {
    var out: [String: Data] = [:]
    let fm = FileManager.default
    for rel in (fm.subpaths(atPath: dir.path) ?? []) where rel.hasSuffix(".png") || rel == "manifest.jsonl" || rel == "job.json" {
        out[rel] = fm.contents(atPath: dir.appendingPathComponent(rel).path)
    }
    return out
}

/// `synclr images --model` with a Stable Diffusion folder, end to end through the binary.
@Suite(.serialized) struct StableDiffusionImagesCLITests {
    @Test func writesManifestAndPNGsShardsAndResumesByteIdentical() throws {
        let fm = FileManager.default
        let root = fm.temporaryDirectory.appendingPathComponent("synclr-sd-images-\(UUID().uuidString)")
        defer { try? fm.removeItem(at: root) }
        try fm.createDirectory(at: root, withIntermediateDirectories: true)
        let captions = try writeCaptions(["a red shoe on grass", "a leather bag"], in: root)
        let base = ["images", "--captions", captions.path, "--model", sdFixture().path, "--steps", "4", "--batch-captions", "1"]

        // One run: 2 captions x 4 images (the default) with guidance 2.5 (the default).
        let whole = root.appendingPathComponent("whole")
        let r = try runSynclr(base + ["--out", whole.path])
        try #require(r.status == 0, "synclr images failed:\n\(r.output)")
        #expect(r.output.contains("16x16x3") && r.output.contains("guidance 2.5"), "\(r.output)")
        let records = try ManifestFile.read(whole)
        #expect(records.count == 8)
        #expect(records.map(\.path) == (0..<2).flatMap { p in (0..<4).map { String(format: "images/00000/%06d_%d.png", p, $0) } })
        #expect(records.allSatisfy { $0.guidance == 2.5 && $0.steps == 4 && $0.model == "stable-diffusion:sd1" })
        #expect(Set(records.map(\.seed)).count == 8)
        for rec in records {
            let image = try ImageIO.read(whole.appendingPathComponent(rec.path))
            #expect(image.channels == 3 && image.width == 16 && image.height == 16, "\(rec.path)")
        }
        let reference = outputs(whole)
        #expect(reference.count == 10)

        // Two shards into one folder merge to the same bytes.
        let sharded = root.appendingPathComponent("sharded")
        for shard in ["1/2", "0/2"] {
            let s = try runSynclr(base + ["--out", sharded.path, "--shard", shard])
            try #require(s.status == 0, "shard \(shard) failed:\n\(s.output)")
        }
        #expect(outputs(sharded) == reference, "2 shards differ from 1 shard")

        // Interrupted: killed once some but not all images exist, then rerun.
        let many = try writeCaptions((0..<6).map { "caption number \($0)" }, in: root.appendingPathComponent("six").creatingDirectory())
        let slow = ["images", "--captions", many.path, "--model", sdFixture().path, "--steps", "40", "--batch-captions", "1"]
        let full = root.appendingPathComponent("full")
        let f = try runSynclr(slow + ["--out", full.path])
        try #require(f.status == 0, "\(f.output)")
        let killedDir = root.appendingPathComponent("killed")
        var seenAtKill = 0
        let killed = try runSynclr(slow + ["--out", killedDir.path], killWhen: { dir in
            let pngs = (fm.subpaths(atPath: dir.path) ?? []).filter { $0.hasSuffix(".png") }.count
            if pngs > 0 && pngs < 24 { seenAtKill = pngs; return true }
            return false
        }, runDirectory: killedDir)
        #expect(killed.status != 0 && seenAtKill > 0, "the run was not interrupted (\(seenAtKill) images at the kill); make it slower")
        #expect(!fm.fileExists(atPath: killedDir.appendingPathComponent("manifest.jsonl").path))
        let resumed = try runSynclr(slow + ["--out", killedDir.path])
        try #require(resumed.status == 0, "\(resumed.output)")
        #expect(resumed.output.contains("skipped"), "\(resumed.output)")
        #expect(outputs(killedDir) == outputs(full), "the resumed run differs from the uninterrupted one")
        #expect(outputs(full).count == 26)
    }

    @Test func badInputNamesTheOptionAndFile() throws {
        let fm = FileManager.default
        let root = fm.temporaryDirectory.appendingPathComponent("synclr-sd-bad-\(UUID().uuidString)")
        defer { try? fm.removeItem(at: root) }
        try fm.createDirectory(at: root, withIntermediateDirectories: true)
        let captions = try writeCaptions(["a shoe"], in: root)
        let out = root.appendingPathComponent("out").path
        func run(_ extra: [String]) throws -> String {
            let r = try runSynclr(["images", "--captions", captions.path, "--out", out, "--steps", "2"] + extra)
            #expect(r.status != 0, "\(extra) was accepted")
            return r.output
        }
        let notSD = try run(["--model", root.path])
        #expect(notSD.contains(root.path) && notSD.contains("model_index.json") && notSD.contains("--model"), "\(notSD)")
        let size = try run(["--model", sdFixture().path, "--size", "18"])
        #expect(size.contains("--size 18") && size.contains("multiple of 4"), "\(size)")
        let encoder = try run(["--model", sdFixture().path, "--text-encoder", root.path])
        #expect(encoder.contains("--text-encoder"), "\(encoder)")
        let prediction = try run(["--model", sdFixture().path, "--prediction-type", "x0"])
        #expect(prediction.contains("--prediction-type"), "\(prediction)")
        let unetSize = try run(["--size", "64"])
        #expect(unetSize.contains("--size 64") && unetSize.contains("32x32"), "\(unetSize)")
    }

    @Test func pipelineTrainsTheViTOnStableDiffusionImages() throws {
        let fm = FileManager.default
        let root = fm.temporaryDirectory.appendingPathComponent("synclr-sd-pipeline-\(UUID().uuidString)")
        defer { try? fm.removeItem(at: root) }
        try fm.createDirectory(at: root, withIntermediateDirectories: true)
        let config = """
            {"captions": {"count": 6, "backend": "template"},
             "images": {"steps": 3, "perCaption": 2, "size": 24},
             "train": {"steps": 3, "batchCaptions": 3, "imagesPerCaption": 2, "prototypes": 32, "localCrops": 2, "warmup": 1},
             "eval": {"trainLimit": 200, "probeGrid": 2, "baselines": []}}
            """
        let file = root.appendingPathComponent("sd.json")
        try Data(config.utf8).write(to: file)
        let run = root.appendingPathComponent("run")
        let r = try runSynclr(["pipeline", "--config", file.path, "--set", "images.model=\(sdFixture().path)", "--out", run.path])
        try #require(r.status == 0, "pipeline failed:\n\(r.output)")
        // 24x24 RGB Stable Diffusion images, read by training at the ViT's 32x32 gray input.
        let records = try ManifestFile.read(run.appendingPathComponent("images"))
        #expect(records.count == 12 && records.allSatisfy { $0.model == "stable-diffusion:sd1" })
        let png = try ImageIO.read(run.appendingPathComponent("images").appendingPathComponent(records[0].path))
        #expect(png.channels == 3 && png.width == 24)
        #expect(fm.fileExists(atPath: run.appendingPathComponent("train/model.safetensors").path))
        #expect(r.output.contains("stage train-synclr-seed0: done"), "\(r.output)")
        let metrics = try String(contentsOf: run.appendingPathComponent("train/metrics.jsonl"), encoding: .utf8)
        #expect(!metrics.isEmpty)
    }
}

private extension URL {
    /// Creates this folder and returns it.
    func creatingDirectory() throws -> URL {
        try FileManager.default.createDirectory(at: self, withIntermediateDirectories: true)
        return self
    }
}
