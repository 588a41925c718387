import Foundation
import SynCaption
import SynDiffusion
import SynRep

/// The library configuration of each stage, built from the pipeline's configuration (the same
/// values `synclr captions`, `images`, `train` and `eval` build from their arguments).
extension PipelineConfig {
    /// The caption job writing `output`.
    public func captionsJob(output: String) throws -> CaptionsJobConfiguration {
        guard let kind = CaptionBackendConfiguration.Kind(rawValue: captions.backend) else {
            throw PipelineError.badConfig("captions.backend '\(captions.backend)' is not one of native, template, openai")
        }
        return CaptionsJobConfiguration(concepts: captions.concepts, count: captions.count, seed: seed,
                                        backend: CaptionBackendConfiguration(kind: kind, url: captions.url, model: captions.llmModel),
                                        output: output)
    }

    /// The guidance settings of the image stage.
    public var guidanceSettings: GuidanceSettings {
        get throws {
            var s = GuidanceSettings(scale: images.guidance, rescale: images.guidanceRescale)
            switch images.guidanceInterval {
            case nil: s.interval = .recommended
            case let v? where v.isEmpty: s.interval = .all
            case let v? where v.count == 2 && v[0] <= v[1]: s.interval = .timesteps(v[0]...v[1])
            case let v?: throw PipelineError.badConfig("images.guidanceInterval must be [lo, hi] with lo <= hi, or [] for all steps; got \(v)")
            }
            return s
        }
    }

    /// The image job reading `captions` into `output`.
    public func imageJob(captions: String, output: String) throws -> ImageGenerationConfiguration {
        var prediction: PredictionType?
        if let p = images.predictionType {
            guard let t = PredictionType(rawValue: p) else { throw PipelineError.badConfig("images.predictionType must be epsilon or v_prediction, got '\(p)'") }
            prediction = t
        }
        return ImageGenerationConfiguration(captions: captions, output: output, perCaption: images.perCaption, guidance: try guidanceSettings,
                                            steps: images.steps, sampler: try SamplerKind.named(images.sampler), seed: seed,
                                            models: ModelSelection(model: images.model, modelConfig: images.modelConfig, predictionType: prediction),
                                            size: images.size)
    }

    /// The training run of `run` with `seed` on `data` into `output` (resuming an interrupted one).
    public func trainingRun(_ run: Run, seed: UInt64, data: String, output: String) throws -> TrainingRunConfiguration {
        var c = TrainConfig(model: try TrainingRunConfiguration.preset(train.model), objective: try Objective.named(run.objective), steps: train.steps)
        c.groupsPerBatch = train.batchCaptions
        c.imagesPerGroup = train.imagesPerCaption
        c.localCrops = train.localCrops
        c.localSize = train.localSize
        c.learningRate = train.lr
        c.warmupSteps = train.warmup
        c.temperature = train.temperature
        c.ibotPrototypes = train.prototypes
        c.ibotWeight = train.ibotWeight
        c.maskedImageFraction = train.maskedImageFraction
        c.maskedPatchFraction = train.maskedPatchFraction
        c.emaMomentum = train.emaMomentum
        c.checkpointEvery = train.checkpointEvery
        c.seed = seed
        try c.setAugmentation(named: train.augmentation, globalScale: train.globalScale)
        try c.setInitialization(named: train.initialization)
        return TrainingRunConfiguration(data: data, limit: run.limit, grouping: try run.groupBy.map(Grouping.named), model: train.model,
                                        output: output, resume: true, train: c)
    }

    /// The evaluation of `features` on the configured dataset.
    public func evaluation(_ features: EvaluationConfiguration.Features) -> EvaluationConfiguration {
        EvaluationConfiguration(features: features, dataset: eval.dataset, trainLimit: eval.trainLimit, probeGrid: eval.probeGrid, seed: seed)
    }

    /// The features of baseline `name`: raw-pixels, random (an untrained `train.model`), or a model file.
    public func baselineFeatures(_ name: String) -> EvaluationConfiguration.Features {
        switch name {
        case "raw-pixels": return .rawPixels
        case "random": return .random(model: train.model)
        default: return .checkpoint(name)
        }
    }
}
