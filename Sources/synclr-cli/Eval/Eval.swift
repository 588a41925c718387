import ArgumentParser
import Foundation
import SynRep
import SynTensor

/// `synclr eval`: kNN and linear-probe accuracy of frozen features on real labeled data.
struct Eval: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure features with a weighted kNN (k = 20) and a logistic-regression linear probe on real data.")

    @Option(help: "model.safetensors from `synclr train`, a PyTorch .pth of a timm-style ViT, or raw-pixels, or random.") var checkpoint: String
    @Option(help: "fashion-mnist (real train/test splits), fashion-mnist:val (10,000 training images held out as the test set, for choosing recipes) or an ImageFolder root (train/ and test/ subfolders, or one folder split 80/20).")
    var dataset: String = "fashion-mnist"
    @Option(help: "Model preset for --checkpoint random (default vit-nano32); for a .pth, the architecture whose heads to use.") var model: String?
    @OptionGroup var torch: TorchCheckpointOptions
    @Option(help: "Input channels for raw-pixels / random.") var channels: Int = 1
    @Option(help: "Fit on at most N class-balanced training images (0: all).") var trainLimit: Int = 0
    @Option(help: "Neighbours for kNN.") var k: Int = 20
    @Option(help: "Regularization values swept by the linear probe (log-spaced 1e-6..1e5).") var probeGrid: Int = 12
    @Flag(help: "Print the report as JSON (keys knn_top1, linear_top1, linear_mean_per_class; percentages).") var json = false
    @Option(help: "Also write the JSON report to this file.") var out: String?
    @Option(help: "Random seed (splits, random init).") var seed: UInt64 = 0

    /// The library configuration these arguments describe.
    var configuration: EvaluationConfiguration {
        let features: EvaluationConfiguration.Features
        switch checkpoint {
        case "raw-pixels": features = .rawPixels
        case "random": features = .random(model: model ?? "vit-nano32")
        default: features = .checkpoint(checkpoint)
        }
        return EvaluationConfiguration(features: features, dataset: dataset, channels: channels, trainLimit: trainLimit, k: k,
                                       probeGrid: probeGrid, seed: seed)
    }

    func run() async throws {
        var config = configuration
        if case .checkpoint = config.features { config.torch = try torch.options(model: model) }
        let lock = try out.map { try OutputLock.file(URL(fileURLWithPath: $0), job: "synclr eval") }
        defer { lock?.release() }
        let report = try Self.execute(config)
        let text = json ? try report.json() : report.text
        print(text)
        if let out { try Data(try report.json().utf8).write(to: URL(fileURLWithPath: out), options: .atomic) }
    }

    /// Evaluates `config`, its summary line on standard error (also the pipeline's evaluation stage).
    static func execute(_ config: EvaluationConfiguration) throws -> EvaluationReport {
        try config.run { Output.note($0) }
    }
}
