import ArgumentParser
import Foundation
import SynDiffusion
import SynTensor

/// `synclr diffusion denoise`: one Stable Diffusion run from given initial latents, for parity checks against diffusers.
struct DiffusionDenoise: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "denoise",
        abstract: "Denoise given initial latents with a Stable Diffusion 1.x / 2.x model and write the decoded image.",
        discussion: """
            --latents holds tensor `latents` [1, 4, h, w], already scaled as diffusers' prepare_latents leaves \
            them (times the sampler's initial sigma). The empty prompt is the unconditional input. --out gets \
            tensor `image` [1, 3, H, W] (float32): the VAE's output before any clamping or rescaling. The sampler \
            takes every option (betas, prediction type, timestep spacing, steps offset, set_alpha_to_one) from the \
            model's scheduler/scheduler_config.json.
            """)

    @Option(help: "A diffusers Stable Diffusion folder (model_index.json, scheduler/, tokenizer/, text_encoder/, unet/, vae/) or a single-file original-layout .safetensors checkpoint.") var model: String
    @Option(help: "For a single-file --model: a diffusers folder whose configs (and tokenizer) to use instead of the SD 1.x / 2.x defaults.") var config: String?
    @Option(help: "Override the scheduler's prediction type: epsilon or v_prediction.") var predictionType: String?
    @Option(help: "The prompt.") var prompt: String
    @Option(help: "safetensors file with tensor `latents` [1, 4, h, w].") var latents: String
    @Option(help: "Denoising steps.") var steps: Int = 50
    @Option(help: "Classifier-free guidance scale (<= 1: conditional pass only).") var guidance: Float = 2.5
    @Option(help: "Sampler: ddim, dpm++ or euler.") var sampler: String = "ddim"
    @Option(help: "Output safetensors file (tensor `image`).") var out: String

    func run() async throws {
        guard let kind = SamplerKind(rawValue: sampler), kind != .ddpm else {
            throw ValidationError("--sampler must be ddim, dpm++ or euler, got \(sampler)")
        }
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1") }
        let file = try SafetensorsFile(url: URL(fileURLWithPath: latents))
        guard file.contains("latents") else { throw ValidationError("\(latents) has no tensor `latents` (it has \(file.names.sorted()))") }
        let x = try file.tensor("latents")
        guard x.rank == 4, x.shape[0] == 1 else { throw ValidationError("\(latents): tensor `latents` must be [1, 4, h, w], got \(x.shape)") }
        var prediction: PredictionType?
        if let predictionType {
            guard let p = PredictionType(rawValue: predictionType) else { throw ValidationError("--prediction-type must be epsilon or v_prediction") }
            prediction = p
        }
        let sd = try StableDiffusion.load(URL(fileURLWithPath: model), config: config.map { URL(fileURLWithPath: $0) }, predictionType: prediction)
        let start = Date()
        let image = try sd.denoise(prompt: prompt, latents: x, steps: steps, guidance: guidance, sampler: kind)
        try Safetensors.save(["image": image.contiguous()], to: URL(fileURLWithPath: out))
        report("denoise: \(steps) \(sampler) steps at guidance \(guidance), image \(image.shape) -> \(out) (\(String(format: "%.1f", Date().timeIntervalSince(start))) s)")
    }
}
