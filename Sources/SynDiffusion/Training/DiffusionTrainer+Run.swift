import Foundation
import SynTensor

extension DiffusionTrainer {
    /// Format tag of training checkpoints.
    public static let checkpointFormat = "synclr-diffusion-checkpoint"

    /// Writes model, EMA and optimizer state with the step and config, atomically.
    public func saveCheckpoint(_ url: URL) throws {
        try StateCheckpoint.save([("model.", model.stateDict()), ("ema.", ema.stateDict()), ("optimizer.", optimizer.stateDict())],
                                 metadata: ["format": Self.checkpointFormat, "step": String(step), "config": try config.json()], to: url)
    }

    /// Restores a checkpoint of a run with the same options; throws `DiffusionError` naming the file otherwise.
    public func loadCheckpoint(_ url: URL) throws {
        var saved = 0
        let parts: [String: [String: Tensor]]
        do {
            parts = try StateCheckpoint.load(url, prefixes: ["model.", "ema.", "optimizer."]) { meta in
                guard meta["format"] == Self.checkpointFormat, let s = meta["step"], let step = Int(s), let json = meta["config"] else {
                    throw DiffusionError.badCheckpoint(path: url.path, reason: "not a diffusion training checkpoint")
                }
                let theirs: DiffusionTrainConfig
                do { theirs = try JSONDecoder().decode(DiffusionTrainConfig.self, from: Data(json.utf8)) } catch {
                    throw DiffusionError.badCheckpoint(path: url.path, reason: "unreadable config metadata (\(error))")
                }
                guard theirs.trajectoryDefining == config.trajectoryDefining else {
                    throw DiffusionError.badCheckpoint(path: url.path, reason: "it was written by a run with different options:\n  saved: \(try theirs.json())\n  now:   \(try config.json())")
                }
                saved = step
            }
        } catch let error as DiffusionError {
            throw error
        } catch {
            throw DiffusionError.badCheckpoint(path: url.path, reason: "not a readable safetensors file (\(error))")
        }
        do {
            try model.loadStateDict(parts["model."]!, source: url.path + " (model)")
            try ema.loadStateDict(parts["ema."]!, source: url.path + " (ema)")
            try optimizer.loadStateDict(parts["optimizer."]!)
        } catch {
            throw DiffusionError.badCheckpoint(path: url.path, reason: "\(error)")
        }
        ema.eval()
        restoreStep(saved)
    }

