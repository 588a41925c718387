import Foundation
import SynTensor

/// What `GenerationEvaluation.run` measured (written as OUT/report.json).
public struct GenerationReport: Codable, Sendable {
    /// Model file name.
    public var model: String
    /// Captions file name.
    public var captions: String
    /// Images per caption.
    public var perCaption: Int
    /// Sampler steps.
    public var steps: Int
    /// Sampler name.
    public var sampler: String
    /// Job seed.
    public var seed: UInt64
    /// Guidance rescale weight in effect.
    public var guidanceRescale: Float
    /// Guidance interval in effect (nil: all steps).
    public var guidanceInterval: ClosedRange<Float>?
    /// The judge's accuracy on the real test set.
    public var classifierTestAccuracy: Double
    /// Frechet distance of as many real training images as were generated (the floor for the sample size).
    public var realFloorFrechetDistance: Double
    /// One score per guidance scale.
    public var scores: [GenerationScore]
}

/// The diffusion evaluation as one call (`synclr diffusion evaluate`): a classifier trained on real
/// Fashion-MNIST judges images rendered at each guidance scale.
public struct GenerationEvaluationConfiguration: Codable, Sendable, Hashable {
    /// Captions JSONL with Fashion-MNIST `concept`s.
    public var captions: String
    /// Output folder (classifier, one image job per scale, report.json).
    public var output: String
    /// Model and text encoder.
    public var models: ModelSelection
    /// Guidance scales to render; the refinements of `guidance` apply to each (its own scale is unused).
    public var scales: [Float]
    /// Guidance refinements.
    public var guidance: GuidanceSettings
    /// Images per caption.
    public var perCaption: Int
    /// Sampler steps.
    public var steps: Int
    /// Sampler.
    public var sampler: SamplerKind
    /// Job seed.
    public var seed: UInt64
    /// Classifier training epochs.
    public var classifierEpochs: Int
    /// Fashion-MNIST folder (nil: the installed dataset).
    public var fashionMNIST: String?

    /// A configuration.
    public init(captions: String, output: String, models: ModelSelection = ModelSelection(), scales: [Float] = [1, 2.5, 4, 7.5],
                guidance: GuidanceSettings = GuidanceSettings(), perCaption: Int = 4, steps: Int = 50, sampler: SamplerKind = .ddim,
                seed: UInt64 = 0, classifierEpochs: Int = 4, fashionMNIST: String? = nil) {
        self.captions = captions
        self.output = output
        self.models = models
        self.scales = scales
        self.guidance = guidance
        self.perCaption = perCaption
        self.steps = steps
        self.sampler = sampler
        self.seed = seed
        self.classifierEpochs = classifierEpochs
        self.fashionMNIST = fashionMNIST
    }
}

extension GenerationEvaluation {
    /// Runs the evaluation of `config`, logging each result line through `log`; writes OUT/report.json
    /// and returns it. Image jobs resume; a saved classifier is reused.
    public static func run(_ config: GenerationEvaluationConfiguration, log: (String) -> Void) throws -> GenerationReport {
        guard !config.scales.isEmpty else { throw DiffusionError.invalidParameter("`scales` needs at least one number") }
        guard config.scales.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
            throw DiffusionError.invalidParameter("`scales` must be finite numbers >= 0")
        }
        let dir = URL(fileURLWithPath: config.output)
        let records = try CaptionsFile.read(URL(fileURLWithPath: config.captions))
        let (t2i, info, modelURL) = try config.models.load()
        // Refinements are resolved (and validated) once, before the judge is trained.
        let base = try config.guidance.resolved(ImageJobOptions(perCaption: config.perCaption, steps: config.steps, sampler: config.sampler,
                                                                seed: config.seed, model: info.name),
                                                recommended: info.sampling)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let root = config.fashionMNIST.map { URL(fileURLWithPath: $0) }
        let train = try FashionMNISTImages.load(root: root, train: true)
        let test = try FashionMNISTImages.load(root: root, train: false)
        let toUnit: (Tensor) -> Tensor = { ($0 + 1) * 0.5 }
        let p = ProgressReporter(label: "classifier", total: nil, unit: "step")
        let (net, trained) = try classifier(at: dir.appendingPathComponent("classifier.safetensors"), train: (toUnit(train.images), train.labels),
                                            epochs: config.classifierEpochs, seed: config.seed) { s, _ in p.update(completed: s) }
        p.finish()
        let real = net.predict(toUnit(test.images))
        let realAccuracy = accuracy(real.classes, test.labels)
        log(String(format: "evaluate: classifier %@, real test accuracy %.2f%% (%d images)", trained ? "trained" : "loaded",
                   realAccuracy * 100, test.labels.count))

