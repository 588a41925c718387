import ArgumentParser
import Foundation
import SynPipeline
import SynTensor

/// The one place where library terms become this tool's flags. Library errors name the parameter
/// or configuration field at fault in backticks (`perCaption must be at least 1` with the name
/// quoted) or, for range errors, in `ParameterError.parameter`; a name listed here is shown as its
/// flag (--per-caption). Pipeline errors keep the library names, which are also its configuration keys.
enum FlagNames {
    /// Library parameter -> flag, for every parameter a library error can name.
    static let flags: [String: String] = [
        "count": "--count", "concepts": "--concepts", "overwrite": "--overwrite", "perConcept": "--per-concept",
        "kindWeights": "--kind-weights", "backgrounds": "--backgrounds", "url": "--url", "model": "--model",
        "backend": "--backend", "llmBatch": "--llm-batch", "concurrency": "--concurrency", "timeout": "--timeout",
        "retries": "--retries", "perCaption": "--per-caption", "guidance": "--guidance", "steps": "--steps",
        "guidanceRescale": "--guidance-rescale", "dynamicThreshold": "--dynamic-threshold", "shard": "--shard",
        "sampler": "--sampler", "scales": "--guidance", "output": "--out", "init": "--init", "resume": "--resume",
        "fashionMNIST": "--fashion-mnist", "objective": "--objective", "grouping": "--group-by",
        "size": "--size", "textEncoder": "--text-encoder", "modelConfig": "--model-config", "predictionType": "--prediction-type",
        "augmentation": "--augmentation", "globalCropScale": "--global-scale", "initialization": "--initialization",
        "groupsPerBatch": "--batch-captions", "imagesPerGroup": "--images-per-caption", "localCrops": "--local-crops",
        "localSize": "--local-size", "learningRate": "--lr", "warmupSteps": "--warmup", "ibotPrototypes": "--prototypes",
        "ibotWeight": "--ibot-weight", "emaMomentum": "--ema-momentum", "maskedImageFraction": "--masked-image-fraction",
        "maskedPatchFraction": "--masked-patch-fraction", "checkpointEvery": "--checkpoint-every",
        "weightDecay": "--weight-decay", "finalWeightDecay": "--final-weight-decay", "temperature": "--temperature",
    ]

    /// `message` with every quoted library name that has a flag replaced by the flag.
    static func cli(_ message: String) -> String {
        var out = message
        for (name, flag) in flags where out.contains("`\(name)`") {
            out = out.replacingOccurrences(of: "`\(name)`", with: flag)
        }
        return out
    }

    /// `error` as the command line reports it: library errors in flag terms, others unchanged.
    static func map(_ error: any Error) -> any Error {
        if error is ExitCode || error is CleanExit || error is ValidationError || error is PipelineError { return error }
        if let p = error as? ParameterError, let flag = flags[p.parameter] {
            return FlagError(description: "\(flag) \(p.value) is invalid: must be \(p.allowed)")
        }
        let text = String(describing: error)
        let mapped = cli(text)
        return mapped == text ? error : FlagError(description: mapped)
    }
}

/// A library error restated in flag terms.
struct FlagError: Error, CustomStringConvertible {
    /// The restated message.
    let description: String
}
