import Foundation
import SynTensor

/// Errors that stop training.
public enum TrainingError: Error, CustomStringConvertible {
    /// A loss term became NaN or infinite; the last good checkpoint is kept.
    case nonFiniteLoss(step: Int, losses: StepLosses, checkpoint: String?)
    /// The data cannot feed this objective.
    case badData(String)
    /// A checkpoint does not match the run.
    case badCheckpoint(path: String, reason: String)

    /// Message naming the step, the terms and what was kept.
    public var description: String {
        switch self {
        case let .nonFiniteLoss(step, l, ckpt):
            return "loss is not finite at step \(step) (total \(l.total), global \(l.global), local \(l.local), ibot \(l.ibot)); "
                + (ckpt.map { "last good checkpoint kept at \($0)" } ?? "no checkpoint was written yet")
        case .badData(let m): return "training data: \(m)"
        case let .badCheckpoint(path, reason): return "checkpoint \(path): \(reason)"
        }
    }
}

/// One metrics record (a line of metrics.jsonl).
public struct TrainMetrics: Codable, Sendable {
    /// Step index (0-based) the record describes.
    public var step: Int
    /// Loss terms.
    public var losses: StepLosses
    /// Learning rate used.
    public var lr: Float
    /// Weight decay used.
    public var wd: Float
    /// EMA momentum used (nil without a teacher).
    public var momentum: Float?
    /// Images (global crops) per second over the logging window.
    public var imagesPerSecond: Double
    /// The BLAS kernel and thread count of the run that logged this step (nil in older logs).
    public var blas: BLASRuntime? = nil
}

/// Trains a ViT with one of the paper's objectives, with exact resume from checkpoints.
public final class Trainer {
    /// The run's configuration.
    public let config: TrainConfig
    /// Training images.
    let data: ImageSet
    /// Student (trained) network.
    public let student: StudentNetwork
    /// EMA teacher (SynCLR only).
    public let teacher: TeacherNetwork?
    let optimizer: AdamW
    let sampler: BatchSampler
    /// Next step to run.
    public internal(set) var step = 0

    /// Sets up networks, optimizer and sampler; `data` must have one channel count and size.
    public init(config inConfig: TrainConfig, data inData: ImageSet) throws {
        var config = inConfig
        guard inData.count > 0 else { throw TrainingError.badData("no images") }
        guard inData.channels == config.model.channels else {
            throw TrainingError.badData("images have \(inData.channels) channels, model expects \(config.model.channels)")
        }
        guard config.mean.count == config.model.channels, config.std.count == config.model.channels else {
            throw TrainingError.badData("normalization mean/std need \(config.model.channels) values")
        }
        var data = inData
        if config.objective == .simclr {
            data = data.imagesAsGroups()
            config.imagesPerGroup = 2
        }
        if config.objective == .supervised {
            guard data.labels.allSatisfy({ $0 >= 0 }) else { throw TrainingError.badData("supervised training needs a label for every image") }
            config.classes = max(config.classes, (data.labels.max() ?? 0) + 1)
        }
        if config.objective != .supervised {
            let sizes = data.members().map(\.count)
            if config.objective != .simclr && sizes.allSatisfy({ $0 < 2 }) {
                throw TrainingError.badData("every caption has a single image: the \(config.objective.rawValue) objective needs several images per caption (use --objective simclr)")
            }
        }
        self.config = config
        self.data = data
        var g = RandomGenerator(seed: config.seed).derived("init")
        student = StudentNetwork(config, generator: &g)
        teacher = config.usesTeacher ? TeacherNetwork(copying: student, config: config) : nil
        let groups = ParameterGroup.decayAndNoDecay(student.namedParameters())
        optimizer = AdamW(groups, learningRate: config.learningRate, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: config.weightDecay)
        sampler = BatchSampler(set: data, groupsPerBatch: config.groupsPerBatch, imagesPerGroup: config.imagesPerGroup, seed: config.seed)
    }

    /// Learning-rate schedule: linear warm-up to the peak, cosine to the minimum.
    public var lrSchedule: WarmupCosineSchedule {
        WarmupCosineSchedule(base: config.learningRate, final: config.minLearningRate, warmupSteps: config.warmupSteps, totalSteps: config.steps)
    }
    /// Weight-decay schedule: cosine from the start to the final value.
    public var wdSchedule: WarmupCosineSchedule {
        WarmupCosineSchedule(base: config.weightDecay, final: config.finalWeightDecay, totalSteps: config.steps)
    }
    /// EMA momentum schedule: cosine from the start value to 1.
    public var momentumSchedule: WarmupCosineSchedule {
        WarmupCosineSchedule(base: config.emaMomentum, final: 1, totalSteps: config.steps)
    }

