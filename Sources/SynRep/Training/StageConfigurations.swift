import Foundation
import SynTensor

/// How images are grouped into positives.
public enum Grouping: String, Codable, Sendable, Hashable, CaseIterable {
    /// Images of one caption (a manifest's default).
    case caption
    /// Each image its own group.
    case image
    /// Images of one class label.
    case `class`
}

extension Grouping {
    /// The grouping named `name`; throws `TrainingError.invalidParameter` naming the choices.
    public static func named(_ name: String) throws -> Grouping {
        guard let g = Grouping(rawValue: name) else { throw TrainingError.invalidParameter("`grouping` must be caption, image or class, got '\(name)'") }
        return g
    }
}

extension Objective {
    /// The objective named `name`; throws `TrainingError.invalidParameter` naming the choices.
    public static func named(_ name: String) throws -> Objective {
        guard let o = Objective(rawValue: name) else {
            throw TrainingError.invalidParameter("`objective` '\(name)' is unknown; choose synclr, stablerep, simclr or supervised")
        }
        return o
    }
}

/// The representation-learning stage as one call (`synclr train` and the pipeline build this
/// value): data, model preset, objective and `TrainConfig` options, output folder.
public struct TrainingRunConfiguration: Codable, Sendable, Hashable {
    /// Training data spec (`DataSource`): a folder with manifest.jsonl, an ImageFolder tree, or fashion-mnist.
    public var data: String
    /// Use at most this many images (0: all).
    public var limit: Int
    /// How positives are grouped (nil: the data's default).
    public var grouping: Grouping?
    /// ViT preset name (`ViTConfig.presets`).
    public var model: String
    /// Input channels.
    public var channels: Int
    /// Output folder (model.safetensors, checkpoint/, metrics.jsonl).
    public var output: String
    /// Continue from OUT/checkpoint if present.
    public var resume: Bool
    /// Every training option; its `model`, `mean` and `std` are set from `model` and `channels`.
    public var train: TrainConfig

    /// A configuration; `train` carries the objective, steps and every other option.
    public init(data: String, limit: Int = 0, grouping: Grouping? = nil, model: String = "vit-nano32", channels: Int = 1,
                output: String, resume: Bool = false, train: TrainConfig) {
        self.data = data
        self.limit = limit
        self.grouping = grouping
        self.model = model
        self.channels = channels
        self.output = output
        self.resume = resume
        self.train = train
    }

    /// The ViT preset named `name`; throws `TrainingError.invalidParameter` listing the presets.
    public static func preset(_ name: String) throws -> ViTConfig {
        guard let vit = ViTConfig.presets[name] else {
            throw TrainingError.invalidParameter("`model` preset '\(name)' is unknown; choose one of \(ViTConfig.presets.keys.sorted().joined(separator: ", "))")
        }
        return vit
    }

    /// Loads the data and builds the trainer (data-parallel over `communicator`'s processes);
    /// `describe` is the one-line summary of the run.
    public func prepare(communicator: Communicator = SingleProcessCommunicator()) throws -> (trainer: Trainer, describe: String) {
        var vit = try Self.preset(model)
        vit.channels = channels
        vit.initialization = train.model.initialization
        let source = DataSource(data)
        var set = try source.load(channels: channels, size: vit.imageSize, limit: limit > 0 ? limit : nil)
        switch grouping {
        case nil, .caption: break
        case .image: set = set.imagesAsGroups()
        case .class:
            guard set.labels.allSatisfy({ $0 >= 0 }) else { throw TrainingError.invalidParameter("`grouping` class needs a label for every image") }
            set.groups = set.labels
        }
        var config = train
        config.model = vit
        config.mean = Array(repeating: 0.5, count: channels)
        config.std = Array(repeating: 0.5, count: channels)
        let trainer = try Trainer(config: config, data: set, communicator: communicator)
        let line = "\(set.count) images in \(set.groupCount) groups from \(source), \(config.objective.rawValue), \(model) (\(trainer.student.backbone.parameterCount) backbone parameters), \(config.steps) steps"
        return (trainer, line)
    }

    /// Trains (resuming when asked), then writes OUT/model.safetensors; returns its URL. With a
    /// communicator of several processes every rank trains the same model and rank 0 writes it.
    public func run(communicator: Communicator = SingleProcessCommunicator(), log: (String) -> Void) throws -> URL {
        let dir = URL(fileURLWithPath: output)
        // Taken before the data loads, so a second run on this folder stops at once; held through
        // the model file too (the trainer takes it again, re-entrantly).
        let lock = communicator.isRoot ? try OutputLock.folder(dir, job: "synclr train (\(train.objective.rawValue))") : nil
        defer { lock?.release() }
        let (trainer, line) = try prepare(communicator: communicator)
        if communicator.size > 1 {
            log("train: data-parallel over \(communicator.size) processes (\(Threading.count) threads each); batches are global")
        }
        log("train: " + line)
        try trainer.run(directory: dir, resume: resume, log: log)
        let modelURL = dir.appendingPathComponent("model.safetensors")
        if communicator.isRoot {
            try trainer.saveModel(modelURL)
            try trainer.saveTeacherModel(dir.appendingPathComponent("teacher.safetensors"))
        }
        return modelURL
    }
}

