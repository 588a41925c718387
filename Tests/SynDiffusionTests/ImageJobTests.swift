import Foundation
import SynTensor
import Testing
@testable import SynDiffusion

private let jobCaptions: [CaptionRecord] = [
    CaptionRecord(id: .number(10), caption: "a red sneaker on grass", concept: "sneaker"),
    CaptionRecord(id: .text("b-2"), caption: "a \"quoted\" bag\\tote", concept: "bag"),
    CaptionRecord(id: .number(7), caption: "a long dress", concept: nil),
    CaptionRecord(id: .number(3), caption: "trousers folded on a chair", concept: "trouser"),
    CaptionRecord(id: .number(4), caption: "an ankle boot in snow", concept: "ankle boot"),
]

private func tinyModel() -> TextToImage<UNet2DCondition> {
    var g = RandomGenerator(seed: 42)
    let unet = UNet2DCondition(tinyUNetConfig(), generator: &g)
    // Random (not zero) output layers so images depend on every input.
    var h = RandomGenerator(seed: 43)
    for p in unet.parameters() where p.value.scalars.allSatisfy({ $0 == 0 }) && p.shape.count > 1 {
        p.value = Tensor.randn(p.shape, std: 0.1, generator: &h)
    }
    unet.eval()
    return TextToImage(predictor: unet, config: tinyUNetConfig(), encoder: ToyTextEncoder())
}

private func options() -> ImageJobOptions {
    ImageJobOptions(perCaption: 2, guidance: 2.5, steps: 3, sampler: .ddim, seed: 11, model: "tiny", unitCaptions: 2)
}

/// Every file under `dir` (relative path -> bytes), ignoring job.json and the shards' BLAS records.
private func files(_ dir: URL) throws -> [String: Data] {
    var out: [String: Data] = [:]
    let base = dir.standardizedFileURL.path
    guard let e = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: nil) else { return out }
    for case let url as URL in e where !url.hasDirectoryPath {
        let rel = String(url.standardizedFileURL.path.dropFirst(base.count + 1))
        if rel == "job.json" || rel.hasPrefix("shards/") { continue }
        out[rel] = try Data(contentsOf: url)
    }
    return out
}

