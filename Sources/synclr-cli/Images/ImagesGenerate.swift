import ArgumentParser
import Foundation
import SynDiffusion
import SynMPI
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
            caption line has one), format_version. Image K of caption C uses a seed derived from (--seed, id of C, K), and \
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
    @Option(help: "Render only part i of n (0-based), e.g. 0/4, or auto: from mpiexec/srun, a Slurm array or a Kubernetes Indexed Job.") var shard: String = "0/1"
    @Option(help: "Shard count for --shard auto in a Kubernetes Indexed Job (default: $SYNCLR_SHARD_COUNT).") var shardCount: Int?
    @Option(help: "UNet model file (default: the shipped Fashion-MNIST model), or your own Stable Diffusion 1.x / 2.x: a diffusers folder (model_index.json, scheduler/, tokenizer/, text_encoder/, unet/, vae/) or a single-file original-layout .safetensors checkpoint.") var model: String?
    @Option(help: "Image side in pixels for a Stable Diffusion --model (default: its native size, 512 for SD 1.5); a multiple of the VAE factor x the UNet's downsampling factor (64 for SD 1.x / 2.x). Images are square.") var size: Int?
    @Option(help: "For a single-file Stable Diffusion --model: a diffusers folder whose configs (and tokenizer) to use instead of the SD 1.x / 2.x defaults.") var modelConfig: String?
    @Option(help: "Stable Diffusion only: override the scheduler's prediction type (epsilon or v_prediction).") var predictionType: String?
    @Option(help: "Text encoder folder for a UNet model file (default: the installed all-MiniLM-L6-v2).") var textEncoder: String?
    @Option(help: "Captions per batch (x per-caption x 2 with guidance); part of the job's identity.") var batchCaptions: Int = 8
    @OptionGroup var refinements: GuidanceOptions

    /// The library configuration these arguments describe.
    func configuration() throws -> ImageGenerationConfiguration {
        let shardSpec = try ShardOption.resolve(shard, count: shardCount)
        var prediction: PredictionType?
        if let predictionType {
            guard let p = PredictionType(rawValue: predictionType) else { throw ValidationError("--prediction-type must be epsilon or v_prediction, got '\(predictionType)'") }
            prediction = p
        }
        let models = ModelSelection(model: model, textEncoder: textEncoder, modelConfig: modelConfig, predictionType: prediction)
        return ImageGenerationConfiguration(captions: captions, output: out, perCaption: perCaption,
                                            guidance: try refinements.settings(scale: guidance), steps: steps,
                                            sampler: try SamplerKind.named(sampler), seed: seed, shard: shardSpec,
                                            models: models, batchCaptions: batchCaptions, size: size)
    }

    func run() async throws {
        try Self.execute(try configuration())
    }

    /// Runs the image job of `config`, reporting progress (also the pipeline's image stage, which
    /// passes its `communicator` and finalizes it itself).
    static func execute(_ config: ImageGenerationConfiguration, communicator: (any Communicator)? = nil) throws {
        let (job, description, shardImages) = try config.prepare()
        report("images: " + description)
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
        if let comm = communicator, comm.size > 1 {
            comm.barrier()
            if comm.isRoot { try job.writeManifest() }
        } else if config.shard.count > 1, LaunchEnvironment().isMPILaunch {
            // Each rank rebuilt the manifest from what it saw; once all have finished, rank 0
            // writes it from every rank's images, so it is complete and identical to one process's.
            let comm = try Distributed.communicator()
            comm.barrier()
            if comm.isRoot { try job.writeManifest() }
            comm.finalize()
        }
        let rate = summary.seconds > 0 ? Double(summary.written) / summary.seconds : 0
        report(String(format: "images: wrote %d, skipped %d existing, in %.1f s (%.2f img/s); manifest %@ lists %d images",
                     summary.written, summary.skipped, summary.seconds, rate, config.output + "/manifest.jsonl", summary.manifestLines))
    }
}
