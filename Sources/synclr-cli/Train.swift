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
    @Option(help: "Contrastive temperature.") var temperature: Float = 0.08
    @Option(help: "iBOT prototypes (K).") var prototypes: Int = 1024
    @Option(help: "Weight of the iBOT loss (0 disables masking).") var ibotWeight: Float = 1
    @Option(help: "Starting EMA momentum of the teacher (cosine to 1; SynCLR only).") var emaMomentum: Float = 0.994
    @Option(help: "Input channels (1 for Fashion-MNIST, 3 for RGB).") var channels: Int = 1
    @Option(help: "Checkpoint every N steps.") var checkpointEvery: Int = 100
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "Use at most N images (0: all).") var limit: Int = 0
    @Option(help: "Positives: caption (manifest default), image (each image its own group) or class (images of a label).")
    var groupBy: String?

    func run() async throws {
        guard var vit = ViTConfig.presets[model] else {
            throw ValidationError("unknown model preset '\(model)'; choose one of \(ViTConfig.presets.keys.sorted().joined(separator: ", "))")
        }
        guard let obj = Objective(rawValue: objective) else {
            throw ValidationError("unknown objective '\(objective)'; choose synclr, stablerep, simclr or supervised")
        }
        vit.channels = channels
        let source = DataSource(data)
        var set = try source.load(channels: channels, size: vit.imageSize, limit: limit > 0 ? limit : nil)
        switch groupBy {
        case nil, "caption": break
        case "image": set = set.imagesAsGroups()
        case "class":
            guard set.labels.allSatisfy({ $0 >= 0 }) else { throw ValidationError("--group-by class needs a label for every image") }
            set.groups = set.labels
        default: throw ValidationError("--group-by must be caption, image or class")
        }
        var config = TrainConfig(model: vit, objective: obj, steps: steps)
        config.groupsPerBatch = batchCaptions
        config.imagesPerGroup = imagesPerCaption
        config.localCrops = localCrops
        config.localSize = localSize
        config.learningRate = lr
        config.warmupSteps = warmup
        config.temperature = temperature
        config.ibotPrototypes = prototypes
        config.ibotWeight = ibotWeight
        config.emaMomentum = emaMomentum
        config.checkpointEvery = checkpointEvery
        config.seed = seed
        config.mean = Array(repeating: 0.5, count: channels)
        config.std = Array(repeating: 0.5, count: channels)
        let dir = URL(fileURLWithPath: out)
        // Under mpiexec / srun: one model trained data-parallel by all ranks (Docs/scaling.md).
        let comm = try Distributed.communicator()
        let print: (String) -> Void = comm.isRoot ? { Swift.print($0) } : { _ in }
        let trainer = try Trainer(config: config, data: set, communicator: comm)
        if comm.size > 1 { print("train: data-parallel over \(comm.size) processes (\(Threading.count) threads each); batches are global") }
        print("train: \(set.count) images in \(set.groupCount) groups from \(source), \(obj.rawValue), \(model) (\(trainer.student.backbone.parameterCount) backbone parameters), \(steps) steps")
        let start = Date()
        try trainer.run(directory: dir, resume: resume) { print($0) }
        let modelURL = dir.appendingPathComponent("model.safetensors")
        if comm.isRoot { try trainer.saveModel(modelURL) }
        comm.finalize()
        print(String(format: "train: done in %.1f s; wrote %@", Date().timeIntervalSince(start), modelURL.path))
    }
}