@Suite struct ImageJobTests {
    @Test func resumeAndShardsGiveIdenticalBytes() throws {
        let model = tinyModel()
        let whole = try temporaryDirectory("job-whole"), resumed = try temporaryDirectory("job-resumed")
        let sharded = try temporaryDirectory("job-sharded"), split0 = try temporaryDirectory("job-split0")
        let split1 = try temporaryDirectory("job-split1")
        defer { for d in [whole, resumed, sharded, split0, split1] { try? FileManager.default.removeItem(at: d) } }

        let s = try ImageJob(model: model, captions: jobCaptions, options: options(), directory: whole).run()
        #expect(s.written == 10 && s.manifestLines == 10)
        let reference = try files(whole)
        #expect(reference.count == 11, "10 PNGs and the manifest, got \(reference.keys.sorted())")

        // Interrupted: only shard 1/3's units, then a file of another unit lost; a rerun completes it.
        _ = try ImageJob(model: model, captions: jobCaptions, options: options(), directory: resumed, shard: Shard("1/3")!).run()
        _ = try ImageJob(model: model, captions: jobCaptions, options: options(), directory: resumed).run()
        let lost = resumed.appendingPathComponent(ImageJob<UNet2DCondition>.relativePath(position: 4, index: 1))
        try FileManager.default.removeItem(at: lost)
        // A process killed while writing that image leaves its temporary file behind.
        let stale = lost.deletingLastPathComponent().appendingPathComponent("." + lost.lastPathComponent + ".tmp-99999-7")
        try Data([1, 2, 3]).write(to: stale)
        let again = try ImageJob(model: model, captions: jobCaptions, options: options(), directory: resumed).run()
        #expect(again.written == 1 && again.skipped == 9)
        #expect(!FileManager.default.fileExists(atPath: stale.path), "the stale temporary file was not removed")
        #expect(try files(resumed) == reference, "resumed job differs from the uninterrupted one")

        // Two shards into one folder: the last one to finish writes the full manifest.
        _ = try ImageJob(model: model, captions: jobCaptions, options: options(), directory: sharded, shard: Shard("1/2")!).run()
        let last = try ImageJob(model: model, captions: jobCaptions, options: options(), directory: sharded, shard: Shard("0/2")!).run()
        #expect(last.manifestLines == 10)
        #expect(try files(sharded) == reference, "sharded job differs from the single run")

        // Two shards into separate folders, merged by copying, then any rerun rebuilds the manifest.
        _ = try ImageJob(model: model, captions: jobCaptions, options: options(), directory: split0, shard: Shard("0/2")!).run()
        _ = try ImageJob(model: model, captions: jobCaptions, options: options(), directory: split1, shard: Shard("1/2")!).run()
        for (rel, data) in try files(split1) where rel.hasPrefix("images/") {
            let url = split0.appendingPathComponent(rel)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: url)
        }
        let merged = try ImageJob(model: model, captions: jobCaptions, options: options(), directory: split0).run()
        #expect(merged.written == 0)
        #expect(try files(split0) == reference, "merged shards differ from the single run")
    }

    @Test func shardsThatRanDifferentBLASCoresAreReported() throws {
        let dir = try temporaryDirectory("job-cores")
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = tinyModel()
        let first = try ImageJob(model: model, captions: jobCaptions, options: options(), directory: dir, shard: Shard("0/2")!).run()
        #expect(first.blasWarning == nil)
        let record = dir.appendingPathComponent("shards/0-of-2.json")
        let runs = try JSONDecoder().decode([BLASRuntime].self, from: Data(contentsOf: record))
        #expect(runs == [BLAS.runtime])
        // The other shard ran on a machine whose OpenBLAS chose another kernel.
        let other = [BLASRuntime(core: BLAS.coreName + "-other", threads: 4)]
        try JSONEncoder().encode(other).write(to: dir.appendingPathComponent("shards/1-of-2.json"))
        let second = try ImageJob(model: model, captions: jobCaptions, options: options(), directory: dir, shard: Shard("0/2")!).run()
        let warning = try #require(second.blasWarning)
        #expect(warning.contains(BLAS.coreName + "-other (shard 1/2)") && warning.contains("OPENBLAS_CORETYPE"))
    }

    @Test func manifestLinesHaveTheDocumentedFields() throws {
        let job = ImageJob(model: tinyModel(), captions: jobCaptions, options: options(), directory: URL(fileURLWithPath: "/nonexistent"))
        let line = job.manifestLine(position: 1, index: 1)
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(Set(obj.keys) == ["path", "caption_id", "caption", "index", "seed", "guidance", "steps", "model", "concept", "format_version"])
        #expect(obj["caption"] as? String == "a \"quoted\" bag\\tote")
        #expect(obj["caption_id"] as? String == "b-2")
        #expect(obj["path"] as? String == "images/00000/000001_1.png")
        #expect((obj["guidance"] as? NSNumber)?.doubleValue == 2.5)
        #expect((obj["seed"] as? NSNumber)?.uint64Value == imageSeed(jobSeed: 11, captionID: .text("b-2"), index: 1))
        let noConcept = try #require(try JSONSerialization.jsonObject(with: Data(job.manifestLine(position: 2, index: 0).utf8)) as? [String: Any])
        #expect(noConcept["concept"] == nil && (noConcept["caption_id"] as? NSNumber)?.intValue == 7)
    }

    @Test func guidanceRefinementsAreRecordedAndOldJobsStillRead() throws {
        // A job.json written before the refinements existed decodes with them off, and a plain job
        // encodes without their keys, so old folders resume unchanged.
        let old = #"{"guidance":2.5,"model":"tiny","per_caption":2,"sampler":"ddim","seed":11,"steps":3,"unit_captions":2}"#
        let decoded = try JSONDecoder().decode(ImageJobOptions.self, from: Data(old.utf8))
        #expect(decoded == options())
        let plain = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(options())) as? [String: Any])
        #expect(Set(plain.keys) == ["guidance", "model", "per_caption", "sampler", "seed", "steps", "unit_captions"])

        var refined = options()
        refined.guidanceRescale = 0.7
        refined.guidanceInterval = 0...600
        refined.thresholding = DynamicThresholding(ratio: 0.99, maxValue: 1.5)
        let roundTrip = try JSONDecoder().decode(ImageJobOptions.self, from: JSONEncoder().encode(refined))
        #expect(roundTrip == refined)
        #expect(refined.classifierFreeGuidance == ClassifierFreeGuidance(scale: 2.5, rescale: 0.7, interval: 0...600))
        let job = ImageJob(model: tinyModel(), captions: jobCaptions, options: refined, directory: URL(fileURLWithPath: "/nonexistent"))
        let line = try #require(try JSONSerialization.jsonObject(with: Data(job.manifestLine(position: 0, index: 0).utf8)) as? [String: Any])
        #expect((line["guidance_rescale"] as? NSNumber)?.doubleValue.rounded(toPlaces: 4) == 0.7)
        #expect((line["guidance_interval"] as? [NSNumber])?.map(\.doubleValue) == [0, 600])
        #expect((line["dynamic_threshold"] as? [NSNumber])?.count == 2)

        var bad = options()
        bad.guidanceRescale = 1.5
        #expect(bad.problems.contains { $0.contains("`guidanceRescale`") })
        bad = options()
        bad.thresholding = DynamicThresholding(ratio: 0.99, maxValue: 0.5)
        #expect(bad.problems.contains { $0.contains("`dynamicThreshold`") })
        // Euler has no x0 to threshold: the pair is refused instead of being recorded and ignored.
        bad = options()
        bad.sampler = .euler
        bad.thresholding = DynamicThresholding(ratio: 0.99, maxValue: 1.5)
        #expect(bad.problems.contains { $0.contains("`dynamicThreshold`") && $0.contains("not euler") }, "\(bad.problems)")
        for kind in [SamplerKind.ddim, .ddpm, .dpmpp] {
            var ok = options()
            ok.sampler = kind
            ok.thresholding = DynamicThresholding(ratio: 0.99, maxValue: 1.5)
            #expect(ok.problems.isEmpty, "\(kind): \(ok.problems)")
        }
    }

    @Test func moreStepsThanTrainingTimestepsIsAnError() throws {
        // A model trained with 100 timesteps asked for 500 sampler steps used to trap in the timestep grid.
        var config = tinyUNetConfig()
        config.trainTimesteps = 100
        var g = RandomGenerator(seed: 42)
        let unet = UNet2DCondition(config, generator: &g)
        unet.eval()
        let model = TextToImage(predictor: unet, config: config, encoder: ToyTextEncoder())
        let dir = try temporaryDirectory("job-steps")
        defer { try? FileManager.default.removeItem(at: dir) }
        for sampler in SamplerKind.allCases {
            var o = options()
            o.steps = 500
            o.sampler = sampler
            do {
                _ = try ImageJob(model: model, captions: jobCaptions, options: o, directory: dir).run()
                Issue.record("\(sampler): 500 steps accepted")
            } catch {
                #expect("\(error)".contains("`steps` 500 exceeds the model's 100 training timesteps"), "\(error)")
            }
        }
    }

    @Test func dpmSolverAppliesDynamicThresholding() {
        // With one step and final sigma 0, DPM-Solver++ lands on its x0 prediction, so the result
        // must be exactly the thresholded x0 (diffusers thresholds x0 in convert_model_output).
        let t = DynamicThresholding(ratio: 0.9, maxValue: 1.5)
        let config = tinyUNetConfig()
        var plain = SamplerKind.dpmpp.scheduler(for: config)
        var thresholded = SamplerKind.dpmpp.scheduler(for: config, thresholding: t)
        #expect((thresholded as? DPMSolverMultistepScheduler)?.thresholding == t)
        plain.setTimesteps(1)
        thresholded.setTimesteps(1)
        var g = RandomGenerator(seed: 3)
        let sample = Tensor.randn([2, 1, 4, 4], generator: &g) * 3
        let output = Tensor.randn([2, 1, 4, 4], generator: &g)
        let ts = plain.timesteps[0]
        let x0 = plain.step(output, timestep: ts, sample: sample).prevSample
        let got = thresholded.step(output, timestep: ts, sample: sample).prevSample
        #expect(x0.scalars.map(abs).max()! > 1.5, "the fixture must need thresholding")
        let want = t(x0)
        #expect(zip(got.scalars, want.scalars).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) })
        #expect(got.scalars.map(abs).max()! <= 1 + 1e-6)
    }

    @Test func jobSamplersDoNotClipX0() {
        // A fixed clip at every step distorts guided trajectories (Docs/diffusion.md), so none is used.
        let config = tinyUNetConfig()
        #expect((SamplerKind.ddim.scheduler(for: config) as? DDIMScheduler)?.clipSample == false)
        #expect((SamplerKind.ddpm.scheduler(for: config) as? DDPMScheduler)?.clipSample == false)
        let t = DynamicThresholding(ratio: 0.9, maxValue: 2)
        #expect((SamplerKind.ddim.scheduler(for: config, thresholding: t) as? DDIMScheduler)?.thresholding == t)
    }

    @Test func seedsDependOnJobCaptionAndIndexOnly() {
        let a = imageSeed(jobSeed: 1, captionID: .number(5), index: 0)
        #expect(a == imageSeed(jobSeed: 1, captionID: .number(5), index: 0))
        #expect(a != imageSeed(jobSeed: 2, captionID: .number(5), index: 0))
        #expect(a != imageSeed(jobSeed: 1, captionID: .text("5"), index: 0))
        #expect(a != imageSeed(jobSeed: 1, captionID: .number(5), index: 1))
        #expect(a < (1 << 53))
    }

    @Test func folderOfAnotherJobIsRefused() throws {
        let dir = try temporaryDirectory("job-other")
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = tinyModel()
        _ = try ImageJob(model: model, captions: Array(jobCaptions.prefix(1)), options: options(), directory: dir).run()
        var other = options()
        other.guidance = 4
        #expect { try ImageJob(model: model, captions: Array(jobCaptions.prefix(1)), options: other, directory: dir).run() } throws: {
            "\($0)".contains("job.json") && "\($0)".contains("another job")
        }
    }

    @Test func contactSheetTilesCaptionsByImages() throws {
        let dir = try temporaryDirectory("job-sheet")
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try ImageJob(model: tinyModel(), captions: jobCaptions, options: options(), directory: dir).run()
        let (sheet, rows) = try ContactSheet.make(directory: dir)
        #expect(rows == jobCaptions.map(\.caption))
        #expect(sheet.shape == [1, 5 * 8 + 6 * 2, 2 * 8 + 3 * 2])
    }
}

