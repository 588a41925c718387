import Foundation
import SynCaption
import SynDiffusion
import SynRep
import SynTensor

/// The allowed values of every key of a pipeline configuration, and the check that holds a
/// configuration to them before any stage starts (a bad `train.steps` is an answer at once, not
/// after hours of captions and images).
extension PipelineConfig {
    /// Upper bounds: far above any run of this project, low enough that products such as
    /// captions x images per caption, or a batch of crops, cannot overflow or ask for terabytes.
    enum Limits {
        static let count = 1_000_000_000
        static let steps = 10_000_000
        static let perCaption = 1000
        static let samplerSteps = 1000
        static let guidance: Float = 100
        static let timestep: Float = 10000
        static let size = 4096
        static let batchCaptions = 65536
        static let imagesPerCaption = 1024
        static let localCrops = 64
        static let learningRate: Float = 10
        static let prototypes = 65536
        static let temperature: Float = 10
        static let ibotWeight: Float = 100
        static let trainSeeds = 1000
        static let runs = 100
        static let baselines = 16
        static let probeGrid = 100
        static let nameLength = 64
    }

    /// What each key accepts, as the error messages state it (`runs[]` stands for every run).
    static let allowed: [String: String] = [
        "seed": "an integer in 0...18446744073709551615",
        "trainSeeds": "a list of 1...\(Limits.trainSeeds) distinct integers in 0...18446744073709551615",
        "captions": "an object (see --show-config)",
        "captions.concepts": "a non-empty concept list spec such as fashion-mnist",
        "captions.count": "an integer in 1...\(Limits.count)",
        "captions.backend": "one of native, template, openai",
        "captions.url": "a non-empty server root such as http://127.0.0.1:8080 (openai backend), or null",
        "captions.llmModel": "a non-empty GGUF file (native) or model name (openai), or null",
        "images": "an object (see --show-config)",
        "images.perCaption": "an integer in 1...\(Limits.perCaption)",
        "images.guidance": "a finite number in 0...\(Int(Limits.guidance))",
        "images.guidanceRescale": "a number in 0...1, or null (the model's recommendation)",
        "images.guidanceInterval": "[] (all steps), [lo, hi] with 0 <= lo <= hi <= \(Int(Limits.timestep)), or null (the model's recommendation)",
        "images.steps": "an integer in 1...\(Limits.samplerSteps)",
        "images.sampler": "one of " + SamplerKind.allCases.map(\.rawValue).joined(separator: ", "),
        "images.model": "a non-empty path, or null (the shipped model)",
        "images.size": "an integer in 8...\(Limits.size), or null (the model's native size)",
        "images.modelConfig": "a non-empty path, or null",
        "images.predictionType": "epsilon, v_prediction or null",
        "runs": "a list of 1...\(Limits.runs) runs with distinct names",
        "runs[]": "an object with name, data, objective, groupBy and limit",
        "runs[].name": "1...\(Limits.nameLength) characters of A-Z a-z 0-9 . _ - not starting with '.' (it names a folder)",
        "runs[].data": "synthetic or a non-empty data spec such as fashion-mnist",
        "runs[].objective": "one of " + Objective.allCases.map(\.rawValue).joined(separator: ", "),
        "runs[].groupBy": "one of " + Grouping.allCases.map(\.rawValue).joined(separator: ", ") + ", or null (the data's default)",
        "runs[].limit": "an integer in 0...\(Limits.count) (0: all images)",
        "train": "an object (see --show-config)",
        "train.model": "one of " + ViTConfig.presets.keys.sorted().joined(separator: ", "),
        "train.steps": "an integer in 1...\(Limits.steps)",
        "train.batchCaptions": "an integer in 1...\(Limits.batchCaptions)",
        "train.imagesPerCaption": "an integer in 1...\(Limits.imagesPerCaption) (at least 2 for the synclr and stablerep objectives)",
        "train.localCrops": "an integer in 0...\(Limits.localCrops)",
        "train.localSize": "a multiple of the model's patch size from the patch size to the model's image size",
        "train.lr": "a finite number in (0, \(Int(Limits.learningRate))]",
        "train.warmup": "an integer in 0...\(Limits.steps)",
        "train.prototypes": "an integer in 1...\(Limits.prototypes)",
        "train.temperature": "a finite number in (0, \(Int(Limits.temperature))]",
        "train.ibotWeight": "a finite number in 0...\(Int(Limits.ibotWeight))",
        "train.maskedImageFraction": "a number in 0...1",
        "train.maskedPatchFraction": "a number in 0...1",
        "train.emaMomentum": "a number in 0...1",
        "train.augmentation": "one of " + AugmentationStrength.allCases.map(\.rawValue).joined(separator: ", "),
        "train.globalScale": "a number in (0, 1]",
        "train.initialization": "one of " + ViTInitialization.allCases.map(\.rawValue).joined(separator: ", "),
        "train.checkpointEvery": "an integer in 0...\(Limits.steps) (0: only at the end)",
        "eval": "an object (see --show-config)",
        "eval.dataset": "a non-empty dataset spec such as fashion-mnist",
        "eval.trainLimit": "an integer in 0...\(Limits.count) (0: all)",
        "eval.baselines": "a list of at most \(Limits.baselines) distinct baselines: raw-pixels, random or a model file",
        "eval.probeGrid": "an integer in 1...\(Limits.probeGrid)",
    ]