/// The evaluation stage as one call (`synclr eval` and the pipeline build this value): kNN and
/// linear-probe accuracy of frozen features on real labeled data.
public struct EvaluationConfiguration: Codable, Sendable, Hashable {
    /// What to measure.
    public enum Features: Codable, Sendable, Hashable {
        /// The pixels themselves.
        case rawPixels
        /// A randomly initialized ViT of a preset.
        case random(model: String)
        /// A trained backbone file (`model.safetensors`, or a PyTorch `.pth` of a timm-style ViT).
        case checkpoint(String)
    }

    /// How to read a `.pth` checkpoint (nil: everything inferred from the file).
    public var torch: TorchBackboneOptions?

    /// What to measure.
    public var features: Features
    /// `fashion-mnist` or an ImageFolder root (`loadEvaluationSplits`).
    public var dataset: String
    /// Input channels for raw pixels and a random ViT.
    public var channels: Int
    /// Fit on at most this many class-balanced training images (0: all).
    public var trainLimit: Int
    /// Neighbours for kNN.
    public var k: Int
    /// Regularization values swept by the linear probe (log-spaced 1e-6...1e5).
    public var probeGrid: Int
    /// Seed of splits and random initialization.
    public var seed: UInt64

    /// A configuration with the command line's defaults.
    public init(features: Features, dataset: String = "fashion-mnist", channels: Int = 1, trainLimit: Int = 0, k: Int = 20,
                probeGrid: Int = 12, seed: UInt64 = 0) {
        self.features = features
        self.dataset = dataset
        self.channels = channels
        self.trainLimit = trainLimit
        self.k = k
        self.probeGrid = probeGrid
        self.seed = seed
    }

    /// Measures the features; `log` gets the closing summary line.
    public func run(log: (String) -> Void) throws -> EvaluationReport {
        let start = Date()
        let name: String
        var backbone: LoadedBackbone? = nil
        var size = 32, ch = channels
        switch features {
        case .rawPixels:
            name = "raw pixels"
        case .random(let model):
            let vit = try TrainingRunConfiguration.preset(model)
            let card = ModelCard(imageSize: vit.imageSize, channels: channels, patchSize: vit.patchSize, width: vit.width,
                                 depth: vit.depth, heads: vit.heads, mlpRatio: vit.mlpRatio,
                                 mean: Array(repeating: 0.5, count: channels), std: Array(repeating: 0.5, count: channels), objective: "random")
            backbone = try randomBackbone(card, seed: seed)
            size = vit.imageSize
            name = "random \(model)"
        case .checkpoint(let path):
            let b = try loadBackbone(URL(fileURLWithPath: path), torchOptions: torch ?? TorchBackboneOptions()) { log("checkpoint: " + $0) }
            backbone = b
            size = b.card.imageSize
            ch = b.card.channels
            name = "\(b.card.objective) (\(path))"
        }
        let splits = try loadEvaluationSplits(dataset, channels: ch, size: size, trainLimit: trainLimit > 0 ? trainLimit : nil, seed: seed)
        func extract(_ set: ImageSet) -> Tensor {
            if let backbone { return extractFeatures(backbone, images: set) }
            return RawPixelBaseline.features(set.tensor(mean: Array(repeating: 0, count: ch), std: Array(repeating: 1, count: ch)))
        }
        let train = try LabeledFeatures(features: extract(splits.train), labels: splits.train.labels)
        let test = try LabeledFeatures(features: extract(splits.test), labels: splits.test.labels)
        var probe = LinearProbeConfig()
        probe.regularizationGrid = LinearProbeConfig.logSpaced(from: 1e-6, to: 1e5, count: probeGrid)
        probe.seed = seed
        let reporter = ProgressReporter(label: "linear probe", total: nil, unit: "fit")
        let report = try Evaluation.run(train: train, test: test, name: name, knn: KNNConfig(k: k), linear: probe) { _ in
            reporter.advance()
        }
        reporter.finish()
        log(String(format: "eval: %@ on %@ (%d train / %d test) in %.1f s", name, dataset,
                   splits.train.count, splits.test.count, Date().timeIntervalSince(start)))
        return report
    }
}