@Suite struct BadInputTests {
    @Test func malformedCaptionLineNamesFileAndLine() throws {
        let dir = try temporaryDirectory("bad-captions")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("caps.jsonl")
        try Data("{\"id\": 1, \"caption\": \"ok\"}\n\n{\"id\": 2, \"caption\": \"broken\"\n".utf8).write(to: url)
        #expect { try CaptionsFile.read(url) } throws: { "\($0)" == "\(url.path):3: not a valid JSON object" }
        try Data("{\"id\": 1, \"text\": \"no caption\"}\n".utf8).write(to: url)
        #expect { try CaptionsFile.read(url) } throws: { "\($0)".contains("caps.jsonl:1: missing string field \"caption\"") }
        try Data("{\"id\": true, \"caption\": \"x\"}\n".utf8).write(to: url)
        #expect { try CaptionsFile.read(url) } throws: { "\($0)".contains(":1: \"id\" must be an integer or a string") }
        try Data("{\"id\": 1, \"caption\": \"x\"}\n{\"id\": 1, \"caption\": \"y\"}\n".utf8).write(to: url)
        #expect { try CaptionsFile.read(url) } throws: { "\($0)".contains(":2: id 1 appears more than once") }
        #expect { try CaptionsFile.read(dir.appendingPathComponent("missing.jsonl")) } throws: { "\($0)".contains("missing.jsonl: no such file") }
    }

