import SynTensor

/// A text-to-image model: a denoiser plus the text encoder it was trained with, sampled with
/// classifier-free guidance (empty caption as the unconditional prompt, both halves in one batch)
/// in its `SampleSpace` (pixels for this package's UNet, VAE latents for Stable Diffusion).
public struct TextToImage<Predictor: NoisePredictor> {
    /// The denoiser.
    public let predictor: Predictor
    /// Sample shape, samplers and decoding of the model.
    public let space: SampleSpace
    /// The caption encoder.
    public let encoder: any TextEncoder

    /// A pixel-space model trained with `config` (schedule, prediction type, image size).
    public init(predictor: Predictor, config: UNetConfig, encoder: any TextEncoder) {
        self.init(predictor: predictor, space: .pixels(config), encoder: encoder)
    }

    /// A model sampling in `space`.
    public init(predictor: Predictor, space: SampleSpace, encoder: any TextEncoder) {
        self.predictor = predictor
        self.space = space
        self.encoder = encoder
    }

    /// Images [B, C, H, W] in [0, 1] for already encoded captions; image i starts from
    /// `seeds[i]`'s noise and draws any step noise from it, so it does not depend on its batch-mates'
    /// seeds. `unconditional` is the encoding of "" repeated B times (needed unless guidance is 1).
    public func generate(conditioning: Conditioning, unconditional: Conditioning?, seeds: [UInt64], guidance: Float,
                         steps: Int, sampler: SamplerKind, onStep: ((Int) -> Void)? = nil) throws -> Tensor {
        try generate(conditioning: conditioning, unconditional: unconditional, seeds: seeds,
                     guidance: ClassifierFreeGuidance(scale: guidance), steps: steps, sampler: sampler, onStep: onStep)
    }

    /// `generate` with full control of the guidance and dynamic thresholding of x0 (DDIM, DDPM, DPM-Solver++;
    /// Euler has none: `ImageJobOptions.problems` refuses that pair). Throws when the model's
    /// scheduler configuration cannot build `sampler`.
    public func generate(conditioning: Conditioning, unconditional: Conditioning?, seeds: [UInt64],
                         guidance: ClassifierFreeGuidance, steps: Int, sampler: SamplerKind,
                         thresholding: DynamicThresholding? = nil, onStep: ((Int) -> Void)? = nil) throws -> Tensor {
        if let p = space.stepsProblem(steps, sampler: sampler) { throw DiffusionError.invalidParameter(p) }
        let scheduler = try space.scheduler(sampler, thresholding: thresholding)
        var generators = seeds.map { RandomGenerator(seed: $0) }
        let x0 = randnPerItem([seeds.count] + space.shape, generators: &generators)
        let x = sample(predictor: predictor, scheduler: scheduler, conditioning: conditioning,
                       unconditional: unconditional, initialNoise: x0, guidance: guidance, steps: steps,
                       noise: { randnPerItem($0, generators: &generators) }, onStep: { i, _, _ in onStep?(i) })
        // Stable Diffusion's postprocessing (diffusers' `image / 2 + 0.5` clamped), also right for pixel models trained in [-1, 1].
        return withNoGrad { ((space.decode(x) + 1) * 0.5).clamp(min: 0, max: 1) }
    }

    /// Encodes `captions` (and "" for guidance) and generates one image per (caption, seed) pair.
    public func generate(captions: [String], seeds: [UInt64], guidance: Float, steps: Int,
                         sampler: SamplerKind) throws -> Tensor {
        guard captions.count == seeds.count else {
            throw DiffusionError.invalidParameter("\(captions.count) captions for \(seeds.count) seeds: give one seed per caption")
        }
        let cond = try encoder.encode(captions)
        let uncond = guidance == 1 ? nil : try encoder.encode(Array(repeating: "", count: captions.count))
        return try generate(conditioning: cond, unconditional: uncond, seeds: seeds, guidance: guidance, steps: steps, sampler: sampler)
    }
}