        let n = records.count * config.perCaption
        var g = RandomGenerator(seed: config.seed).derived("real-floor")
        let floorIdx = Array(g.permutation(train.labels.count).prefix(n))
        let floorFeatures = net.predict(toUnit(train.images.indexSelect(axis: 0, indices: floorIdx))).features
        let floor = try FrechetDistance.distance(floorFeatures, real.features)
        log(String(format: "evaluate: floor: %d real training images -> Frechet distance %.3f to the test set", n, floor))

        var scores: [GenerationScore] = []
        for s in config.scales {
            let sub = dir.appendingPathComponent("guidance-\(s)")
            var options = base
            options.guidance = s
            let job = ImageJob(model: t2i, captions: records, options: options, directory: sub)
            let progress = ProgressReporter(label: "guidance \(s)", total: n, unit: "img")
            let summary = try job.run(progress: progress)
            progress.finish()
            let gen = try generatedImages(sub)
            let pred = net.predict(gen.images)
            var score = GenerationScore(guidance: s, images: gen.labels.count, accuracy: accuracy(pred.classes, gen.labels),
                                        frechetDistance: try FrechetDistance.distance(pred.features, real.features))
            score.tally(predicted: pred.classes, labels: gen.labels)
            try writePredictions(sub, paths: gen.paths, labels: gen.labels, predicted: pred.classes)
            scores.append(score)
            let names = FashionMNISTImages.classNames
            log("evaluate:   confusion (rows: caption class, columns: predicted " + names.map { String($0.prefix(5)) }.joined(separator: " ") + ")")
            for (c, row) in score.confusion.enumerated() where row.reduce(0, +) > 0 {
                log("evaluate:   " + names[c].padding(toLength: 12, withPad: " ", startingAt: 0) + row.map { String(format: "%5d", $0) }.joined(separator: " "))
            }
            log(String(format: "evaluate: guidance %.1f%@: %d images (%d rendered in %.1f s), accuracy %.2f%%, Frechet distance %.3f",
                       s, options.refinementsSummary, score.images, summary.written, summary.seconds, score.accuracy * 100, score.frechetDistance))
        }
        let report = GenerationReport(model: modelURL.lastPathComponent, captions: URL(fileURLWithPath: config.captions).lastPathComponent,
                                      perCaption: config.perCaption, steps: config.steps, sampler: config.sampler.rawValue, seed: config.seed,
                                      guidanceRescale: base.guidanceRescale, guidanceInterval: base.guidanceInterval,
                                      classifierTestAccuracy: realAccuracy, realFloorFrechetDistance: floor, scores: scores)
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try enc.encode(report).write(to: dir.appendingPathComponent("report.json"), options: .atomic)
        log("| guidance | images | conditional accuracy | Frechet distance |")
        log("|---|---|---|---|")
        for s in scores {
            log(String(format: "| %.1f | %d | %.1f%% | %.2f |", s.guidance, s.images, s.accuracy * 100, s.frechetDistance))
        }
        log(String(format: "| real (train subset) | %d | %.1f%% (classifier on test) | %.2f |", n, realAccuracy * 100, floor))
        return report
    }
}
