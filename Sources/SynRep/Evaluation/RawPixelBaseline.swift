import SynTensor

/// The raw-pixel baseline: the features are the flattened input pixels.
public enum RawPixelBaseline {
    /// Flattens images [N, ...] (e.g. [N, 1, 28, 28] or [N, 3, 32, 32]) into features [N, prod(rest)].
    public static func features(_ images: Tensor) -> Tensor {
        precondition(images.rank >= 2, "raw-pixel features need a batch dimension, got \(images.shape)")
        return withNoGrad { images.detached().contiguous().reshaped([images.shape[0], -1]) }
    }
}