    @Test func captionFileAcceptsNumberStringAndMissingIDs() throws {
        let dir = try temporaryDirectory("good-captions")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("caps.jsonl")
        try Data("{\"id\":5,\"caption\":\"a\",\"concept\":\"bag\",\"extra\":[1]}\r\n{\"caption\":\"b\",\"id\":\"x\"}\n{\"caption\":\"c\",\"concept\":null}\n".utf8).write(to: url)
        let r = try CaptionsFile.read(url)
        #expect(r == [CaptionRecord(id: .number(5), caption: "a", concept: "bag"), CaptionRecord(id: .text("x"), caption: "b"),
                      CaptionRecord(id: .number(2), caption: "c")])
    }

    @Test func modelFilesCarryTheirSamplingRecommendation() throws {
        let dir = try temporaryDirectory("sampling-model")
        defer { try? FileManager.default.removeItem(at: dir) }
        var g = RandomGenerator(seed: 1)
        let unet = UNet2DCondition(tinyUNetConfig(), generator: &g)
        let url = dir.appendingPathComponent("model.safetensors")
        let rec = SamplingRecommendation(guidanceRescale: 0.5, guidanceInterval: 0...500)
        try UNetCheckpoint.save(unet, info: UNetModelInfo(name: "tiny", config: tinyUNetConfig(), textEncoder: "toy", sampling: rec), to: url)
        let info = try UNetCheckpoint.info(url)
        #expect(info.sampling == rec && info.sampling?.guidanceInterval == 0...500 && info.extra["sampling"] == nil)

        // A model without one, and one whose recommendation is malformed (an error naming the file).
        let plain = dir.appendingPathComponent("plain.safetensors")
        try UNetCheckpoint.save(unet, info: UNetModelInfo(name: "tiny", config: tinyUNetConfig(), textEncoder: "toy"), to: plain)
        #expect(try UNetCheckpoint.info(plain).sampling == nil)
        let bad = dir.appendingPathComponent("bad.safetensors")
        try Safetensors.save(unet.stateDict(), to: bad, metadata: ["format": UNetCheckpoint.format, "name": "x",
                                                                  "unet_config": tinyUNetConfig().json(), "text_encoder": "toy",
                                                                  "sampling": #"{"guidance_rescale":3}"#])
        #expect { try UNetCheckpoint.info(bad) } throws: { "\($0)".contains("bad.safetensors") && "\($0)".contains("guidance_rescale 3.0") }
    }

    @Test func missingAndMisshapenCheckpointsNameTheFile() throws {
        let dir = try temporaryDirectory("bad-model")
        defer { try? FileManager.default.removeItem(at: dir) }
        let missing = dir.appendingPathComponent("nope.safetensors")
        #expect { try UNetCheckpoint.load(missing) } throws: { "\($0)".contains("nope.safetensors: no such file") }

        var g = RandomGenerator(seed: 1)
        let unet = UNet2DCondition(tinyUNetConfig(), generator: &g)
        let url = dir.appendingPathComponent("model.safetensors")
        try UNetCheckpoint.save(unet, info: UNetModelInfo(name: "tiny", config: tinyUNetConfig(), textEncoder: "toy-encoder"), to: url)
        let (loaded, info) = try UNetCheckpoint.load(url)
        #expect(info.name == "tiny" && info.config == tinyUNetConfig() && loaded.parameterCount == unet.parameterCount)

        // Same metadata, but weights of a wider network: a shape mismatch naming the file and tensor.
        var wider = tinyUNetConfig()
        wider.blockOutChannels = [16, 16]
        let big = UNet2DCondition(wider, generator: &g)
        let wrong = dir.appendingPathComponent("wrong.safetensors")
        try Safetensors.save(big.stateDict(), to: wrong, metadata: ["format": UNetCheckpoint.format, "name": "x",
                                                                    "unet_config": tinyUNetConfig().json(), "text_encoder": "toy"])
        #expect { try UNetCheckpoint.load(wrong) } throws: {
            "\($0)".contains("wrong.safetensors") && "\($0)".contains("shape mismatch for conv_in.weight")
        }
        // A safetensors file that is not a UNet model.
        let other = dir.appendingPathComponent("other.safetensors")
        try Safetensors.save(["w": Tensor.zeros([2])], to: other)
        #expect { try UNetCheckpoint.load(other) } throws: { "\($0)".contains("other.safetensors: not a SynDiffusion UNet model") }
        // Not a safetensors file at all.
        let junk = dir.appendingPathComponent("junk.safetensors")
        try Data("hello".utf8).write(to: junk)
        #expect { try UNetCheckpoint.load(junk) } throws: { "\($0)".contains("junk.safetensors: not a readable safetensors file") }
    }

    @Test func malformedManifestLineNamesFileAndLine() throws {
        let dir = try temporaryDirectory("bad-manifest")
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = #"{"path":"a.png","caption_id":1,"caption":"x","index":0,"seed":1,"guidance":2.5,"steps":4,"model":"m"}"#
        try Data((good + "\nnot json\n").utf8)
            .write(to: dir.appendingPathComponent("manifest.jsonl"))
        #expect { try ContactSheet.make(directory: dir) } throws: { "\($0)".contains("manifest.jsonl:2: not a JSON object") }
    }

    @Test func unknownConceptsAndUncoveredClassesAreReported() {
        let recs = [CaptionRecord(id: .number(0), caption: "a whale", concept: "whale")]
        #expect { try CaptionBank.group(recs, path: "c.jsonl") } throws: { "\($0)".contains("c.jsonl: caption 0: concept \"whale\"") }
        let some = [CaptionRecord(id: .number(0), caption: "a bag", concept: "bag")]
        #expect { try CaptionBank.group(some, path: "c.jsonl") } throws: { "\($0)".contains("no caption for class") }
        #expect(FashionMNISTImages.classIndex(ofConcept: "T-shirt or top") == 0)
        #expect(FashionMNISTImages.classIndex(ofConcept: " Ankle Boot ") == 9)
    }
}

