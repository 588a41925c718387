import ArgumentParser
import Foundation
import SynRep
import SynTensor

/// `synclr eval`: kNN and linear-probe accuracy of frozen features on real labeled data.
struct Eval: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure features with a weighted kNN (k = 20) and a logistic-regression linear probe on real data.")

    @Option(help: "model.safetensors from `synclr train`, or raw-pixels, or random.") var checkpoint: String
    @Option(help: "fashion-mnist (real train/test splits) or an ImageFolder root (train/ and test/ subfolders, or one folder split 80/20).")
    var dataset: String = "fashion-mnist"
    @Option(help: "Model preset for --checkpoint random.") var model: String = "vit-nano32"
    @Option(help: "Input channels for raw-pixels / random.") var channels: Int = 1
    @Option(help: "Fit on at most N class-balanced training images (0: all).") var trainLimit: Int = 0
    @Option(help: "Neighbours for kNN.") var k: Int = 20
    @Option(help: "Regularization values swept by the linear probe (log-spaced 1e-6..1e5).") var probeGrid: Int = 12
    @Flag(help: "Print the report as JSON (keys knn_top1, linear_top1, linear_mean_per_class; percentages).") var json = false
    @Option(help: "Also write the JSON report to this file.") var out: String?
    @Option(help: "Random seed (splits, random init).") var seed: UInt64 = 0

    func run() async throws {
        let report = try evaluate()
        let text = json ? try report.json() : report.text
        print(text)
        if let out { try Data(try report.json().utf8).write(to: URL(fileURLWithPath: out), options: .atomic) }
    }

    func evaluate() throws -> EvaluationReport {
        let start = Date()
        let name: String
        var backbone: LoadedBackbone? = nil
        var size = 32, ch = channels
        switch checkpoint {
        case "raw-pixels":
            name = "raw pixels"
        case "random":
            guard let vit = ViTConfig.presets[model] else { throw ValidationError("unknown model preset '\(model)'") }
            let card = ModelCard(imageSize: vit.imageSize, channels: channels, patchSize: vit.patchSize, width: vit.width,
                                 depth: vit.depth, heads: vit.heads, mlpRatio: vit.mlpRatio,
                                 mean: Array(repeating: 0.5, count: channels), std: Array(repeating: 0.5, count: channels), objective: "random")
            backbone = try randomBackbone(card, seed: seed)
            size = vit.imageSize
            name = "random \(model)"
        default:
            let b = try loadBackbone(URL(fileURLWithPath: checkpoint))
            backbone = b
            size = b.card.imageSize
            ch = b.card.channels
            name = "\(b.card.objective) (\(checkpoint))"
        }
        let splits = try loadEvaluationSplits(dataset, channels: ch, size: size, trainLimit: trainLimit > 0 ? trainLimit : nil, seed: seed)
        func features(_ set: ImageSet) -> Tensor {
            if let backbone { return extractFeatures(backbone, images: set) }
            return RawPixelBaseline.features(set.tensor(mean: Array(repeating: 0, count: ch), std: Array(repeating: 1, count: ch)))
        }
        let train = try LabeledFeatures(features: features(splits.train), labels: splits.train.labels)
        let test = try LabeledFeatures(features: features(splits.test), labels: splits.test.labels)
        var probe = LinearProbeConfig()
        probe.regularizationGrid = LinearProbeConfig.logSpaced(from: 1e-6, to: 1e5, count: probeGrid)
        probe.seed = seed
        let reporter = ProgressReporter(label: "linear probe", total: nil, unit: "fit")
        let report = try Evaluation.run(train: train, test: test, name: name, knn: KNNConfig(k: k), linear: probe) { _ in
            reporter.advance()
        }
        reporter.finish()
        FileHandle.standardError.write(Data(String(format: "eval: %@ on %@ (%d train / %d test) in %.1f s\n", name, dataset,
                                                   splits.train.count, splits.test.count, Date().timeIntervalSince(start)).utf8))
        return report
    }
}
