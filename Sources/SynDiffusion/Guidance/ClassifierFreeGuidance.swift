import SynTensor

/// Classifier-free guidance (Ho & Salimans, "Classifier-Free Diffusion Guidance", 2022):
/// out = out_uncond + s (out_cond - out_uncond), as diffusers' Stable Diffusion pipeline applies it
/// to the model output (eps or v). The unconditional and conditional halves run as one batch,
/// unconditional first.
public struct ClassifierFreeGuidance: Sendable {
    /// The guidance scale s; SynCLR renders with 2.5. At exactly 1 only the conditional pass runs.
    public var scale: Float

    /// Guidance at scale `scale` (SynCLR's default 2.5).
    public init(scale: Float = 2.5) {
        self.scale = scale
    }

    /// Whether the unconditional pass is needed (any scale other than 1).
    public var needsUnconditional: Bool { scale != 1 }

    /// out_uncond + s (out_cond - out_uncond).
    public func combine(unconditional: Tensor, conditional: Tensor) -> Tensor {
        unconditional + scale * (conditional - unconditional)
    }

    /// The guided prediction for `modelInput` [B, ...] at `timestep`: one predictor call on
    /// [uncond; cond] (batch 2B), or on the conditional batch alone when the scale is 1.
    public func predict<P: NoisePredictor>(_ predictor: P, modelInput: Tensor, timestep: Float,
                                           conditioning: Conditioning, unconditional: Conditioning?) -> Tensor {
        let b = modelInput.shape[0]
        guard needsUnconditional else {
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
