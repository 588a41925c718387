import Foundation
import SynPipeline
import Testing

/// `synclr pipeline`'s configuration: every key out of range, of the wrong type, too large for
/// its type or unknown is refused by `PipelineConfig.resolve` with a message naming the key and
/// what it accepts (issue 17), before any stage starts.
@Suite struct PipelineConfigValidationTests {
    /// The error message of resolving the demo preset with `overrides`, or nil when it is accepted.
    func refusal(_ overrides: [String]) -> String? {
        do {
            _ = try PipelineConfig.resolve(preset: "demo", fileContents: nil, fileName: "", overrides: overrides)
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// The error message of a config file with `json` merged over the demo preset.
    func fileRefusal(_ json: String) -> String? {
        do {
            _ = try PipelineConfig.resolve(preset: "demo", fileContents: Data(json.utf8), fileName: "bad.json", overrides: [])
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func presetsAndTheIntegrationConfigAreValid() throws {
        #expect(PipelineConfig.presetNames == ["demo", "paper-small", "paper-small-full"])
        for preset in PipelineConfig.presetNames {
            _ = try PipelineConfig.resolve(preset: preset, file: nil, overrides: [])
        }
        let small = """
            {"captions": {"count": 24, "backend": "template"}, "images": {"steps": 6, "perCaption": 2},
             "train": {"steps": 6, "batchCaptions": 3, "imagesPerCaption": 2, "prototypes": 32, "localCrops": 2, "warmup": 2},
             "eval": {"trainLimit": 600, "probeGrid": 3, "baselines": ["raw-pixels"]}}
            """
        #expect(fileRefusal(small) == nil)
        // Values at the edges of their ranges are accepted.
        #expect(refusal(["seed=18446744073709551615", "trainSeeds=[0,18446744073709551615]", "images.guidanceInterval=[]",
                         "images.guidanceInterval=[0,10000]", "images.guidanceRescale=1", "images.guidance=0", "images.size=8",
                         "train.localSize=32", "train.localCrops=0", "train.emaMomentum=1", "train.globalScale=1", "train.lr=10",
                         "train.ibotWeight=0", "train.maskedImageFraction=1", "train.maskedPatchFraction=0", "train.checkpointEvery=0", "eval.trainLimit=0", "eval.probeGrid=100", "eval.baselines=[]"]) == nil)
    }

    @Test func paperSmallFullAddsSupervisedRunsAndTrainsTheSharedRunsIdentically() throws {
        let small = PipelineConfig.paperSmall, full = PipelineConfig.paperSmallFull
        #expect(small.runs.map(\.objective).sorted() == ["simclr", "simclr", "stablerep", "synclr"])
        #expect(Set(full.runs.map(\.name)).subtracting(small.runs.map(\.name)) == ["supervised-real", "supervised-synthetic"])
        // The same training configuration (what the stage hash covers), so a shared run trains the
        // same model under either preset.
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        for run in small.runs {
            let twin = try #require(full.runs.first { $0.name == run.name })
            let a = try encoder.encode(small.trainingRun(run, seed: 1, data: "d", output: "o"))
            let b = try encoder.encode(full.trainingRun(twin, seed: 1, data: "d", output: "o"))
            #expect(a == b)
        }
        #expect(try encoder.encode(small.captions) == encoder.encode(full.captions))
        #expect(try encoder.encode(small.images) == encoder.encode(full.images))
    }

    /// (override, key named, text of the allowed range) for values out of range, NaN, negative,
    /// too large for their type, of the wrong type, or empty lists.
    static let outOfRange: [(String, String, String)] = [
        ("seed=-1", "seed", "0...18446744073709551615"),
        ("seed=1e30", "seed", "0...18446744073709551615"),
        ("seed=\"x\"", "seed", "0...18446744073709551615"),
        ("trainSeeds=[]", "trainSeeds", "1...1000 distinct"),
        ("trainSeeds=[3,3]", "trainSeeds", "1...1000 distinct"),
        ("trainSeeds=[1,-2]", "trainSeeds[1]", "distinct integers"),
        ("trainSeeds=[1.5]", "trainSeeds[0]", "distinct integers"),
        ("trainSeeds=5", "trainSeeds", "distinct integers"),
        ("captions.count=0", "captions.count", "1...1000000000"),
        ("captions.count=-5", "captions.count", "1...1000000000"),
        ("captions.count=1e30", "captions.count", "1...1000000000"),
        ("captions.count=1000000001", "captions.count", "1...1000000000"),
        ("captions.count=2.5", "captions.count", "1...1000000000"),
        ("captions.count=[]", "captions.count", "1...1000000000"),
        ("captions.backend=gpt", "captions.backend", "native, template, openai"),
        ("captions.concepts=\"\"", "captions.concepts", "non-empty"),
        ("captions.url=\"\"", "captions.url", "server root"),
        ("captions.llmModel=\"\"", "captions.llmModel", "GGUF"),
        ("images.perCaption=0", "images.perCaption", "1...1000"),
        ("images.perCaption=1001", "images.perCaption", "1...1000"),
        ("images.perCaption=9223372036854775807", "images.perCaption", "1...1000"),
        ("images.guidance=-1", "images.guidance", "0...100"),
        ("images.guidance=nan", "images.guidance", "0...100"),
        ("images.guidance=1e39", "images.guidance", "0...100"),
        ("images.guidance=101", "images.guidance", "0...100"),
        ("images.guidanceRescale=1.5", "images.guidanceRescale", "0...1"),
        ("images.guidanceRescale=-0.1", "images.guidanceRescale", "0...1"),
        ("images.guidanceInterval=[5]", "images.guidanceInterval", "[lo, hi]"),
        ("images.guidanceInterval=[9,1]", "images.guidanceInterval", "lo <= hi"),
        ("images.guidanceInterval=[-1,5]", "images.guidanceInterval", "0 <= lo"),
        ("images.guidanceInterval=[1,2,3]", "images.guidanceInterval", "[lo, hi]"),
        ("images.guidanceInterval=[0,1e39]", "images.guidanceInterval[1]", "[lo, hi]"),
        ("images.steps=0", "images.steps", "1...1000"),
        ("images.steps=1001", "images.steps", "1...1000"),
        ("images.steps=true", "images.steps", "1...1000"),
        ("images.sampler=plms", "images.sampler", "ddim"),
        ("images.size=0", "images.size", "8...4096"),
        ("images.size=100000", "images.size", "8...4096"),
        ("images.size=-8", "images.size", "8...4096"),
        ("images.model=\"\"", "images.model", "non-empty path"),
        ("images.predictionType=sample", "images.predictionType", "epsilon, v_prediction"),
        ("runs=[]", "runs", "1...100 runs"),
        ("runs={}", "runs", "1...100 runs"),
        ("runs=[{\"name\":\"a\"}]", "runs[0].data", "data spec"),
        ("runs=[{\"name\":\"../x\",\"data\":\"synthetic\",\"objective\":\"synclr\",\"limit\":0}]", "runs[0].name", "not starting with '.'"),
        ("runs=[{\"name\":\"a/b\",\"data\":\"synthetic\",\"objective\":\"synclr\",\"limit\":0}]", "runs[0].name", "names a folder"),
        ("runs=[{\"name\":\"\",\"data\":\"synthetic\",\"objective\":\"synclr\",\"limit\":0}]", "runs[0].name", "1...64 characters"),
        ("runs=[{\"name\":\"a\",\"data\":\"synthetic\",\"objective\":\"synclr\",\"limit\":0},{\"name\":\"a\",\"data\":\"synthetic\",\"objective\":\"simclr\",\"limit\":0}]",
         "runs", "distinct names"),
        ("runs=[{\"name\":\"a\",\"data\":\"\",\"objective\":\"synclr\",\"limit\":0}]", "runs[0].data", "non-empty data spec"),
        ("runs=[{\"name\":\"a\",\"data\":\"synthetic\",\"objective\":\"byol\",\"limit\":0}]", "runs[0].objective", "synclr"),
        ("runs=[{\"name\":\"a\",\"data\":\"synthetic\",\"objective\":\"synclr\",\"groupBy\":\"x\",\"limit\":0}]", "runs[0].groupBy", "caption"),
        ("runs=[{\"name\":\"a\",\"data\":\"synthetic\",\"objective\":\"synclr\",\"limit\":-1}]", "runs[0].limit", "0...1000000000"),
        ("runs=[{\"name\":\"a\",\"data\":\"synthetic\",\"objective\":\"synclr\",\"limit\":1e30}]", "runs[0].limit", "0...1000000000"),
        ("train.model=vit-huge", "train.model", "vit-nano32"),
        ("train.steps=0", "train.steps", "1...10000000"),
        ("train.steps=1e30", "train.steps", "1...10000000"),
        ("train.steps=many", "train.steps", "1...10000000"),
        ("train.steps=10000001", "train.steps", "1...10000000"),
        ("train.batchCaptions=0", "train.batchCaptions", "1...65536"),
        ("train.batchCaptions=70000", "train.batchCaptions", "1...65536"),
        ("train.imagesPerCaption=0", "train.imagesPerCaption", "1...1024"),
        ("train.imagesPerCaption=1", "train.imagesPerCaption", "at least 2 for the synclr"),
        ("train.imagesPerCaption=5000", "train.imagesPerCaption", "1...1024"),
        ("train.localCrops=-1", "train.localCrops", "0...64"),
        ("train.localCrops=65", "train.localCrops", "0...64"),
        ("train.localSize=0", "train.localSize", "multiple of the model's patch size"),
        ("train.localSize=6", "train.localSize", "multiple of the model's patch size"),
        ("train.localSize=1024", "train.localSize", "to the model's image size"),
        ("train.lr=0", "train.lr", "(0, 10]"),
        ("train.lr=-0.001", "train.lr", "(0, 10]"),
        ("train.lr=nan", "train.lr", "(0, 10]"),
        ("train.lr=1e39", "train.lr", "(0, 10]"),
        ("train.lr=11", "train.lr", "(0, 10]"),
        ("train.warmup=-1", "train.warmup", "0...10000000"),
        ("train.prototypes=0", "train.prototypes", "1...65536"),
        ("train.prototypes=1e12", "train.prototypes", "1...65536"),
        ("train.temperature=0", "train.temperature", "(0, 10]"),
        ("train.temperature=-0.5", "train.temperature", "(0, 10]"),
        ("train.ibotWeight=-1", "train.ibotWeight", "0...100"),
        ("train.maskedImageFraction=1.5", "train.maskedImageFraction", "0...1"),
        ("train.maskedPatchFraction=-0.1", "train.maskedPatchFraction", "0...1"),
        ("train.maskedPatchFraction=nan", "train.maskedPatchFraction", "0...1"),
        ("train.emaMomentum=1.01", "train.emaMomentum", "0...1"),
        ("train.emaMomentum=-0.5", "train.emaMomentum", "0...1"),
        ("train.augmentation=heavy", "train.augmentation", "byol"),
        ("train.globalScale=0", "train.globalScale", "(0, 1]"),
        ("train.globalScale=2", "train.globalScale", "(0, 1]"),
        ("train.initialization=xavier", "train.initialization", "timm"),
        ("train.checkpointEvery=-1", "train.checkpointEvery", "0...10000000"),
        ("train=5", "train", "an object"),
        ("eval.dataset=\"\"", "eval.dataset", "non-empty"),
        ("eval.trainLimit=-1", "eval.trainLimit", "0...1000000000"),
        ("eval.probeGrid=0", "eval.probeGrid", "1...100"),
        ("eval.probeGrid=101", "eval.probeGrid", "1...100"),
        ("eval.probeGrid=\"8\"", "eval.probeGrid", "1...100"),
        ("eval.baselines=[\"random\",\"random\"]", "eval.baselines", "distinct baselines"),
        ("eval.baselines=[\"\"]", "eval.baselines", "distinct baselines"),
        ("eval.baselines=\"random\"", "eval.baselines", "distinct baselines"),
    ]

    @Test(arguments: outOfRange)
    func outOfRangeValueIsRefusedNamingKeyAndRange(_ override: String, _ key: String, _ allowed: String) throws {
        let message = try #require(refusal([override]), "\(override) was accepted")
        #expect(message.contains("pipeline config: \(key) ") || message.contains("pipeline config: \(key):"), "\(override): \(message)")
        #expect(message.contains(allowed), "\(override): \(message)")
    }

    @Test func maskingFractionsReachTheTrainingRun() throws {
        let cfg = try PipelineConfig.resolve(preset: "demo", fileContents: nil, fileName: "",
                                             overrides: ["train.maskedImageFraction=1", "train.maskedPatchFraction=0.3"])
        let run = try cfg.trainingRun(cfg.runs[0], seed: 0, data: "synthetic", output: "train")
        #expect(run.train.maskedImageFraction == 1)
        #expect(run.train.maskedPatchFraction == 0.3)
        let preset = try PipelineConfig.resolve(preset: "demo", fileContents: nil, fileName: "", overrides: [])
        let presetRun = try preset.trainingRun(preset.runs[0], seed: 0, data: "synthetic", output: "train")
        #expect(presetRun.train.maskedImageFraction == 0.5 && presetRun.train.maskedPatchFraction == 0.5)
    }

    @Test func configFileValuesAreCheckedTheSameWay() {
        let cases: [(String, String)] = [
            (#"{"train": {"steps": 1e30}}"#, "train.steps = 1e+30 does not fit its type; must be an integer in 1...10000000"),
            (#"{"images": {"guidance": -2.5}}"#, "images.guidance = -2.5 is invalid: must be a finite number in 0...100"),
            (#"{"runs": [{"name": "a", "data": "synthetic", "objective": "synclr", "limit": 0, "extra": 1}]}"#, "unknown key 'runs[0].extra'"),
            (#"{"train": {"stpes": 3}}"#, "unknown key 'train.stpes'"),
            (#"{"trainSeeds": [1, 2.5]}"#, "trainSeeds[1] = 2.5 does not fit its type"),
            (#"[1, 2]"#, "bad.json: not a JSON object"),
            ("{\"train\": ", "bad.json: not a JSON object"),
        ]
        for (json, expected) in cases {
            let message = fileRefusal(json)
            #expect(message?.contains(expected) == true, "\(json): \(message ?? "accepted")")
        }
    }

    /// Fuzzing finding 4: `--set` with a key path of thousands of levels built as many nested
    /// objects, and bridging them overflowed the stack (a crash, not an error).
    @Test func deepOverrideKeyPathIsAnErrorNotAStackOverflow() {
        let deep = String(repeating: "a.", count: 30000) + "b=1"
        #expect(refusal([deep])?.contains("must name a key as key or section.key") == true)
        #expect(refusal(["train.steps.x=1"])?.contains("must name a key as key or section.key") == true)
        #expect(refusal(["=1"])?.contains("must name a key") == true)
        #expect(refusal(["train.steps"])?.contains("is not key.path=value") == true)
    }

    @Test func stageRecordsThatAreDamagedAreIgnored() {
        #expect(StageRecord.read(Data(#"{"hash": "ab", "status": "done", "seconds": 1.5}"#.utf8)) == StageRecord(hash: "ab", status: "done", seconds: 1.5))
        for bad in [#"{"hash": "ab", "status": "done", "seconds": -1}"#, #"{"hash": "ab", "status": "done"}"#, "[]", "", #"{"hash": 5}"#] {
            #expect(StageRecord.read(Data(bad.utf8)) == nil, "\(bad)")
        }
    }

    @Test func theCommandLineShowsTheSameError() throws {
        let r = try runSynclr(["pipeline", "--set", "train.lr=nan", "--show-config"])
        #expect(r.status != 0)
        #expect(r.output.contains("train.lr"), "\(r.output)")
        #expect(r.output.contains("(0, 10]"), "\(r.output)")
    }
}
