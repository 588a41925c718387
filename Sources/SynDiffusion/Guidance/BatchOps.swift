import SynTensor

// Local batch helpers. They belong in SynTensor as `Tensor.concatenated(_:axis:)` (with a
// pullback that slices the gradient); until then SynDiffusion keeps this no-grad version.

/// `tensors` stacked along axis 0; all shapes must agree past the first axis (no autodiff).
func concatenateBatch(_ tensors: [Tensor]) -> Tensor {
    precondition(!tensors.isEmpty, "concatenateBatch needs at least one tensor")
    let first = tensors[0]
    precondition(first.rank >= 1, "concatenateBatch needs tensors of rank >= 1, got shape \(first.shape)")
    if tensors.count == 1 { return first }
    let tail = Array(first.shape.dropFirst())
    var data: [Float] = []
    data.reserveCapacity(tensors.reduce(0) { $0 + $1.count })
    var batch = 0
    for t in tensors {
        precondition(Array(t.shape.dropFirst()) == tail,
                     "cannot concatenate shape \(t.shape) with \(first.shape) along the batch")
        batch += t.shape[0]
        data += t.scalars
    }
    return Tensor(shape: [batch] + tail, data: data)
}
