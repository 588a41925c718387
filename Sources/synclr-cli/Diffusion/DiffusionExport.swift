import ArgumentParser
import Foundation
import SynDiffusion

/// `synclr diffusion export`: a model file from a training checkpoint (e.g. to look at a run in progress).
struct DiffusionExport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the EMA weights of a training checkpoint as a model file for `synclr images --model`.",
        discussion: """
            --checkpoint may also be a model file (e.g. a finished run's model.safetensors): it is rewritten \
            with the same weights and metadata and the given sampling recommendation.
            """)

    @Option(help: "checkpoint.safetensors written by `synclr diffusion train`, or a model file.") var checkpoint: String
    @Option(help: "Output model file.") var out: String
    @Option(help: "Model name recorded in manifests.") var name: String = "synclr-fashion-unet"
    @Option(help: "Name of the text encoder the run used.") var textEncoder: String = "all-MiniLM-L6-v2"
    @Option(help: "Which weights: ema (the moving average) or model (the optimized weights).") var weights: String = "ema"
    @Option(help: "Guidance rescale weight the model file recommends to `synclr images` (0...1).") var guidanceRescale: Float = 0
    @Option(help: "Guidance interval LO,HI (training timesteps) the model file recommends, or `all`.") var guidanceInterval: String = "all"

    func run() async throws {
        guard weights == "ema" || weights == "model" else { throw ValidationError("--weights must be ema or model") }
        let interval = try GuidanceOptions.interval(guidanceInterval, flag: "--guidance-interval").range
        let sampling = guidanceRescale == 0 && interval == nil
            ? nil : SamplingRecommendation(guidanceRescale: guidanceRescale, guidanceInterval: interval)
        if let p = sampling?.problems.first { throw ValidationError(p) }
        let source = URL(fileURLWithPath: checkpoint)
        if var info = try? UNetCheckpoint.info(source) {
            let (unet, _) = try UNetCheckpoint.load(source)
            info.sampling = sampling
            try UNetCheckpoint.save(unet, info: info, to: URL(fileURLWithPath: out))
            report("export: model file \(checkpoint) -> \(out) with sampling recommendation \(sampling.map { "rescale \($0.guidanceRescale), interval \($0.guidanceInterval.map { "\($0)" } ?? "all")" } ?? "none")")
            return
        }
        let info = try exportWeights(checkpoint: source, to: URL(fileURLWithPath: out), name: name,
                                     textEncoder: textEncoder, ema: weights == "ema", sampling: sampling)
        report("export: \(weights) weights at step \(info.extra["train_steps"] ?? "?") of \(checkpoint) -> \(out)")
    }
}
