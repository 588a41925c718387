import SynTensor

/// Where a text-to-image model samples and how its samples become images: pixel space (this
/// package's small UNet, whose sample is the image) or the latent space of a VAE (Stable
/// Diffusion, Rombach et al. 2022, whose sample is decoded by the autoencoder). The generation job
/// is the same for both; only this value differs.
public struct SampleSpace {
    /// Shape [C, H, W] of one sample the denoiser works on.
    public let shape: [Int]
    /// Channels, height and width of one decoded image.
    public let imageShape: [Int]
    /// Training timesteps of the denoiser (a sampler takes at most this many steps).
    public let trainTimesteps: Int
    /// Most samples per denoiser call (a larger guided batch is evaluated in slices of this size,
    /// which bounds the activations at Stable Diffusion's 64x64 latents).
    public let maxBatch: Int
    private let makeScheduler: (SamplerKind, DynamicThresholding?) throws -> any NoiseScheduler
    private let decodeSamples: (Tensor) -> Tensor
    private let checkSteps: (Int, SamplerKind) -> String?

    /// A space from its parts: `scheduler` builds a sampler configured for the model, `decode` maps
    /// final samples [B, ...] to images [B, C, H, W] in [-1, 1] (before clamping), `stepsProblem`
    /// says why a step count cannot run with a sampler (nil: any count in 1...trainTimesteps can).
    public init(shape: [Int], imageShape: [Int], trainTimesteps: Int, maxBatch: Int = .max,
                scheduler: @escaping (SamplerKind, DynamicThresholding?) throws -> any NoiseScheduler,
                decode: @escaping (Tensor) -> Tensor, stepsProblem: ((Int, SamplerKind) -> String?)? = nil) {
        self.shape = shape
        self.imageShape = imageShape
        self.trainTimesteps = trainTimesteps
        self.maxBatch = max(1, maxBatch)
        self.makeScheduler = scheduler
        self.decodeSamples = decode
        self.checkSteps = stepsProblem ?? { _, _ in nil }
    }

    /// Why `steps` steps of `sampler` cannot run in this space (out of 1...trainTimesteps, or a
    /// scheduler config whose timesteps would leave the trained range), or nil.
    public func stepsProblem(_ steps: Int, sampler: SamplerKind) -> String? {
        guard steps >= 1, steps <= trainTimesteps else {
            return "`steps` \(steps) must be in 1...\(trainTimesteps) (the model's training timesteps)"
        }
        return checkSteps(steps, sampler)
    }

    /// The sampler `kind` for this model (with dynamic thresholding of x0 when given).
    public func scheduler(_ kind: SamplerKind, thresholding: DynamicThresholding? = nil) throws -> any NoiseScheduler {
        try makeScheduler(kind, thresholding)
    }

    /// Images [B, C, H, W] in [-1, 1] (not clamped) for final samples [B, ...].
    public func decode(_ samples: Tensor) -> Tensor { decodeSamples(samples) }

    /// Pixel space of a `UNet2DCondition` trained with `config`: samples are images, sampled on
    /// trailing timesteps (`SamplerKind.scheduler(for:)`).
    public static func pixels(_ config: UNetConfig) -> SampleSpace {
        let shape = [config.channels, config.sampleSize, config.sampleSize]
        return SampleSpace(shape: shape, imageShape: shape, trainTimesteps: config.trainTimesteps,
                           scheduler: { kind, t in kind.scheduler(for: config, thresholding: t) }, decode: { $0 })
    }

    /// The latent space of Stable Diffusion `model` for square images of `size` pixels: samples
    /// are [4, size / f, size / f] latents (f the VAE's downscale), samplers are built from the
    /// model's scheduler config as diffusers' `<Scheduler>.from_config` does, and each final latent
    /// is divided by the VAE's scaling factor and decoded on its own (so memory does not grow with
    /// the batch and an image's bytes do not depend on its batch-mates' count).
    /// Throws `DiffusionError.invalidParameter` naming `size` unless it is a positive multiple of
    /// the VAE factor times the UNet's downsampling factor.
    public static func latents(of model: StableDiffusion, size: Int) throws -> SampleSpace {
        let vaeFactor = model.vae.config.downscale
        let unetFactor = 1 << (model.unet.config.blockOutChannels.count - 1)
        let multiple = vaeFactor * unetFactor
        guard size >= multiple, size % multiple == 0 else {
            throw DiffusionError.invalidParameter("`size` \(size) must be a positive multiple of \(multiple) for this model "
                                                  + "(the VAE's factor \(vaeFactor) x the UNet's downsampling factor \(unetFactor)); "
                                                  + "its native size is \(model.nativeSize)")
        }
        let side = size / vaeFactor
        // About two 64x64 latents per UNet call: one guided image of SD 1.5 at 512x512, the shape
        // `synclr-bench --sd` measures; smaller latents take proportionally more per call.
        let maxBatch = max(1, (2 * 64 * 64) / (side * side))
        let vae = model.vae, scheduler = model.scheduler
        let scale = Tensor(vae.config.scalingFactor)
        return SampleSpace(
            shape: [model.unet.config.inChannels, side, side], imageShape: [vae.config.outChannels, size, size],
            trainTimesteps: scheduler.trainSteps, maxBatch: maxBatch,
            scheduler: { kind, t in try scheduler.scheduler(kind, thresholding: t) },
            decode: { z in
                withNoGrad {
                    Tensor.concatenate((0..<z.shape[0]).map { vae.decode(z.narrow(0, start: $0, length: 1) / scale) }, axis: 0)
                }
            },
            stepsProblem: { scheduler.stepsProblem($0, sampler: $1) })
    }
}

extension StableDiffusion {
    /// The image side the model was trained at: the UNet's `sample_size` times the VAE factor
    /// (512 for SD 1.5, 768 for SD 2.x 768-v), diffusers' default height and width.
    public var nativeSize: Int { unet.config.sampleSize * vae.config.downscale }
}

/// A denoiser of any type behind one concrete type, so a generation job can hold the shipped UNet
/// or a Stable Diffusion UNet alike; batches above `maxBatch` are evaluated in slices.
public struct AnyNoisePredictor: NoisePredictor {
    /// The wrapped denoiser.
    public let base: any NoisePredictor
    /// Most samples per call of `base`.
    public let maxBatch: Int

    /// Wraps `base`, calling it on at most `maxBatch` samples at a time.
    public init(_ base: any NoisePredictor, maxBatch: Int = .max) {
        self.base = base
        self.maxBatch = max(1, maxBatch)
    }

    /// `base`'s prediction, sliced along the batch when it exceeds `maxBatch`.
    public func predict(_ sample: Tensor, timesteps: Tensor, conditioning: Conditioning) -> Tensor {
        let B = sample.shape[0]
        if B <= maxBatch { return base.predict(sample, timesteps: timesteps, conditioning: conditioning) }
        func rows(_ t: Tensor?, _ r: Range<Int>) -> Tensor? { t?.narrow(0, start: r.lowerBound, length: r.count).contiguous() }
        let parts = stride(from: 0, to: B, by: maxBatch).map { start -> Tensor in
            let r = start..<min(start + maxBatch, B)
            let c = Conditioning(tokens: rows(conditioning.tokens, r), mask: rows(conditioning.mask, r), pooled: rows(conditioning.pooled, r))
            return base.predict(rows(sample, r)!, timesteps: rows(timesteps, r)!, conditioning: c)
        }
        return Tensor.concatenate(parts, axis: 0)
    }
}