@Suite struct FrechetDistanceTests {
    /// Against scipy.linalg.sqrtm on a 3-D example (numpy seed 0).
    @Test func matchesScipy() {
        let s1 = [0.5434009546022054, 0.3155273076854768, -0.41184977210581836, 0.3155273076854768, 0.5286966956565323,
                  -0.6249996895839106, -0.41184977210581836, -0.6249996895839106, 3.1926217505375365]
        let s2 = [2.1914703916045895, 3.0270226297413423, 1.2527781444797172, 3.0270226297413423, 7.20593198370906,
                  2.215705290856668, 1.2527781444797172, 2.215705290856668, 1.1324791081044157]
        let d = FrechetDistance.distance(mean1: [0.4116305363741328, 1.0425133694426776, -0.12853466294403426], cov1: s1,
                                         mean2: [1.3664634705496859, -0.6651946734866135, 0.3515100700930197], cov2: s2)
        #expect(abs(d - 11.240888809146345) < 1e-9, "got \(d)")
    }

    @Test func identicalSetsAreAtZero() throws {
        var g = RandomGenerator(seed: 5)
        let x = Tensor.randn([200, 6], generator: &g)
        #expect(try FrechetDistance.distance(x, x) < 1e-9)
        #expect(try FrechetDistance.distance(x, x + 1) > 5.9)
        // One image per set has no covariance: an error naming the count, not a trap.
        #expect(throws: ParameterError.self) { try FrechetDistance.distance(x.slice(0, 0, 1), x) }
    }
}

private extension Double {
    func rounded(toPlaces p: Int) -> Double {
        let m = Foundation.pow(10, Double(p))
        return (self * m).rounded() / m
    }
}
