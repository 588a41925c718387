import SynTensor

/// Classifier-free guidance (Ho & Salimans, "Classifier-Free Diffusion Guidance", 2022):
/// out = out_uncond + s (out_cond - out_uncond), as diffusers' Stable Diffusion pipeline applies it
/// to the model output (eps or v). The unconditional and conditional halves run as one batch,
/// unconditional first.
///
/// Two optional refinements, both off by default:
/// - `rescale` (diffusers `guidance_rescale`; Lin et al., "Common Diffusion Noise Schedules and
///   Sample Steps are Flawed", 2023, eq. 15-16): the guided output is rescaled per image to the
///   standard deviation of the conditional output, then mixed back with weight `rescale`, which
///   counters the over-exposure that large scales cause with v-prediction.
/// - `interval` (Kynkaanniemi et al., "Applying Guidance in a Limited Interval Improves Sample and
///   Distribution Quality in Diffusion Models", 2024): guidance is applied only at training
///   timesteps inside the interval; elsewhere the conditional output is used alone.
public struct ClassifierFreeGuidance: Sendable, Hashable {
    /// The guidance scale s; SynCLR renders with 2.5. At exactly 1 only the conditional pass runs.
    public var scale: Float
    /// Weight of the standard-deviation rescaled output (0: plain guidance, diffusers' default).
    public var rescale: Float
    /// Training timesteps at which guidance applies (nil: all).
    public var interval: ClosedRange<Float>?

    /// Guidance at scale `scale` (SynCLR's default 2.5), optionally rescaled and limited to an interval.
    public init(scale: Float = 2.5, rescale: Float = 0, interval: ClosedRange<Float>? = nil) {
        self.scale = scale
        self.rescale = rescale
        self.interval = interval
    }

    /// Guidance at scale `scale` with the refinements a model file recommends (plain when nil).
    public init(scale: Float = 2.5, recommended: SamplingRecommendation?) {
        self.init(scale: scale, rescale: recommended?.guidanceRescale ?? 0, interval: recommended?.guidanceInterval)
    }

    /// Whether the unconditional pass is needed at some timestep (any scale other than 1).
    public var needsUnconditional: Bool { scale != 1 }

    /// Whether guidance is applied at training timestep `t`.
    public func applies(at t: Float) -> Bool {
        needsUnconditional && (interval?.contains(t) ?? true)
    }

    /// out_uncond + s (out_cond - out_uncond), then the optional rescale.
    public func combine(unconditional: Tensor, conditional: Tensor) -> Tensor {
        let guided = unconditional + scale * (conditional - unconditional)
        guard rescale != 0 else { return guided }
        return rescaled(guided, toMatch: conditional)
    }

    /// phi * cfg * (std_cond / std_cfg) + (1 - phi) * cfg, with per-image standard deviations over
    /// every dimension but the batch (diffusers `rescale_noise_cfg`).
    func rescaled(_ guided: Tensor, toMatch conditional: Tensor) -> Tensor {
        let axes = Array(1..<guided.shape.count)
        let stdCond = conditional.variance(axes: axes, correction: 1, keepDims: true).sqrt()
        let stdCfg = guided.variance(axes: axes, correction: 1, keepDims: true).sqrt()
        let ratio = stdCond / stdCfg.clamp(min: 1e-12)
        return rescale * (guided * ratio) + (1 - rescale) * guided
    }

    /// The guided prediction for `modelInput` [B, ...] at `timestep`: one predictor call on
    /// [uncond; cond] (batch 2B), or on the conditional batch alone when guidance does not apply.
    public func predict<P: NoisePredictor>(_ predictor: P, modelInput: Tensor, timestep: Float,
                                           conditioning: Conditioning, unconditional: Conditioning?) -> Tensor {
        let b = modelInput.shape[0]
        guard applies(at: timestep) else {
            return predictor.predict(modelInput, timesteps: Tensor(shape: [b], repeating: timestep),
                                     conditioning: conditioning)
        }
        guard let unconditional else {
            preconditionFailure("guidance scale \(scale) needs an unconditional conditioning")
        }
        if let ub = unconditional.batchSize {
            precondition(ub == b, "unconditional batch \(ub) does not match the sample batch \(b)")
        }
        let input = Tensor.concatenate([modelInput, modelInput], axis: 0)
        let both = Conditioning.concatenated([unconditional, conditioning])
        let out = predictor.predict(input, timesteps: Tensor(shape: [2 * b], repeating: timestep), conditioning: both)
        precondition(out.shape.first == 2 * b, "predictor returned shape \(out.shape) for a batch of \(2 * b)")
        return combine(unconditional: out.narrow(0, start: 0, length: b), conditional: out.narrow(0, start: b, length: b))
    }
}
