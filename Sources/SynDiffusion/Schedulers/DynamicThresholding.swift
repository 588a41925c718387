import SynTensor

/// Dynamic thresholding of the predicted x0 (Saharia et al., "Imagen", 2022, section 2.3; diffusers
/// `_threshold_sample`): per image, s = the `ratio` quantile of |x0|, clamped to [1, maxValue];
/// x0 becomes clamp(x0, -s, s) / s. Unlike a fixed clip, saturated pixels are pulled back into
/// range with the rest of the image, which keeps large guidance scales from burning out images.
public struct DynamicThresholding: Sendable, Hashable, Codable {
    /// Quantile of |x0| taken as the threshold (diffusers `dynamic_thresholding_ratio`, 0.995).
    public var ratio: Float
    /// Largest threshold (diffusers `sample_max_value`; 1 reduces to a plain clip at 1).
    public var maxValue: Float

    /// Thresholding at quantile `ratio`, threshold at most `maxValue`.
    public init(ratio: Float = 0.995, maxValue: Float = 1) {
        self.ratio = ratio
        self.maxValue = maxValue
    }

    /// The thresholded x0 [B, ...].
    public func callAsFunction(_ x0: Tensor) -> Tensor {
        let b = x0.shape[0]
        let flat = x0.contiguous().reshaped([b, x0.count / max(b, 1)])
        let n = flat.shape[1]
        let values = flat.scalars
        var scale = [Float](repeating: 1, count: b)
        for i in 0..<b {
            let sorted = values[(i * n)..<((i + 1) * n)].map(abs).sorted()
            scale[i] = min(max(Self.quantile(sorted, ratio), 1), maxValue)
        }
        var shape = [b]
        shape += [Int](repeating: 1, count: x0.shape.count - 1)
        let s = Tensor(shape: shape, data: scale)
        return x0.maximum(-s).minimum(s) / s
    }

    /// torch.quantile's default ("linear") interpolation over ascending `sorted`.
    static func quantile(_ sorted: [Float], _ q: Float) -> Float {
        guard sorted.count > 1 else { return sorted.first ?? 0 }
        let pos = Double(q) * Double(sorted.count - 1)
        let lo = Int(pos.rounded(.down)), hi = min(lo + 1, sorted.count - 1)
        let frac = Float(pos - Double(lo))
        return sorted[lo] + (sorted[hi] - sorted[lo]) * frac
    }
}
