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
    /// A parameter of a library call is out of range (the message names it in backticks).
    case invalidParameter(String)

    /// Message naming the step, the terms and what was kept.
    public var description: String {
        switch self {
        case let .nonFiniteLoss(step, l, ckpt):
            return "loss is not finite at step \(step) (total \(l.total), global \(l.global), local \(l.local), ibot \(l.ibot)); "
                + (ckpt.map { "last good checkpoint kept at \($0)" } ?? "no checkpoint was written yet")
        case .badData(let m): return "training data: \(m)"
        case let .badCheckpoint(path, reason): return "checkpoint \(path): \(reason)"
        case .invalidParameter(let m): return m
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
    /// The processes training this model together (one process unless launched by MPI).
    public let communicator: Communicator
    /// Next step to run.
    public internal(set) var step = 0

    /// Sets up networks, optimizer and sampler; `data` must have one channel count and size.
    ///
    /// With a `communicator` of N processes the run is data-parallel: every process must be given
    /// the same configuration and data (checked here, before the first step), batch sizes are
    /// global, and each process computes its slice of every batch (see Docs/scaling.md).
    public init(config inConfig: TrainConfig, data inData: ImageSet, communicator: Communicator = SingleProcessCommunicator()) throws {
        self.communicator = communicator
        var config = inConfig
        try config.validate()
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
                throw TrainingError.badData("every caption has a single image: the \(config.objective.rawValue) objective needs several images per caption (use the simclr `objective`)")
            }
        }
        if communicator.size > config.groupsPerBatch {
            throw DistributedError.badLayout("\(communicator.size) processes cannot share batches of \(config.groupsPerBatch) captions: every process needs at least one caption per batch (raise --batch-captions or use fewer processes)")
        }
        try communicator.requireIdentical(Self.fingerprint(config: config, data: data), what: "training configuration or data")
        self.config = config
        self.data = data
        var g = RandomGenerator(seed: config.seed).derived("init")
        student = StudentNetwork(config, generator: &g)
        teacher = config.usesTeacher ? TeacherNetwork(copying: student, config: config) : nil
        let groups = ParameterGroup.decayAndNoDecay(student.namedParameters())
        optimizer = AdamW(groups, learningRate: config.learningRate, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: config.weightDecay)
        sampler = BatchSampler(set: data, groupsPerBatch: config.groupsPerBatch, imagesPerGroup: config.imagesPerGroup, seed: config.seed)
    }

    /// Hash of everything that determines the trajectory (the configuration and every image,
    /// group and label), compared across processes before training.
    static func fingerprint(config: TrainConfig, data: ImageSet) throws -> UInt64 {
        var f = Fingerprint()
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        f.combine(Array(try enc.encode(config)))
        f.combine(data.groups)
        f.combine(data.labels)
        for image in data.images {
            f.combine(image.channels)
            f.combine(image.height)
            f.combine(image.width)
            f.combine(image.pixels)
        }
        return f.value
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
        var depthRandom = RandomGenerator(seed: config.seed).derived("stochastic-depth").derived(UInt64(s))
        // Stochastic depth draws per sample in batch order, so processes holding different slices
        // take their own streams: with drop path a data-parallel run is equivalent in distribution
        // to, not identical with, one process (every other random choice is per global sample).
        if communicator.size > 1 { depthRandom = depthRandom.derived("rank").derived(UInt64(communicator.rank)) }
        student.seedRandomness(depthRandom)
        var (lossTensor, losses) = loss(batch, step: s)
        var grads: Gradients
        if communicator.size == 1 {
            guard losses.total.isFinite, losses.global.isFinite, losses.local.isFinite, losses.ibot.isFinite else {
                throw TrainingError.nonFiniteLoss(step: s, losses: losses, checkpoint: nil)
            }
            grads = lossTensor.backward()
        } else {
            // Each process's loss is its share of the global loss, so the global gradient is the
            // sum of the processes' gradients; the losses ride along in the same all-reduce and the
            // finiteness check runs on the global values so every process stops together.
            grads = lossTensor.backward()
            losses = allReduceGradients(&grads, losses: losses)
            guard losses.total.isFinite, losses.global.isFinite, losses.local.isFinite, losses.ibot.isFinite else {
                throw TrainingError.nonFiniteLoss(step: s, losses: losses, checkpoint: nil)
            }
        }
        if let clip = config.gradientClip {
            clipGradientNorm(&grads, parameters: student.trainableParameters(), maxNorm: clip)
        }
        optimizer.step(grads)
        if let teacher { teacher.emaUpdate(from: student, momentum: momentumSchedule.value(at: s)) }
        step += 1
        return losses
    }

    /// Sums every trainable parameter's gradient and the loss terms over the processes with one
    /// all-reduce of a flat buffer. A parameter no process reached (e.g. the iBOT head when no image
    /// was masked) keeps no gradient, as in one process; a per-parameter flag in the buffer tells.
    func allReduceGradients(_ grads: inout Gradients, losses: StepLosses) -> StepLosses {
        let params = student.trainableParameters()
        let sizes = params.map { $0.value.count }
        let total = sizes.reduce(0, +)
        var buffer = [Float](repeating: 0, count: total + params.count + 4)
        buffer.withUnsafeMutableBufferPointer { b in
            var at = 0
            for (i, p) in params.enumerated() {
                if let g = grads[p.value] {
                    g.withUnsafeBufferPointer { src in
                        for j in 0..<src.count { b[at + j] = src[j] }
                    }
                    b[total + i] = 1
                }
                at += sizes[i]
            }
            b[total + params.count] = losses.total
            b[total + params.count + 1] = losses.global
            b[total + params.count + 2] = losses.local
            b[total + params.count + 3] = losses.ibot
        }
        communicator.allReduceSum(&buffer)
        var at = 0
        for (i, p) in params.enumerated() {
            if buffer[total + i] > 0 {
                grads[p.value] = Tensor(shape: p.value.shape, data: Array(buffer[at..<at + sizes[i]]))
            } else {
                grads[p.value] = nil
            }
            at += sizes[i]
        }
        let l = total + params.count
        return StepLosses(total: buffer[l], global: buffer[l + 1], local: buffer[l + 2], ibot: buffer[l + 3])
    }

    /// Trains until `config.steps`, writing metrics and checkpoints under `directory`.
    /// With `resume`, continues from `directory/checkpoint/state.safetensors` if present.
    ///
    /// In a data-parallel run only rank 0 touches `directory`: it reads the checkpoint and sends
    /// it to the other ranks (no shared file system needed), and alone writes metrics, checkpoints
    /// and the loss plot. The state does not depend on the number of processes, so a run may be
    /// resumed with a different one.
    public func run(directory: URL, resume: Bool, progress: Bool? = nil, log: (String) -> Void = { _ in }) throws {
        let fm = FileManager.default
        let root = communicator.isRoot
        let ckpt = directory.appendingPathComponent("checkpoint/state.safetensors")
        let metricsURL = directory.appendingPathComponent("metrics.jsonl")
        // Rank 0, the only writer, locks the folder against a second training run writing it.
        var lock: OutputLock? = nil
        defer { lock?.release() }
        if communicator.size == 1 {
            lock = try OutputLock.folder(directory, job: "training (\(config.objective.rawValue))")
            try fm.createDirectory(at: directory.appendingPathComponent("checkpoint"), withIntermediateDirectories: true)
            if resume, fm.fileExists(atPath: ckpt.path) {
                try loadCheckpoint(ckpt)
                log("resumed from \(ckpt.path) at step \(step)")
            } else if fm.fileExists(atPath: metricsURL.path) {
                try fm.removeItem(at: metricsURL)
            }
        } else {
            lock = try resumeTogether(directory: directory, checkpoint: ckpt, metrics: metricsURL, resume: resume, log: log)
        }
        var metrics = root ? try MetricsLog(url: metricsURL, keepingStepsBelow: step) : nil
        let board = root ? try TensorBoardWriter(directory: directory, resumingAt: step) : nil
        if step == 0, let board { try logRunStart(to: board) }
        let reporter = ProgressReporter(label: "train \(config.objective.rawValue)", total: config.steps, unit: "step",
                                        enabled: root ? progress : false, startingAt: step)
        var windowStart = Date(), windowImages = 0
        var lastCheckpoint: String? = root && fm.fileExists(atPath: ckpt.path) ? ckpt.path : nil
        while step < config.steps {
            let s = step
            let losses: StepLosses
            do { losses = try trainStep() } catch TrainingError.nonFiniteLoss(let st, let l, _) {
                reporter.finish()
                throw TrainingError.nonFiniteLoss(step: st, losses: l, checkpoint: lastCheckpoint)
            }
            windowImages += config.groupsPerBatch * config.imagesPerGroup
            if root, s % config.logEvery == 0 || step == config.steps {
                let dt = Date().timeIntervalSince(windowStart)
                let m = TrainMetrics(step: s, losses: losses, lr: optimizer.learningRate, wd: optimizer.weightDecay,
                                     momentum: teacher == nil ? nil : momentumSchedule.value(at: s),
                                     imagesPerSecond: dt > 0 ? Double(windowImages) / dt : 0, blas: BLAS.runtime)
                try metrics?.append(m)
                try board?.scalars(m.tensorBoardScalars, step: s)
                windowStart = Date()
                windowImages = 0
            }
            reporter.update(completed: step, detail: String(format: "loss %.4f", losses.total))
            if root, (config.checkpointEvery > 0 && step % config.checkpointEvery == 0) || step == config.steps {
                // The plot is drawn before the checkpoint: a run killed in between resumes from the
                // checkpoint before and draws it again; in the other order a run killed after the
                // last checkpoint would resume finished and keep the previous checkpoint's plot.
                try writeLossCurve(metrics: readTrainMetrics(metricsURL), title: "\(config.objective.rawValue) training loss",
                                   to: directory.appendingPathComponent("loss.png"))
                try saveCheckpoint(ckpt)
                lastCheckpoint = ckpt.path
            }
        }
        reporter.finish()
    }

    /// Rank 0 prepares the directory and reads the checkpoint (when resuming); every rank then
    /// loads rank 0's bytes, so all start from the same state or all stop with rank 0's error.
    /// Returns rank 0's lock of `directory` (nil on the other ranks).
    func resumeTogether(directory: URL, checkpoint ckpt: URL, metrics metricsURL: URL, resume: Bool,
                        log: (String) -> Void) throws -> OutputLock? {
        let fm = FileManager.default
        var bytes: [UInt8] = []
        var failure: String? = nil
        var lock: OutputLock? = nil
        if communicator.isRoot {
            do {
                lock = try OutputLock.folder(directory, job: "training (\(config.objective.rawValue)), rank 0 of \(communicator.size)")
                try fm.createDirectory(at: ckpt.deletingLastPathComponent(), withIntermediateDirectories: true)
                if resume, fm.fileExists(atPath: ckpt.path) {
                    try loadCheckpoint(ckpt)
                    bytes = Array(try Data(contentsOf: ckpt))
                    log("resumed from \(ckpt.path) at step \(step) (\(communicator.size) processes)")
                } else if fm.fileExists(atPath: metricsURL.path) {
                    try fm.removeItem(at: metricsURL)
                }
            } catch {
                failure = "\(error)"
            }
        }
        let failed = communicator.broadcast(failure == nil ? Int32(0) : Int32(1))
        if failed != 0 {
            throw DistributedError.rootFailed(failure ?? "could not prepare \(ckpt.deletingLastPathComponent().path) (see rank 0's error)")
        }
        let received = communicator.broadcast(bytes)
        if !communicator.isRoot, !received.isEmpty {
            let tmp = fm.temporaryDirectory.appendingPathComponent("synclr-resume-\(ProcessInfo.processInfo.processIdentifier).safetensors")
            try Data(received).write(to: tmp)
            defer { try? fm.removeItem(at: tmp) }
            try loadCheckpoint(tmp)
        }
        // Any rank that failed to load makes every rank stop here rather than hang at the first step.
        let ok = communicator.allGatherFixed(Int64(step))
        guard ok.allSatisfy({ $0 == ok[0] }) else {
            throw DistributedError.rootFailed("ranks resumed at different steps \(ok); the checkpoint could not be loaded everywhere")
        }
        return lock
    }
}

