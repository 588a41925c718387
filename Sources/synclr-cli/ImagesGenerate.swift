import ArgumentParser
import Foundation
import SynDiffusion
import SynTensor

/// `synclr images [generate]`: N images per caption with classifier-free guidance.
struct ImagesGenerate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Render N images per caption (default command of `synclr images`).",
        discussion: """
            Images go to OUT/images/NNNNN/PPPPPP_K.png (NNNNN = caption position / 1000, PPPPPP = caption \
            position, K = image index) and OUT/manifest.jsonl lists every finished image in caption order \
            with path, caption_id, caption, index, seed, guidance, steps, model (and concept when the \
            caption line has one). Image K of caption C uses a seed derived from (--seed, id of C, K), and \
            captions are rendered in fixed batches of --batch-captions, so rerunning an interrupted job, \
            or splitting it with --shard i/n (into one folder, or separate folders merged afterwards), \
            gives byte-identical images; rerunning any shard (or the whole job) after all finished \
            rebuilds the complete manifest.
            """)

    @Option(help: "Captions JSONL: one object per line with `caption` (and optional `id`, `concept`).") var captions: String
    @Option(help: "Output folder.") var out: String
    @Option(help: "Images per caption.") var perCaption: Int = 4
    @Option(help: "Classifier-free guidance scale, SynCLR's 2.5 by default (1 disables the unconditional pass). The model file's recommended rescale and interval apply unless overridden.") var guidance: Float = 2.5
    @Option(help: "Sampler steps.") var steps: Int = 50
    @Option(help: "Sampler: ddim, dpm++, euler or ddpm.") var sampler: String = "ddim"
    @Option(help: "Job seed.") var seed: UInt64 = 0
    @Option(help: "Render only part i of n (0-based), e.g. 0/4.") var shard: String = "0/1"
    @Option(help: "UNet model file (default: the shipped Fashion-MNIST model).") var model: String?
    @Option(help: "Text encoder folder (default: the installed all-MiniLM-L6-v2).") var textEncoder: String?
    @Option(help: "Captions per batch (x per-caption x 2 with guidance); part of the job's identity.") var batchCaptions: Int = 8
    @OptionGroup var refinements: GuidanceOptions

    func run() async throws {
        guard let samplerKind = SamplerKind(rawValue: sampler) else {
            throw ValidationError("unknown sampler '\(sampler)'; choose \(SamplerKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let shardSpec = Shard(shard) else { throw ValidationError("--shard must be i/n with 0 <= i < n, got '\(shard)'") }
        let records = try CaptionFile.read(URL(fileURLWithPath: captions))
        guard !records.isEmpty else { throw ValidationError("\(captions) holds no captions") }
        let modelURL = try model.map { URL(fileURLWithPath: $0) } ?? DefaultModel.url()
        let (unet, info) = try UNetCheckpoint.load(modelURL)
        let encoder = try MiniLMTextEncoder(directory: textEncoder.map { URL(fileURLWithPath: $0) } ?? MiniLMTextEncoder.defaultDirectory)
        if !info.textEncoder.isEmpty && info.textEncoder != encoder.name {
            throw ValidationError("\(modelURL.path) was trained with text encoder '\(info.textEncoder)', but '\(encoder.name)' is loaded")
        }
        guard encoder.width == info.config.crossAttentionDim else {
            throw ValidationError("\(modelURL.path) expects \(info.config.crossAttentionDim)-wide text states, the encoder gives \(encoder.width)")
        }
        var options = ImageJobOptions(perCaption: perCaption, guidance: guidance, steps: steps, sampler: samplerKind, seed: seed,
                                      model: info.name, unitCaptions: batchCaptions)
        try refinements.apply(to: &options, recommended: info.sampling)
        let job = ImageJob(model: TextToImage(predictor: unet, config: info.config, encoder: encoder), captions: records,
                           options: options, directory: URL(fileURLWithPath: out), shard: shardSpec)
        let shardImages = (0..<job.unitCount).filter { shardSpec.owns(unit: $0) }.reduce(0) { $0 + job.positions(ofUnit: $1).count } * perCaption
        report("images: \(records.count) captions x \(perCaption) from \(modelURL.lastPathComponent) (\(info.name)), \(samplerKind.rawValue) \(steps) steps, guidance \(guidance)\(GuidanceOptions.describe(options)), seed \(seed), shard \(shardSpec): \(shardImages) images")
        let progress = ProgressReporter(label: "images", total: shardImages, unit: "img")
        let logProgress = isatty(STDERR_FILENO) == 0
        var lastLog = Date()
        let started = Date()
        let summary = try job.run(progress: progress) { done, total in
            // Without a terminal (nohup, CI) the reporter stays silent: log a line every 30 s instead.
            guard logProgress, Date().timeIntervalSince(lastLog) >= 30 || done == total else { return }
            lastLog = Date()
            let elapsed = Date().timeIntervalSince(started)
            let rate = elapsed > 0 ? Double(done) / elapsed : 0
            let eta = rate > 0 ? ProgressReporter.formatDuration(Double(total - done) / rate) : "?"
            report(String(format: "images: %d/%d  %.2f img/s  ETA %@", done, total, rate, eta))
        }
        progress.finish()
        if let w = summary.blasWarning { report("images: warning: " + w) }
        let rate = summary.seconds > 0 ? Double(summary.written) / summary.seconds : 0
        report(String(format: "images: wrote %d, skipped %d existing, in %.1f s (%.2f img/s); manifest %@ lists %d images",
                     summary.written, summary.skipped, summary.seconds, rate, out + "/manifest.jsonl", summary.manifestLines))
    }
}
