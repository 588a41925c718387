import Foundation
import Testing
import SynTensor
import SynPipeline

/// The `synclr` binary next to this test bundle.
func synclrExecutable() -> URL {
    let me = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    var dir = me.deletingLastPathComponent()
    // On Linux the test runner is .build/<config>/<Package>PackageTests.xctest; the tool is beside it.
    for _ in 0..<3 {
        let candidate = dir.appendingPathComponent("synclr")
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    return me.deletingLastPathComponent().appendingPathComponent("synclr")
}

/// Runs synclr with `arguments`; returns the exit status and combined output.
@discardableResult
func runSynclr(_ arguments: [String], killWhen: ((URL) -> Bool)? = nil, runDirectory: URL? = nil,
               environment extra: [String: String] = [:]) throws -> (status: Int32, output: String) {
    let p = Process()
    p.executableURL = synclrExecutable()
    p.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env["SYNCLR_NUM_THREADS"] = "2"
    for (k, v) in extra { env[k] = v }
    p.environment = env
    let outFile = FileManager.default.temporaryDirectory.appendingPathComponent("synclr-test-\(UUID().uuidString).log")
    _ = FileManager.default.createFile(atPath: outFile.path, contents: nil)
    let handle = try FileHandle(forWritingTo: outFile)
    p.standardOutput = handle
    p.standardError = handle
    try p.run()
    if let killWhen, let runDirectory {
        while p.isRunning {
            if killWhen(runDirectory) {
                kill(p.processIdentifier, SIGKILL)
                break
            }
            usleep(20_000)
        }
    }
    p.waitUntilExit()
    try handle.close()
    let output = (try? String(contentsOf: outFile, encoding: .utf8)) ?? ""
    try? FileManager.default.removeItem(at: outFile)
    return (p.terminationStatus, output)
}

/// Files of a run whose bytes must not depend on interruptions.
func deterministicFiles(_ dir: URL) -> [String: Data] {
    var out: [String: Data] = [:]
    let fm = FileManager.default
    guard let e = fm.enumerator(at: dir, includingPropertiesForKeys: nil) else { return out }
    for case let url as URL in e {
        let rel = url.path.replacingOccurrences(of: dir.path + "/", with: "")
        let isData = rel == "captions.jsonl" || rel.hasPrefix("images/") || rel == "train/model.safetensors"
        if isData, !url.hasDirectoryPath, let d = fm.contents(atPath: url.path) { out[rel] = d }
    }
    return out
}

@Suite(.serialized) struct PipelineIntegrationTests {
    /// A configuration small enough for CI: a few template captions, few sampler steps, a short run.
    /// 24 captions make 3 image units of 8 captions, so a kill can land between units (images are
    /// written a unit at a time).
    let tinyConfig = """
        {"captions": {"count": 24, "backend": "template"},
         "images": {"steps": 6, "perCaption": 2},
         "train": {"steps": 6, "batchCaptions": 3, "imagesPerCaption": 2, "prototypes": 32, "localCrops": 2, "warmup": 2},
         "eval": {"trainLimit": 600, "probeGrid": 3, "baselines": ["raw-pixels"]}}
        """

    /// A fresh scratch folder (the caller removes it) holding `tinyConfig` as tiny.json.
    func scratchWithTinyConfig() throws -> (root: URL, config: URL) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("synclr-pipeline-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let config = root.appendingPathComponent("tiny.json")
        try Data(tinyConfig.utf8).write(to: config)
        return (root, config)
    }

    @Test func pipelineRunsResumesAfterKillAndSkipsFinishedStages() throws {
        let fm = FileManager.default
        let (root, config) = try scratchWithTinyConfig()
        defer { try? fm.removeItem(at: root) }

        // 1. An uninterrupted run.
        let a = root.appendingPathComponent("a")
        let first = try runSynclr(["pipeline", "--config", config.path, "--out", a.path])
        #expect(first.status == 0, "pipeline failed:\n\(first.output)")
        for f in ["captions.jsonl", "images/manifest.jsonl", "train/model.safetensors", "eval.json", "report.md", "sheet.png", "eval.png",
                  "train/loss.png", "train/metrics.jsonl", "stages/images.json"] {
            #expect(fm.fileExists(atPath: a.appendingPathComponent(f).path), "missing \(f)")
        }
        let report = try String(contentsOf: a.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(report.contains("## Evaluation") && report.contains("synthetic images only") && report.contains("raw pixels"))
        let evalJSON = try JSONSerialization.jsonObject(with: Data(contentsOf: a.appendingPathComponent("eval.json"))) as? [String: Any]
        #expect((evalJSON?["summary"] as? [[String: Any]])?.count == 2)

        // 2. A second run killed in the middle of the image stage, then resumed.
        let b = root.appendingPathComponent("b")
        let killed = try runSynclr(["pipeline", "--config", config.path, "--out", b.path], killWhen: { dir in
            // Some but not all images written.
            let images = (try? fm.subpathsOfDirectory(atPath: dir.appendingPathComponent("images").path)) ?? []
            let pngs = images.filter { $0.hasSuffix(".png") }.count
            return pngs > 0 && pngs < 48
        }, runDirectory: b)
        #expect(killed.status != 0, "the run was not interrupted; make the image stage slower or the kill earlier")
        let resumed = try runSynclr(["pipeline", "--config", config.path, "--out", b.path])
        #expect(resumed.status == 0, "resumed pipeline failed:\n\(resumed.output)")
        #expect(resumed.output.contains("stage captions: up to date"))

        // Same bytes as the uninterrupted run for captions, images, manifest and trained weights.
        let fa = deterministicFiles(a), fb = deterministicFiles(b)
        #expect(fa.keys.sorted() == fb.keys.sorted())
        for (k, v) in fa { #expect(fb[k] == v, "\(k) differs after kill and resume") }

        // 3. A rerun reuses every finished stage.
        let again = try runSynclr(["pipeline", "--config", config.path, "--out", b.path])
        #expect(again.status == 0)
        for stage in ["captions", "images", "train-synclr-seed0", "eval-synclr-seed0"] {
            #expect(again.output.contains("stage \(stage): up to date"), "stage \(stage) was not reused:\n\(again.output)")
        }
    }

    /// A killed stage keeps the time it had spent: its record's seconds grow while it runs, and the
    /// resumed stage's total starts from them.
    @Test func killedStageKeepsItsTime() throws {
        let fm = FileManager.default
        let (root, config) = try scratchWithTinyConfig()
        defer { try? fm.removeItem(at: root) }
        let run = root.appendingPathComponent("run"), record = run.appendingPathComponent("stages/images.json")
        func seconds() -> (String, Double)? {
            guard let data = fm.contents(atPath: record.path), let r = StageRecord.read(data) else { return nil }
            return (r.status, r.seconds)
        }
        var atKill = 0.0
        let killed = try runSynclr(["pipeline", "--config", config.path, "--out", run.path], killWhen: { _ in
            guard let (status, s) = seconds(), status == "running", s >= 0.1 else { return false }
            atKill = s
            return true
        }, runDirectory: run, environment: ["SYNCLR_STAGE_RECORD_PERIOD": "0.03"])
        #expect(killed.status != 0, "the image stage's record never showed time spent while it ran:\n\(killed.output)")
        let resumed = try runSynclr(["pipeline", "--config", config.path, "--out", run.path])
        #expect(resumed.status == 0, "resumed pipeline failed:\n\(resumed.output)")
        #expect(resumed.output.contains("stage images: resuming"))
        let final = seconds()
        #expect(final?.0 == "done")
        #expect((final?.1 ?? 0) > atKill, "the resumed stage's total \(final?.1 ?? 0) s does not include the \(atKill) s before the kill")
    }

    @Test func badConfigIsAClearError() throws {
        let r = try runSynclr(["pipeline", "--preset", "nope"])
        #expect(r.status != 0)
        #expect(r.output.contains("unknown preset 'nope'"))
        let s = try runSynclr(["pipeline", "--set", "train.steps=many", "--show-config"])
        #expect(s.status != 0)
        #expect(s.output.contains("does not fit"))
    }
}