    /// Starts from the weights of a training checkpoint (its optimized weights and its EMA) or of a
    /// model file (both from its weights); the optimizer starts fresh.
    public func initialize(from url: URL) throws {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw DiffusionError.missingFile(path: url.path, hint: "`init` needs a training checkpoint or model file.")
        }
        let file: SafetensorsFile
        do { file = try SafetensorsFile(url: url) } catch {
            throw DiffusionError.badCheckpoint(path: url.path, reason: "not a readable safetensors file (\(error))")
        }
        var model: [String: Tensor] = [:], ema: [String: Tensor] = [:]
        if file.metadata?["format"] == Self.checkpointFormat {
            for n in file.names where n.hasPrefix("model.") { model[String(n.dropFirst(6))] = try file.tensor(n) }
            for n in file.names where n.hasPrefix("ema.") { ema[String(n.dropFirst(4))] = try file.tensor(n) }
        } else {
            _ = try UNetCheckpoint.info(url)
            for n in file.names { model[n] = try file.tensor(n) }
            ema = model
        }
        do {
            try self.model.loadStateDict(model, source: url.path)
            try self.ema.loadStateDict(ema, source: url.path + " (ema)")
        } catch {
            throw DiffusionError.badCheckpoint(path: url.path, reason: "\(error)")
        }
        self.ema.eval()
    }

    /// Writes the EMA weights as a model file (float16) for `synclr images`.
    public func exportModel(_ url: URL, name: String, extra: [String: String] = [:]) throws {
        var info = UNetModelInfo(name: name, config: config.unet, textEncoder: bank.encoderName, extra: extra)
        info.extra["train_steps"] = String(step)
        info.extra["train_seed"] = String(config.seed)
        try UNetCheckpoint.save(ema, info: info, to: url)
    }

    /// A grid of EMA samples: one row per class (its first caption), `columns` seeds per row.
    public func sampleGrid(columns: Int = 4) throws -> Tensor {
        let classes = bank.byClass.count
        var entries: [Int] = [], seeds: [UInt64] = []
        for c in 0..<classes {
            for k in 0..<columns {
                entries.append(bank.byClass[c][0])
                seeds.append(mixSeed(config.seed ^ 0x5EED) &+ UInt64(c * columns + k))
            }
        }
        let t2i = TextToImage(predictor: ema, config: config.unet, encoder: NoTextEncoder(name: bank.encoderName, width: config.unet.crossAttentionDim))
        let x = try t2i.generate(conditioning: bank.conditioning(entries),
                             unconditional: bank.conditioning(Array(repeating: 0, count: entries.count)),
                             seeds: seeds, guidance: config.sampleGuidance, steps: config.sampleSteps, sampler: .ddim)
        return ImageGrid.tile((0..<entries.count).map { x.select(0, $0) }, columns: columns)
    }

    /// Trains until `config.steps`, checkpointing to DIR/checkpoint.safetensors, logging every step to
    /// DIR/loss.jsonl and writing sample grids to DIR/samples/. With `resume`, continues from the
    /// checkpoint (the loss log is cut back to it); without, refuses to overwrite one. `stopAt` ends
    /// the run early at that step, with a checkpoint (as an interruption would, for a later `resume`).
    public func run(directory: URL, resume: Bool, stopAt: Int? = nil, progress: ProgressReporter? = nil,
                    log: (String) -> Void = { _ in }) throws {
        let lock = try OutputLock.folder(directory, job: "diffusion training")
        defer { lock.release() }
        let fm = FileManager.default
        try fm.createDirectory(at: directory.appendingPathComponent("samples"), withIntermediateDirectories: true)
        let ckpt = directory.appendingPathComponent("checkpoint.safetensors")
        let lossURL = directory.appendingPathComponent("loss.jsonl")
        if fm.fileExists(atPath: ckpt.path) {
            guard resume else {
                throw DiffusionError.invalidJob(path: ckpt.path, reason: "a checkpoint exists; set `resume` to continue it or choose another `output`")
            }
            try loadCheckpoint(ckpt)
            log("resumed from \(ckpt.path) at step \(step)")
        } else if let initial = config.initFrom {
            try initialize(from: URL(fileURLWithPath: initial))
            log("initialized from \(initial)")
        }
        try truncateLossLog(lossURL, keepingThrough: step)
        let handle = try FileHandle(forWritingTo: lossURL)
        try handle.seekToEnd()
        defer { try? handle.close() }
        // Steps are logged 1-based (after the update), so a resume at `step` redoes step + 1 on.
        let board = try TensorBoardWriter(directory: directory, resumingAt: step + 1)
        if step == 0 {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let json = String(decoding: try encoder.encode(config), as: UTF8.self)
            try board.text("config", json.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }.joined(separator: "\n"), step: 0)
        }
        let start = Date()
        var lastLog = Date()
        let end = min(config.steps, stopAt ?? config.steps)
        // The BLAS kernel of this run: a resumed run on another machine may differ in the last bits.
        let blas = BLAS.runtime
        let blasFields = ",\"blas_core\":" + JSONText.quote(blas.core) + ",\"threads\":\(blas.threads)"
        while step < end {
            let r = trainStep()
            let line = String(format: "{\"step\":%d,\"loss\":%.6f,\"grad_norm\":%.4f,\"lr\":%.6g,\"elapsed\":%.1f",
                              step, r.loss, r.gradNorm, r.learningRate, Date().timeIntervalSince(start)) + blasFields + "}\n"
            try handle.write(contentsOf: Data(line.utf8))
            let now = Date()
            let dt = now.timeIntervalSince(lastLog)
            lastLog = now
            try board.scalars([("loss/train", r.loss), ("grad_norm", r.gradNorm), ("schedule/lr", r.learningRate),
                               ("throughput/images_per_second", dt > 0 ? Float(Double(config.batchSize) / dt) : 0)], step: step)
            progress?.update(completed: step, detail: String(format: "loss %.4f", r.loss))
            let last = step == config.steps
            // The sample grid of a step is written before its checkpoint: a run killed in between
            // resumes from the checkpoint before and renders the grid again (the same bytes); in
            // the other order the resumed run would start after the step and never write it.
            if sampleGridColumns > 0 && (last || (config.sampleEvery > 0 && step % config.sampleEvery == 0)) {
                let url = directory.appendingPathComponent(String(format: "samples/step-%06d.png", step))
                let grid = try sampleGrid(columns: sampleGridColumns)
                try ImageIO.write(grid, to: url)
                try board.image("samples", ByteImage(tensor: grid), step: step)
                log("step \(step): loss \(String(format: "%.4f", r.loss)), samples in \(url.path)")
            }
            if last || step == end || (config.checkpointEvery > 0 && step % config.checkpointEvery == 0) {
                try handle.synchronize()
                try saveCheckpoint(ckpt)
            }
        }
    }

    /// Keeps only lines of `url` whose step is at most `step` (creating the file if needed).
    func truncateLossLog(_ url: URL, keepingThrough step: Int) throws {
        guard FileManager.default.fileExists(atPath: url.path) else {
            try Data().write(to: url)
            return
        }
        let text = try String(contentsOf: url, encoding: .utf8)
        var kept = ""
        for line in text.split(separator: "\n") {
            guard let r = line.range(of: "\"step\":"), let n = Int(line[r.upperBound...].prefix(while: \.isNumber)) else { continue }
            if n <= step { kept += line + "\n" }
        }
        try Data(kept.utf8).write(to: url, options: .atomic)
    }
}