    /// Runs one optimizer step and returns its losses.
    @discardableResult
    public func trainStep() throws -> StepLosses {
        try trainStep(on: makeBatch(step: step))
    }

    /// One optimizer step on prepared crops: schedules at `step`, loss, backward, clipping, AdamW,
    /// EMA. `trainStep()` feeds it `makeBatch(step:)`; the parity tests feed it fixed crops.
    @discardableResult
    func trainStep(on batch: BatchCrops) throws -> StepLosses {
        let s = step
        optimizer.learningRate = lrSchedule.value(at: s)
        optimizer.weightDecay = wdSchedule.value(at: s)
        student.train()
        student.seedRandomness(RandomGenerator(seed: config.seed).derived("stochastic-depth").derived(UInt64(s)))
        let (lossTensor, losses) = loss(batch, step: s)
        guard losses.total.isFinite, losses.global.isFinite, losses.local.isFinite, losses.ibot.isFinite else {
            throw TrainingError.nonFiniteLoss(step: s, losses: losses, checkpoint: nil)
        }
        var grads = lossTensor.backward()
        if let clip = config.gradientClip {
            clipGradientNorm(&grads, parameters: student.trainableParameters(), maxNorm: clip)
        }
        optimizer.step(grads)
        if let teacher { teacher.emaUpdate(from: student, momentum: momentumSchedule.value(at: s)) }
        step += 1
        return losses
    }

    /// Trains until `config.steps`, writing metrics and checkpoints under `directory`.
    /// With `resume`, continues from `directory/checkpoint/state.safetensors` if present.
    public func run(directory: URL, resume: Bool, progress: Bool? = nil, log: (String) -> Void = { _ in }) throws {
        let fm = FileManager.default
        try fm.createDirectory(at: directory.appendingPathComponent("checkpoint"), withIntermediateDirectories: true)
        let ckpt = directory.appendingPathComponent("checkpoint/state.safetensors")
        let metricsURL = directory.appendingPathComponent("metrics.jsonl")
        if resume, fm.fileExists(atPath: ckpt.path) {
            try loadCheckpoint(ckpt)
            log("resumed from \(ckpt.path) at step \(step)")
        } else if fm.fileExists(atPath: metricsURL.path) {
            try fm.removeItem(at: metricsURL)
        }
        var metrics = try MetricsLog(url: metricsURL, keepingStepsBelow: step)
        let reporter = ProgressReporter(label: "train \(config.objective.rawValue)", total: config.steps, unit: "step",
                                        enabled: progress, startingAt: step)
        var windowStart = Date(), windowImages = 0
        var lastCheckpoint: String? = fm.fileExists(atPath: ckpt.path) ? ckpt.path : nil
        while step < config.steps {
            let s = step
            let losses: StepLosses
            do { losses = try trainStep() } catch TrainingError.nonFiniteLoss(let st, let l, _) {
                reporter.finish()
                throw TrainingError.nonFiniteLoss(step: st, losses: l, checkpoint: lastCheckpoint)
            }
            windowImages += config.groupsPerBatch * config.imagesPerGroup
            if s % config.logEvery == 0 || step == config.steps {
                let dt = Date().timeIntervalSince(windowStart)
                let m = TrainMetrics(step: s, losses: losses, lr: optimizer.learningRate, wd: optimizer.weightDecay,
                                     momentum: teacher == nil ? nil : momentumSchedule.value(at: s),
                                     imagesPerSecond: dt > 0 ? Double(windowImages) / dt : 0, blas: BLAS.runtime)
                try metrics.append(m)
                windowStart = Date()
                windowImages = 0
            }
            reporter.update(completed: step, detail: String(format: "loss %.4f", losses.total))
            if (config.checkpointEvery > 0 && step % config.checkpointEvery == 0) || step == config.steps {
                try saveCheckpoint(ckpt)
                lastCheckpoint = ckpt.path
                try writeLossCurve(metrics: readTrainMetrics(metricsURL), title: "\(config.objective.rawValue) training loss",
                                   to: directory.appendingPathComponent("loss.png"))
            }
        }
        reporter.finish()
    }
}
