import SynTensor

/// A text-to-image model: a denoiser plus the text encoder it was trained with, sampled with
/// classifier-free guidance (empty caption as the unconditional prompt, both halves in one batch).
public struct TextToImage<Predictor: NoisePredictor> {
    /// The denoiser.
    public let predictor: Predictor
    /// Its training configuration (schedule, prediction type, image size).
    public let config: UNetConfig
    /// The caption encoder.
    public let encoder: any TextEncoder

    /// Pairs a denoiser with its encoder.
    public init(predictor: Predictor, config: UNetConfig, encoder: any TextEncoder) {
        self.predictor = predictor
        self.config = config
        self.encoder = encoder
    }

    /// Images [B, C, H, W] in [0, 1] for already encoded captions; image i starts from
    /// `seeds[i]`'s noise and draws any step noise from it, so it does not depend on its batch-mates'
    /// seeds. `unconditional` is the encoding of "" repeated B times (needed unless guidance is 1).
    public func generate(conditioning: Conditioning, unconditional: Conditioning?, seeds: [UInt64], guidance: Float,
                         steps: Int, sampler: SamplerKind, onStep: ((Int) -> Void)? = nil) -> Tensor {
        generate(conditioning: conditioning, unconditional: unconditional, seeds: seeds,
                 guidance: ClassifierFreeGuidance(scale: guidance), steps: steps, sampler: sampler, onStep: onStep)
    }

    /// `generate` with full control of the guidance and dynamic thresholding of x0 (DDIM, DDPM, DPM-Solver++;
    /// Euler has none: `ImageJobOptions.problems` refuses that pair).
    public func generate(conditioning: Conditioning, unconditional: Conditioning?, seeds: [UInt64],
                         guidance: ClassifierFreeGuidance, steps: Int, sampler: SamplerKind,
                         thresholding: DynamicThresholding? = nil, onStep: ((Int) -> Void)? = nil) -> Tensor {
        var generators = seeds.map { RandomGenerator(seed: $0) }
        let shape = [seeds.count, config.channels, config.sampleSize, config.sampleSize]
        let x0 = randnPerItem(shape, generators: &generators)
        let x = sample(predictor: predictor, scheduler: sampler.scheduler(for: config, thresholding: thresholding), conditioning: conditioning,
                       unconditional: unconditional, initialNoise: x0, guidance: guidance, steps: steps,
                       noise: { randnPerItem($0, generators: &generators) }, onStep: { i, _, _ in onStep?(i) })
        return withNoGrad { ((x + 1) * 0.5).clamp(min: 0, max: 1) }
    }

    /// Encodes `captions` (and "" for guidance) and generates one image per (caption, seed) pair.
    public func generate(captions: [String], seeds: [UInt64], guidance: Float, steps: Int,
                         sampler: SamplerKind) throws -> Tensor {
        precondition(captions.count == seeds.count, "\(captions.count) captions for \(seeds.count) seeds")
        let cond = try encoder.encode(captions)
        let uncond = guidance == 1 ? nil : try encoder.encode(Array(repeating: "", count: captions.count))
        return generate(conditioning: cond, unconditional: uncond, seeds: seeds, guidance: guidance, steps: steps, sampler: sampler)
    }
}
