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
        let config = GenerationEvaluationConfiguration(
            captions: captions, output: out, models: ModelSelection(model: model, textEncoder: textEncoder), scales: scales,
            guidance: try refinements.settings(scale: scales.first ?? 1), perCaption: perCaption, steps: steps,
            sampler: try SamplerKind.named(sampler), seed: seed, classifierEpochs: classifierEpochs, fashionMNIST: fashionMnist)
        _ = try GenerationEvaluation.run(config, log: report)
    }
}
