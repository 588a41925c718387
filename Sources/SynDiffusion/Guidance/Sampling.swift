import SynTensor

/// Text-to-image style sampling with classifier-free guidance, for any predictor and scheduler.
///
/// Reference: the denoising loop of diffusers' `StableDiffusionPipeline.__call__`: latents =
/// noise * init_noise_sigma; per timestep scale_model_input on the doubled batch, one model call,
/// guidance, scheduler step.
///
/// - Parameters:
///   - predictor: the denoiser.
///   - scheduler: the sampler (copied; its schedule is set to `steps`).
///   - conditioning: the captions' encoding, batch B.
///   - unconditional: the empty prompt's encoding (nil: no guidance).
///   - initialNoise: standard-normal x_T [B, ...] (scaled by the scheduler's `initNoiseSigma` here).
///   - guidance: classifier-free guidance scale (1: conditional prediction only).
///   - steps: inference steps.
///   - noise: source of any per-step noise the scheduler asks for.
///   - onStep: called after each step with (step index, timestep, new sample).
/// - Returns: the final sample x_0.
public func sample<P: NoisePredictor, S: NoiseScheduler>(
    predictor: P, scheduler: S, conditioning: Conditioning, unconditional: Conditioning?,
    initialNoise: Tensor, guidance: Float = 2.5, steps: Int = 50,
    noise: NoiseSource, onStep: ((Int, Float, Tensor) -> Void)? = nil
) -> Tensor {
    sample(predictor: predictor, scheduler: scheduler, conditioning: conditioning, unconditional: unconditional,
           initialNoise: initialNoise, guidance: ClassifierFreeGuidance(scale: guidance), steps: steps,
           noise: noise, onStep: onStep)
}

/// `sample` with full control of the guidance (scale, rescale, interval).
public func sample<P: NoisePredictor, S: NoiseScheduler>(
    predictor: P, scheduler: S, conditioning: Conditioning, unconditional: Conditioning?,
    initialNoise: Tensor, guidance cfg: ClassifierFreeGuidance, steps: Int = 50,
    noise: NoiseSource, onStep: ((Int, Float, Tensor) -> Void)? = nil
) -> Tensor {
    var scheduler = scheduler
    scheduler.setTimesteps(steps)
    if let b = conditioning.batchSize {
        precondition(b == initialNoise.shape[0],
                     "conditioning batch \(b) does not match the sample batch \(initialNoise.shape[0])")
    }
    return withNoGrad {
        var x = initialNoise * scheduler.initNoiseSigma
        for (i, t) in scheduler.timesteps.enumerated() {
            let input = scheduler.scaleModelInput(x, timestep: t)
            let out = cfg.predict(predictor, modelInput: input, timestep: t,
                                  conditioning: conditioning, unconditional: unconditional)
            x = scheduler.step(out, timestep: t, sample: x, noise: noise).prevSample
            onStep?(i, t, x)
        }
        return x
    }
}

/// Guided sampling of `shape` [B, ...] where item i's initial and step noise come from
/// `generators[i]`, so each image depends only on its own seed, not on its batch-mates.
public func sample<P: NoisePredictor, S: NoiseScheduler>(
    predictor: P, scheduler: S, conditioning: Conditioning, unconditional: Conditioning?,
    shape: [Int], guidance: Float = 2.5, steps: Int = 50, generators: inout [RandomGenerator]
) -> Tensor {
    sample(predictor: predictor, scheduler: scheduler, conditioning: conditioning, unconditional: unconditional,
           shape: shape, guidance: ClassifierFreeGuidance(scale: guidance), steps: steps, generators: &generators)
}

/// `sample(shape:generators:)` with full control of the guidance.
public func sample<P: NoisePredictor, S: NoiseScheduler>(
    predictor: P, scheduler: S, conditioning: Conditioning, unconditional: Conditioning?,
    shape: [Int], guidance: ClassifierFreeGuidance, steps: Int = 50, generators: inout [RandomGenerator]
) -> Tensor {
    let x = randnPerItem(shape, generators: &generators)
    return sample(predictor: predictor, scheduler: scheduler, conditioning: conditioning,
                  unconditional: unconditional, initialNoise: x, guidance: guidance, steps: steps,
                  noise: { randnPerItem($0, generators: &generators) })
}

/// Guided sampling of `shape` with all noise drawn from one `generator`.
public func sample<P: NoisePredictor, S: NoiseScheduler>(
    predictor: P, scheduler: S, conditioning: Conditioning, unconditional: Conditioning?,
    shape: [Int], guidance: Float = 2.5, steps: Int = 50, generator: inout RandomGenerator
) -> Tensor {
    sample(predictor: predictor, scheduler: scheduler, conditioning: conditioning, unconditional: unconditional,
           shape: shape, guidance: ClassifierFreeGuidance(scale: guidance), steps: steps, generator: &generator)
}

/// `sample(shape:generator:)` with full control of the guidance.
public func sample<P: NoisePredictor, S: NoiseScheduler>(
    predictor: P, scheduler: S, conditioning: Conditioning, unconditional: Conditioning?,
    shape: [Int], guidance: ClassifierFreeGuidance, steps: Int = 50, generator: inout RandomGenerator
) -> Tensor {
    let x = Tensor.randn(shape, generator: &generator)
    return sample(predictor: predictor, scheduler: scheduler, conditioning: conditioning,
                  unconditional: unconditional, initialNoise: x, guidance: guidance, steps: steps,
                  noise: { Tensor.randn($0, generator: &generator) })
}