extension TrainMetrics {
    /// The record as TensorBoard scalars (the same names as metrics.jsonl, grouped by slashes).
    var tensorBoardScalars: [(String, Float)] {
        var out: [(String, Float)] = [("loss/total", losses.total), ("loss/global", losses.global), ("loss/local", losses.local),
                                      ("loss/ibot", losses.ibot), ("schedule/lr", lr), ("schedule/weight_decay", wd),
                                      ("throughput/images_per_second", Float(imagesPerSecond))]
        if let momentum { out.append(("schedule/ema_momentum", momentum)) }
        return out
    }
}

extension Trainer {
    /// What TensorBoard shows once per run: the configuration and the first batch's augmented views.
    func logRunStart(to board: TensorBoardWriter) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let json = String(decoding: try encoder.encode(config), as: UTF8.self)
        // Four spaces make TensorBoard's Markdown render the JSON as a code block.
        try board.text("config", json.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }.joined(separator: "\n"), step: 0)
        let batch = makeBatch(step: 0)
        let views = min(batch.globals.shape[0], 2 * max(config.imagesPerGroup, 1))
        guard views > 0 else { return }
        let c = config.model.channels
        let mean = Tensor(shape: [1, c, 1, 1], data: config.mean), std = Tensor(shape: [1, c, 1, 1], data: config.std)
        let shown = (batch.globals.narrow(0, start: 0, length: views) * std + mean).clamp(min: 0, max: 1)
        // One row: the global crops of the first groups side by side (same-group crops are positives).
        let row = Tensor.concatenate((0..<views).map { shown.select(0, $0) }, axis: 2)
        try board.image("augmented_views/global_crops", ByteImage(tensor: row), step: 0)
        for (l, local) in batch.locals.prefix(1).enumerated() {
            let lv = (local.narrow(0, start: 0, length: views) * std + mean).clamp(min: 0, max: 1)
            try board.image("augmented_views/local_crops_\(l)", ByteImage(tensor: Tensor.concatenate((0..<views).map { lv.select(0, $0) }, axis: 2)), step: 0)
        }
    }
}
