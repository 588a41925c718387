import SynTensor

/// Turns captions into the conditioning a denoiser attends to: token states [B, L, D], an attention
/// mask [B, L] (1 = real token) and a pooled vector [B, D]. A user's own encoder (e.g. CLIP's text
/// tower) conforms and drops into the same generation job.
public protocol TextEncoder {
    /// Identifier recorded in manifests and checkpoints.
    var name: String { get }
    /// Width D of the token states and pooled vector.
    var width: Int { get }
    /// Encodes `texts` (the empty string is the unconditional prompt) padded to a common length.
    func encode(_ texts: [String]) throws -> Conditioning
}