/// A placeholder encoder for sampling from precomputed caption states (never asked to encode).
struct NoTextEncoder: TextEncoder {
    let name: String
    let width: Int
    func encode(_ texts: [String]) throws -> Conditioning {
        throw DiffusionError.badData(path: name, reason: "captions were expected to be encoded already")
    }
}

/// Turns a training checkpoint into a model file: its EMA weights (or, with `ema` false, the raw
/// optimized weights) in float16 with the network configuration as metadata.
public func exportWeights(checkpoint url: URL, to output: URL, name: String, textEncoder: String, ema: Bool = true,
                          extra: [String: String] = [:], sampling: SamplingRecommendation? = nil) throws -> UNetModelInfo {
    let file: SafetensorsFile
    do { file = try SafetensorsFile(url: url) } catch {
        throw DiffusionError.badCheckpoint(path: url.path, reason: "not a readable safetensors file (\(error))")
    }
    guard let meta = file.metadata, meta["format"] == DiffusionTrainer.checkpointFormat, let json = meta["config"],
          let config = try? JSONDecoder().decode(DiffusionTrainConfig.self, from: Data(json.utf8)) else {
        throw DiffusionError.badCheckpoint(path: url.path, reason: "not a diffusion training checkpoint")
    }
    var g = RandomGenerator(seed: 0)
    let unet = UNet2DCondition(config.unet, generator: &g)
    var dict: [String: Tensor] = [:]
    let prefix = ema ? "ema." : "model."
    for n in file.names where n.hasPrefix(prefix) { dict[String(n.dropFirst(prefix.count))] = try file.tensor(n) }
    do { try unet.loadStateDict(dict, source: url.path + " (\(prefix.dropLast()))") } catch {
        throw DiffusionError.badCheckpoint(path: url.path, reason: "\(error)")
    }
    var info = UNetModelInfo(name: name, config: config.unet, textEncoder: textEncoder, extra: extra, sampling: sampling)
    info.extra["train_steps"] = meta["step"] ?? "?"
    info.extra["train_seed"] = String(config.seed)
    info.extra["weights"] = ema ? "ema" : "model"
    try UNetCheckpoint.save(unet, info: info, to: output)
    return info
}
