import ArgumentParser
import Foundation
import SynDiffusion
import SynTensor

/// `synclr diffusion evaluate`: conditional accuracy and Frechet distance of generated images.
struct DiffusionEvaluate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Score a text-to-image model with a classifier trained on real Fashion-MNIST.",
        discussion: """
            Trains a small CNN on the real training set (or loads OUT/classifier.safetensors), reports its \
            real test accuracy, then renders --per-caption images of every caption of --captions at each \
            --guidance (with `synclr images`' job, into OUT/guidance-G, resumable) and reports the fraction \
            classified as the caption's concept and the Frechet distance to the real test set in the \
            classifier's feature space. As a floor for the sample size, the distance of the same number of \
            real training images to the test set is reported too. Writes OUT/report.json.
            """)

    @Option(help: "Captions JSONL with `concept` fields (Fashion-MNIST classes), e.g. a held-out `synclr captions` run.")
    var captions: String
    @Option(help: "Output folder.") var out: String
    @Option(help: "UNet model file (default: the shipped model).") var model: String?
    @Option(help: "Comma-separated guidance scales.") var guidance: String = "1,2.5,4,7.5"
    @Option(help: "Images per caption.") var perCaption: Int = 4
    @Option(help: "Sampler steps.") var steps: Int = 50
    @Option(help: "Sampler: ddim, dpm++, euler or ddpm.") var sampler: String = "ddim"
    @Option(help: "Job seed.") var seed: UInt64 = 0
    @Option(help: "Classifier training epochs.") var classifierEpochs: Int = 4
    @Option(help: "Fashion-MNIST folder.") var fashionMnist: String?
    @Option(help: "Text encoder folder (default: the installed all-MiniLM-L6-v2).") var textEncoder: String?
    @OptionGroup var refinements: GuidanceOptions

    func run() async throws {
        let scales = guidance.split(separator: ",").compactMap { Float($0.trimmingCharacters(in: .whitespaces)) }
        guard !scales.isEmpty else { throw ValidationError("--guidance needs at least one number") }
        guard scales.allSatisfy({ $0.isFinite && $0 >= 0 }) else { throw ValidationError("--guidance scales must be finite numbers >= 0") }
        guard let samplerKind = SamplerKind(rawValue: sampler) else { throw ValidationError("unknown sampler '\(sampler)'") }
        let dir = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let root = fashionMnist.map { URL(fileURLWithPath: $0) }
        let train = try FashionMNISTImages.load(root: root, train: true)
        let test = try FashionMNISTImages.load(root: root, train: false)
        let toUnit: (Tensor) -> Tensor = { ($0 + 1) * 0.5 }
        let trainUnit = (toUnit(train.images), train.labels)
        let p = ProgressReporter(label: "classifier", total: nil, unit: "step")
        let (net, trained) = try GenerationEvaluation.classifier(at: dir.appendingPathComponent("classifier.safetensors"),
                                                                 train: trainUnit, epochs: classifierEpochs, seed: seed) { s, _ in
            p.update(completed: s)
        }
        p.finish()
        let real = net.predict(toUnit(test.images))
        let realAccuracy = GenerationEvaluation.accuracy(real.classes, test.labels)
        report(String(format: "evaluate: classifier %@, real test accuracy %.2f%% (%d images)", trained ? "trained" : "loaded",
                     realAccuracy * 100, test.labels.count))

        let records = try CaptionFile.read(URL(fileURLWithPath: captions))
        let modelURL = try model.map { URL(fileURLWithPath: $0) } ?? DefaultModel.url()
        let (unet, info) = try UNetCheckpoint.load(modelURL)
        let encoder = try MiniLMTextEncoder(directory: textEncoder.map { URL(fileURLWithPath: $0) } ?? MiniLMTextEncoder.defaultDirectory)
        let t2i = TextToImage(predictor: unet, config: info.config, encoder: encoder)
        let n = records.count * perCaption
        var g = RandomGenerator(seed: seed).derived("real-floor")
        let floorIdx = Array(g.permutation(train.labels.count).prefix(n))
        let floorFeatures = net.predict(toUnit(train.images.indexSelect(axis: 0, indices: floorIdx))).features
        let floor = try FrechetDistance.distance(floorFeatures, real.features)
        report(String(format: "evaluate: floor: %d real training images -> Frechet distance %.3f to the test set", n, floor))

        var scores: [GenerationScore] = []
        var base = ImageJobOptions(perCaption: perCaption, steps: steps, sampler: samplerKind, seed: seed, model: info.name)
        try refinements.apply(to: &base, recommended: info.sampling)
        for s in scales {
            let sub = dir.appendingPathComponent("guidance-\(s)")
            var options = base
            options.guidance = s
            let job = ImageJob(model: t2i, captions: records, options: options, directory: sub)
            let progress = ProgressReporter(label: "guidance \(s)", total: n, unit: "img")
            let summary = try job.run(progress: progress)
            progress.finish()
            let gen = try GenerationEvaluation.generatedImages(sub)
            let pred = net.predict(gen.images)
            var score = GenerationScore(guidance: s, images: gen.labels.count,
                                        accuracy: GenerationEvaluation.accuracy(pred.classes, gen.labels),
                                        frechetDistance: try FrechetDistance.distance(pred.features, real.features))
            score.tally(predicted: pred.classes, labels: gen.labels)
            try GenerationEvaluation.writePredictions(sub, paths: gen.paths, labels: gen.labels, predicted: pred.classes)
            scores.append(score)
            let names = FashionMNISTImages.classNames
            report("evaluate:   confusion (rows: caption class, columns: predicted " + names.map { String($0.prefix(5)) }.joined(separator: " ") + ")")
            for (c, row) in score.confusion.enumerated() where row.reduce(0, +) > 0 {
                report("evaluate:   " + names[c].padding(toLength: 12, withPad: " ", startingAt: 0) + row.map { String(format: "%5d", $0) }.joined(separator: " "))
            }
            report(String(format: "evaluate: guidance %.1f%@: %d images (%d rendered in %.1f s), accuracy %.2f%%, Frechet distance %.3f",
                         s, GuidanceOptions.describe(options), score.images, summary.written, summary.seconds, score.accuracy * 100, score.frechetDistance))
        }
        struct EvaluationReport: Codable {
            var model: String
            var captions: String
            var perCaption: Int
            var steps: Int
            var sampler: String
            var seed: UInt64
            var guidanceRescale: Float
            var guidanceInterval: ClosedRange<Float>?
            var classifierTestAccuracy: Double
            var realFloorFrechetDistance: Double
            var scores: [GenerationScore]
        }
        let summary = EvaluationReport(model: modelURL.lastPathComponent, captions: URL(fileURLWithPath: captions).lastPathComponent,
                            perCaption: perCaption, steps: steps, sampler: samplerKind.rawValue, seed: seed,
                            guidanceRescale: base.guidanceRescale, guidanceInterval: base.guidanceInterval,
                            classifierTestAccuracy: realAccuracy, realFloorFrechetDistance: floor, scores: scores)
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try enc.encode(summary).write(to: dir.appendingPathComponent("report.json"), options: .atomic)
        report("| guidance | images | conditional accuracy | Frechet distance |")
        report("|---|---|---|---|")
        for s in scores {
            report(String(format: "| %.1f | %d | %.1f%% | %.2f |", s.guidance, s.images, s.accuracy * 100, s.frechetDistance))
        }
        report(String(format: "| real (train subset) | %d | %.1f%% (classifier on test) | %.2f |", n, realAccuracy * 100, floor))
    }
}
