import Foundation
import SynTensor
import SynDiffusion

/// The deterministic stand-in denoiser of Scripts/fixtures/fixtures_schedulers.py (`dummy_model`):
/// out = k(t) x + w(t) sin(3x) [+ 0.2 c(t) pooled[b, ch]], with u = t / 1000,
/// s = sin(pi/2 u), c = cos(pi/2 u), k = s / (0.25 c^2 + s^2), w = 0.05 cos(3u).
/// Scalars and sin in double rounded once to float, the rest in float, as the script does.
struct DummyModel: NoisePredictor {
    func predict(_ x: Tensor, timesteps: Tensor, conditioning: Conditioning) -> Tensor {
        let b = x.shape[0]
        let ts = timesteps.scalars
        precondition(ts.count == b, "timesteps \(ts.count) for batch \(b)")
        let coeffShape = [b] + Array(repeating: 1, count: x.rank - 1)
        var k: [Float] = [], w: [Float] = [], cb: [Float] = []
        for t in ts {
            let u = Double(t) / 1000.0
            let s = Foundation.sin(Double.pi / 2 * u), c = Foundation.cos(Double.pi / 2 * u)
            k.append(Float(s / (0.25 * c * c + s * s)))
            w.append(Float(0.05 * Foundation.cos(3 * u)))
            cb.append(Float(0.2 * c))
        }
        var out = x * Tensor(shape: coeffShape, data: k) + Tensor(shape: coeffShape, data: w) * sinViaDouble(x * 3)
        if let pooled = conditioning.pooled {
            let bias = pooled.reshaped([b, x.shape[1]] + Array(repeating: 1, count: x.rank - 2))
            out = out + Tensor(shape: coeffShape, data: cb) * bias
        }
        return out
    }
}

/// sin per element computed in double and rounded once (bit-reproducible across libms).
private func sinViaDouble(_ x: Tensor) -> Tensor {
    Tensor(shape: x.shape, data: x.scalars.map { Float(Foundation.sin(Double($0))) })
}
