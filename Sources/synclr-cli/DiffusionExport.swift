import ArgumentParser
import Foundation
import SynDiffusion

/// `synclr diffusion export`: a model file from a training checkpoint (e.g. to look at a run in progress).
struct DiffusionExport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the EMA weights of a training checkpoint as a model file for `synclr images --model`.")

    @Option(help: "checkpoint.safetensors written by `synclr diffusion train`.") var checkpoint: String
    @Option(help: "Output model file.") var out: String
    @Option(help: "Model name recorded in manifests.") var name: String = "synclr-fashion-unet"
    @Option(help: "Name of the text encoder the run used.") var textEncoder: String = "all-MiniLM-L6-v2"
    @Option(help: "Which weights: ema (the moving average) or model (the optimized weights).") var weights: String = "ema"
    @Option(help: "Guidance rescale weight the model file recommends to `synclr images` (0...1).") var guidanceRescale: Float = 0
    @Option(help: "Guidance interval LO,HI (training timesteps) the model file recommends, or `all`.") var guidanceInterval: String = "all"

    func run() async throws {
        guard weights == "ema" || weights == "model" else { throw ValidationError("--weights must be ema or model") }
        let interval = try GuidanceOptions.interval(guidanceInterval, flag: "--guidance-interval")
        let sampling = guidanceRescale == 0 && interval == nil
            ? nil : SamplingRecommendation(guidanceRescale: guidanceRescale, guidanceInterval: interval)
        if let p = sampling?.problems.first { throw ValidationError(p) }
        let info = try exportWeights(checkpoint: URL(fileURLWithPath: checkpoint), to: URL(fileURLWithPath: out), name: name,
                                     textEncoder: textEncoder, ema: weights == "ema", sampling: sampling)
        report("export: \(weights) weights at step \(info.extra["train_steps"] ?? "?") of \(checkpoint) -> \(out)")
    }
}
