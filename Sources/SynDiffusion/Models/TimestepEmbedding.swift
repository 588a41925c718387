import Foundation
import SynTensor

/// Sinusoidal timestep features [B, dim] for timesteps [B], as diffusers' `get_timestep_embedding`
/// with `flip_sin_to_cos = true`, `downscale_freq_shift = 0` (the UNet2DConditionModel default):
/// freq_i = exp(-ln(10000) i / (dim/2)), features = [cos(t freq), sin(t freq)].
/// Reference: Vaswani et al. 2017 (positional encoding), Ho et al. 2020 (DDPM) Appendix B.
public func sinusoidalTimestepEmbedding(_ timesteps: Tensor, dim: Int, maxPeriod: Double = 10000) -> Tensor {
    precondition(timesteps.rank == 1, "timesteps must be [B], got \(timesteps.shape)")
    precondition(dim % 2 == 0, "timestep embedding width must be even, got \(dim)")
    let half = dim / 2
    let ts = timesteps.scalars
    // Frequencies in Float as torch computes them (exp of a float32 exponent).
    let freqs: [Float] = (0..<half).map { i in
        Foundation.exp(Float(-Foundation.log(maxPeriod)) * Float(i) / Float(half))
    }
    var out = [Float](repeating: 0, count: ts.count * dim)
    for (b, t) in ts.enumerated() {
        for i in 0..<half {
            let a = t * freqs[i]
            out[b * dim + i] = Foundation.cos(a)
            out[b * dim + half + i] = Foundation.sin(a)
        }
    }
    return Tensor(shape: [ts.count, dim], data: out)
}

/// Two-layer MLP on the timestep features: linear_1 -> SiLU -> linear_2 (diffusers `TimestepEmbedding`).
/// The same block projects the pooled caption vector (`add_embedding`).
public final class TimestepEmbedding: Module {
    /// in -> hidden.
    public let linear1: Linear
    /// hidden -> hidden.
    public let linear2: Linear

    /// An MLP from `inFeatures` to `width`.
    public init(_ inFeatures: Int, width: Int, generator: inout RandomGenerator) {
        linear1 = Linear(inFeatures, width, generator: &generator)
        linear2 = Linear(width, width, generator: &generator)
        super.init()
    }

    override public var children: [(String, Module)] { [("linear_1", linear1), ("linear_2", linear2)] }

    /// x [B, in] -> [B, width].
    public func callAsFunction(_ x: Tensor) -> Tensor { linear2(linear1(x).silu()) }
}
