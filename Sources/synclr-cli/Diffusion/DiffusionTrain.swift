import ArgumentParser
import Foundation
import SynDiffusion
import SynTensor

/// `synclr diffusion train`: trains the UNet on Fashion-MNIST images paired with captions of their class.
struct DiffusionTrain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train the text-conditioned UNet on Fashion-MNIST with captions of each image's class.",
        discussion: """
            Each training image gets a caption drawn from the lines of --captions whose `concept` names its \
            class (SynCaption's fashion-mnist concepts "T-shirt or top", "trouser", ... "ankle boot", or the \
            dataset's own names), replaced by "" with probability --caption-dropout. Captions are encoded \
            once with all-MiniLM-L6-v2 and cached in OUT/text_cache.safetensors.

            OUT receives checkpoint.safetensors (every --checkpoint-every steps; rerun with --resume to \
            continue exactly), loss.jsonl, samples/step-N.png and, at the end, model.safetensors (EMA \
            weights, float16) for `synclr images --model`.
            """)

    @Option(help: "Captions JSONL (lines with `caption` and `concept`), e.g. from `synclr captions --concepts fashion-mnist`.")
    var captions: String
    @Option(help: "Output folder.") var out: String
    @Flag(help: "Continue from OUT/checkpoint.safetensors.") var resume = false
    @Option(help: "Optimizer steps.") var steps: Int = 3000
    @Option(help: "Images per step.") var batchSize: Int = 64
    @Option(help: "Peak learning rate.") var lr: Float = 1e-3
    @Option(help: "Warm-up steps.") var warmup: Int = 100
    @Option(help: "EMA decay.") var emaDecay: Float = 0.999
    @Option(help: "Probability of training on the empty caption.") var captionDropout: Float = 0.1
    @Option(help: "Min-SNR gamma (0: unweighted).") var minSnrGamma: Float = 5
    @Option(help: "Widths of the UNet levels, finest first.") var channels: String = "16,32,64,64"
    @Option(help: "Levels with attention (1/0 per level).") var attention: String = "0,0,1,1"
    @Option(help: "Prediction type: epsilon or v_prediction.") var prediction: String = "v_prediction"
    @Option(help: "Checkpoint every N steps.") var checkpointEvery: Int = 100
    @Option(help: "Sample grid every N steps.") var sampleEvery: Int = 500
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "Use at most N training images (0: all 60000).") var limit: Int = 0
    @Option(help: "Fashion-MNIST folder (default $SYNCLR_FASHION_MNIST or /usr/share/datasets/fashion-mnist).")
    var fashionMnist: String?
    @Option(help: "Text encoder folder (default: the installed all-MiniLM-L6-v2).") var textEncoder: String?
    @Option(help: "Model name recorded in model.safetensors and image manifests.") var name: String = "synclr-fashion-unet"
    @Option(help: "Start from the weights of this training checkpoint or model file (a second phase; fresh optimizer).")
    var initFrom: String?
    @Option(help: "Learning rate at the end of the cosine decay, as a fraction of --lr.") var finalLrScale: Float = 0.05

    func run() async throws {
        var unet = UNetConfig()
        unet.blockOutChannels = channels.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        unet.attentionLevels = attention.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) == "1" }
        guard let pt = PredictionType(rawValue: prediction) else {
            throw ValidationError("unknown prediction type '\(prediction)'; use epsilon or v_prediction")
        }
        unet.predictionType = pt
        var config = DiffusionTrainConfig(unet: unet, steps: steps, batchSize: batchSize, learningRate: lr, warmupSteps: warmup,
                                          emaDecay: emaDecay, captionDropout: captionDropout, minSNRGamma: minSnrGamma,
                                          seed: seed, checkpointEvery: checkpointEvery, sampleEvery: sampleEvery,
                                          initFrom: initFrom)
        config.finalLearningRateScale = finalLrScale
        config.unet.crossAttentionDim = 384
        guard config.problems.isEmpty else { throw ValidationError(config.problems.joined(separator: "; ")) }

        let dir = URL(fileURLWithPath: out)
        // Held through the caption cache and the model export too (the trainer locks it again, re-entrantly).
        let lock = try OutputLock.folder(dir, job: "synclr diffusion train")
        defer { lock.release() }
        let captionsURL = URL(fileURLWithPath: captions)
        let records = try CaptionsFile.read(captionsURL)
        let (texts, byClass) = try CaptionBank.group(records, path: captionsURL.path)
        let data = try FashionMNISTImages.load(root: fashionMnist.map { URL(fileURLWithPath: $0) }, train: true,
                                               limit: limit > 0 ? limit : nil)
        let encoder = try MiniLMTextEncoder(directory: textEncoder.map { URL(fileURLWithPath: $0) } ?? MiniLMTextEncoder.defaultDirectory)
        let cacheURL = dir.appendingPathComponent("text_cache.safetensors")
        let bank: CaptionBank
        if let cached = try CaptionBank.load(cacheURL, texts: texts, byClass: byClass, encoderName: encoder.name) {
            bank = cached
            report("train: \(texts.count - 1) distinct captions, encodings from \(cacheURL.path)")
        } else {
            let p = ProgressReporter(label: "encoding captions", total: texts.count, unit: "caption")
            let t0 = Date()
            bank = try CaptionBank(texts: texts, byClass: byClass, encoder: encoder) { done, _ in p.update(completed: done) }
            p.finish()
            try bank.save(to: cacheURL)
            report(String(format: "train: encoded %d distinct captions with %@ in %.1f s", texts.count - 1, encoder.name, Date().timeIntervalSince(t0)))
        }
        let trainer = DiffusionTrainer(config: config, images: data.images, labels: data.labels, bank: bank)
        report("train: \(data.labels.count) images, UNet \(config.unet.blockOutChannels) with \(trainer.model.parameterCount) parameters, \(config.unet.predictionType.rawValue), \(steps) steps of \(batchSize), seed \(seed)")
        let progress = ProgressReporter(label: "train", total: steps, unit: "step", startingAt: 0)
        let start = Date()
        try trainer.run(directory: dir, resume: resume, progress: progress) { report("train: " + $0) }
        progress.finish()
        let modelURL = dir.appendingPathComponent("model.safetensors")
        let command = CommandLine.arguments.dropFirst().joined(separator: " ")
        try trainer.exportModel(modelURL, name: name, extra: ["train_command": "synclr " + command,
                                                             "captions": captionsURL.lastPathComponent])
        report(String(format: "train: done in %.1f s; wrote %@", Date().timeIntervalSince(start), modelURL.path))
    }
}