    /// The allowed values of `key` ("runs[2].limit" reads as "runs[].limit"; a list element as its list).
    static func allowedValues(for key: String) -> String? {
        let general = key.replacingOccurrences(of: #"\[[0-9]+\]"#, with: "[]", options: .regularExpression)
        if let text = allowed[general] { return text }
        if general.hasSuffix("[]") { return allowed[String(general.dropLast(2))] }
        return nil
    }

    /// Throws `PipelineError.badConfig` naming the first key outside its allowed values
    /// ("train.steps = 0 is invalid: must be an integer in 1...10000000"), then builds every
    /// stage's library configuration and runs the libraries' own checks on it.
    public func validate() throws {
        func need(_ ok: Bool, _ key: String, _ value: @autoclosure () -> Any) throws {
            guard !ok else { return }
            throw PipelineError.badConfig("\(key) = \(value()) is invalid: must be \(Self.allowedValues(for: key) ?? "a valid value")")
        }
        func within(_ v: Int, _ range: ClosedRange<Int>) -> Bool { range.contains(v) }
        func within(_ v: Float, _ range: ClosedRange<Float>) -> Bool { v.isFinite && range.contains(v) }
        func positive(_ v: Float, upTo hi: Float) -> Bool { v.isFinite && v > 0 && v <= hi }
        func nonEmpty(_ s: String?) -> Bool { s.map { !$0.trimmingCharacters(in: .whitespaces).isEmpty } ?? true }

        try need(!trainSeeds.isEmpty && trainSeeds.count <= Limits.trainSeeds && Set(trainSeeds).count == trainSeeds.count,
                 "trainSeeds", trainSeeds.count > 8 ? "[\(trainSeeds.count) seeds]" : "\(trainSeeds)")

        try need(nonEmpty(captions.concepts) && !captions.concepts.isEmpty, "captions.concepts", "'\(captions.concepts)'")
        try need(within(captions.count, 1...Limits.count), "captions.count", captions.count)
        try need(CaptionBackendConfiguration.Kind(rawValue: captions.backend) != nil, "captions.backend", "'\(captions.backend)'")
        try need(nonEmpty(captions.url), "captions.url", "'\(captions.url ?? "")'")
        try need(nonEmpty(captions.llmModel), "captions.llmModel", "'\(captions.llmModel ?? "")'")

        try need(within(images.perCaption, 1...Limits.perCaption), "images.perCaption", images.perCaption)
        try need(within(images.guidance, 0...Limits.guidance), "images.guidance", images.guidance)
        if let r = images.guidanceRescale { try need(within(r, 0...1), "images.guidanceRescale", r) }
        if let v = images.guidanceInterval {
            try need(v.isEmpty || (v.count == 2 && within(v[0], 0...Limits.timestep) && within(v[1], 0...Limits.timestep) && v[0] <= v[1]),
                     "images.guidanceInterval", v)
        }
        try need(within(images.steps, 1...Limits.samplerSteps), "images.steps", images.steps)
        try need(SamplerKind(rawValue: images.sampler) != nil, "images.sampler", "'\(images.sampler)'")
        try need(nonEmpty(images.model), "images.model", "'\(images.model ?? "")'")
        if let size = images.size { try need(within(size, 8...Limits.size), "images.size", size) }
        try need(nonEmpty(images.modelConfig), "images.modelConfig", "'\(images.modelConfig ?? "")'")
        if let p = images.predictionType { try need(PredictionType(rawValue: p) != nil, "images.predictionType", "'\(p)'") }

        try need(!runs.isEmpty && runs.count <= Limits.runs && Set(runs.map(\.name)).count == runs.count, "runs",
                 runs.count > 8 ? "[\(runs.count) runs]" : "\(runs.map(\.name))")
        let nameCharacters = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
        for (i, run) in runs.enumerated() {
            try need(!run.name.isEmpty && run.name.count <= Limits.nameLength && !run.name.hasPrefix(".")
                     && run.name.allSatisfy(nameCharacters.contains), "runs[\(i)].name", "'\(run.name)'")
            try need(nonEmpty(run.data) && !run.data.isEmpty, "runs[\(i)].data", "'\(run.data)'")
            try need(Objective(rawValue: run.objective) != nil, "runs[\(i)].objective", "'\(run.objective)'")
            if let g = run.groupBy { try need(Grouping(rawValue: g) != nil, "runs[\(i)].groupBy", "'\(g)'") }
            try need(within(run.limit, 0...Limits.count), "runs[\(i)].limit", run.limit)
        }

        let vit = ViTConfig.presets[train.model]
        try need(vit != nil, "train.model", "'\(train.model)'")
        try need(within(train.steps, 1...Limits.steps), "train.steps", train.steps)
        try need(within(train.batchCaptions, 1...Limits.batchCaptions), "train.batchCaptions", train.batchCaptions)
        try need(within(train.imagesPerCaption, 1...Limits.imagesPerCaption), "train.imagesPerCaption", train.imagesPerCaption)
        if let i = runs.firstIndex(where: { $0.objective == "synclr" || $0.objective == "stablerep" }) {
            // Each image needs another image of its caption as a positive.
            try need(train.imagesPerCaption >= 2, "train.imagesPerCaption", "\(train.imagesPerCaption) (runs[\(i)] uses \(runs[i].objective))")
        }
        try need(within(train.localCrops, 0...Limits.localCrops), "train.localCrops", train.localCrops)
        if let vit {
            try need(train.localSize >= vit.patchSize && train.localSize <= vit.imageSize && train.localSize % vit.patchSize == 0,
                     "train.localSize", "\(train.localSize) (\(train.model): patch \(vit.patchSize), image \(vit.imageSize))")
        }
        try need(positive(train.lr, upTo: Limits.learningRate), "train.lr", train.lr)
        try need(within(train.warmup, 0...Limits.steps), "train.warmup", train.warmup)
        try need(within(train.prototypes, 1...Limits.prototypes), "train.prototypes", train.prototypes)
        try need(positive(train.temperature, upTo: Limits.temperature), "train.temperature", train.temperature)
        try need(within(train.ibotWeight, 0...Limits.ibotWeight), "train.ibotWeight", train.ibotWeight)
        try need(within(train.maskedImageFraction, 0...1), "train.maskedImageFraction", train.maskedImageFraction)
        try need(within(train.maskedPatchFraction, 0...1), "train.maskedPatchFraction", train.maskedPatchFraction)
        try need(within(train.emaMomentum, 0...1), "train.emaMomentum", train.emaMomentum)
        try need(AugmentationStrength(rawValue: train.augmentation) != nil, "train.augmentation", "'\(train.augmentation)'")
        try need(positive(train.globalScale, upTo: 1), "train.globalScale", train.globalScale)
        try need(ViTInitialization(rawValue: train.initialization) != nil, "train.initialization", "'\(train.initialization)'")
        try need(within(train.checkpointEvery, 0...Limits.steps), "train.checkpointEvery", train.checkpointEvery)

        try need(nonEmpty(eval.dataset) && !eval.dataset.isEmpty, "eval.dataset", "'\(eval.dataset)'")
        try need(within(eval.trainLimit, 0...Limits.count), "eval.trainLimit", eval.trainLimit)
        try need(eval.baselines.count <= Limits.baselines && Set(eval.baselines).count == eval.baselines.count
                 && eval.baselines.allSatisfy { nonEmpty($0) && !$0.isEmpty }, "eval.baselines",
                 eval.baselines.count > 8 ? "[\(eval.baselines.count) baselines]" : "\(eval.baselines)")
        try need(within(eval.probeGrid, 1...Limits.probeGrid), "eval.probeGrid", eval.probeGrid)

        // The libraries' own checks on the values each stage will get (the pipeline's ranges
        // above are within theirs, so these catch combinations only).
        do {
            let captionsJob = try captionsJob(output: "captions.jsonl")
            if let problem = captionsJob.backend.problems.first { throw PipelineError.badConfig("captions: " + problem) }
            _ = try imageJob(captions: "captions.jsonl", output: "images")
            for (i, run) in runs.enumerated() {
                let stage = try trainingRun(run, seed: trainSeeds[0], data: run.data, output: "train")
                var c = stage.train
                c.model.channels = stage.channels
                c.mean = Array(repeating: 0.5, count: stage.channels)
                c.std = Array(repeating: 0.5, count: stage.channels)
                do { try c.validate() } catch { throw PipelineError.badConfig("runs[\(i)] (\(run.name)): train: \(error)") }
            }
        } catch let error as PipelineError {
            throw error
        } catch {
            throw PipelineError.badConfig("\(error)")
        }
    }
}
