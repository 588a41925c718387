import ArgumentParser
import Foundation
import SynMPI
import SynRep
import SynTensor

/// `synclr train`: representation learning with one of the paper's objectives.
struct Train: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a ViT on images grouped by caption (SynCLR) or with a baseline objective.")

    @Option(help: "Training data: a folder with manifest.jsonl, an ImageFolder tree, or fashion-mnist.") var data: String
    @Option(help: "Objective: synclr, stablerep, simclr or supervised.") var objective: String = "synclr"
    @Option(help: "Model preset: \(ViTConfig.presets.keys.sorted().joined(separator: ", ")).") var model: String = "vit-nano32"
    @Option(help: "Optimizer steps.") var steps: Int = 500
    @Option(help: "Output folder (model.safetensors, checkpoint/, metrics.jsonl).") var out: String
    @Flag(help: "Continue from OUT/checkpoint if present.") var resume = false
    @Option(help: "Captions per batch (each contributes --images-per-caption images).") var batchCaptions: Int = 16
    @Option(help: "Images per caption in a batch.") var imagesPerCaption: Int = 4
    @Option(help: "Local crops per image (SynCLR).") var localCrops: Int = 4
    @Option(help: "Local crop size in pixels.") var localSize: Int = 16
    @Option(help: "Peak learning rate (1e-3 collapses SimCLR on vit-nano32 at batch 48).") var lr: Float = 3e-4
    @Option(help: "Warm-up steps.") var warmup: Int = 50
    @Option(help: "AdamW weight decay at the first step (cosine to --final-weight-decay; DINO's 0.04).") var weightDecay: Float = 0.04
    @Option(help: "AdamW weight decay at the last step (DINO's 0.2).") var finalWeightDecay: Float = 0.2
    @Option(help: "Contrastive temperature.") var temperature: Float = 0.08
    @Option(help: "iBOT prototypes (K).") var prototypes: Int = 1024
    @Option(help: "Weight of the iBOT loss (0 disables masking).") var ibotWeight: Float = 1
    @Option(help: "Fraction of images masked for iBOT (the paper's 0.5).") var maskedImageFraction: Float = 0.5
    @Option(help: "Fraction of patch tokens masked in a masked image (the paper's 0.5).") var maskedPatchFraction: Float = 0.5
    @Flag(inversion: .prefixedNo, help: "SynCLR: MoCo v3's predictor on the student's queries (--no-predictor: the projector's outputs are the queries).")
    var predictor = true
    @Option(help: "Starting EMA momentum of the teacher (cosine to 1; SynCLR only).") var emaMomentum: Float = 0.994
    @Option(help: "Photometric augmentation: byol (the paper's), light (flip + brightness/contrast) or crop-flip.")
    var augmentation: String = "byol"
    @Option(help: "Smallest area fraction of a global crop (the paper's 0.32).") var globalScale: Float = 0.32
    @Option(help: "ViT weight initialization: timm (truncated normal 0.02) or moco-v3 (Xavier, q/k/v apart).")
    var initialization: String = "timm"
    @Option(help: "Input channels (1 for Fashion-MNIST, 3 for RGB).") var channels: Int = 1
    @Option(help: "Checkpoint every N steps.") var checkpointEvery: Int = 100
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "Use the first N images of fashion-mnist or a manifest (0: all).") var limit: Int = 0
    @Option(help: "Positives: caption (manifest default), image (each image its own group) or class (images of a label).")
    var groupBy: String?

    /// The library configuration these arguments describe.
    func configuration() throws -> TrainingRunConfiguration {
        var config = TrainConfig(model: try TrainingRunConfiguration.preset(model), objective: try Objective.named(objective), steps: steps)
        config.groupsPerBatch = batchCaptions
        config.imagesPerGroup = imagesPerCaption
        config.localCrops = localCrops
        config.localSize = localSize
        config.learningRate = lr
        config.warmupSteps = warmup
        config.weightDecay = weightDecay
        config.finalWeightDecay = finalWeightDecay
        config.temperature = temperature
        config.ibotPrototypes = prototypes
        config.ibotWeight = ibotWeight
        config.maskedImageFraction = maskedImageFraction
        config.maskedPatchFraction = maskedPatchFraction
        config.emaMomentum = emaMomentum
        if !predictor { config.predictorDims = [] }
        config.checkpointEvery = checkpointEvery
        config.seed = seed
        try config.setAugmentation(named: augmentation, globalScale: globalScale)
        try config.setInitialization(named: initialization)
        return TrainingRunConfiguration(data: data, limit: limit, grouping: try groupBy.map(Grouping.named), model: model, channels: channels,
                                        output: out, resume: resume, train: config)
    }

    func run() async throws {
        try Self.execute(try configuration())
    }

    /// Trains the run of `config`, printing its log (also the pipeline's training stage). Under
    /// mpiexec / srun all ranks train one model data-parallel and rank 0 alone prints and writes
    /// (Docs/scaling.md).
    /// The pipeline passes its `communicator` and finalizes it itself.
    static func execute(_ config: TrainingRunConfiguration, communicator: (any Communicator)? = nil) throws {
        let comm = try communicator ?? Distributed.communicator()
        let print: (String) -> Void = comm.isRoot ? { Swift.print($0) } : { _ in }
        let start = Date()
        let modelURL = try config.run(communicator: comm) { print($0) }
        if communicator == nil { comm.finalize() }
        print(String(format: "train: done in %.1f s; wrote %@", Date().timeIntervalSince(start), modelURL.path))
    }
}
