import SynTensor

/// Tiles equally sized images into one picture (sample grids, contact sheets).
public enum ImageGrid {
    /// `images` (each [C, H, W] with values in [0, 1]) laid out row by row, `columns` per row,
    /// separated by `gap` pixels of `background`; a nil entry leaves its cell empty.
    public static func tile(_ images: [Tensor?], columns: Int, gap: Int = 2, background: Float = 1) -> Tensor {
        precondition(columns > 0, "a grid needs at least one column")
        guard let first = images.compactMap({ $0 }).first else { return Tensor.full([1, 1, 1], background) }
        let C = first.shape[0], H = first.shape[1], W = first.shape[2]
        let rows = (images.count + columns - 1) / columns
        let outH = rows * H + (rows + 1) * gap, outW = columns * W + (columns + 1) * gap
        var out = [Float](repeating: background, count: C * outH * outW)
        for (k, image) in images.enumerated() {
            guard let image else { continue }
            precondition(image.shape == [C, H, W], "grid image \(k) has shape \(image.shape), expected \([C, H, W])")
            let r = k / columns, c = k % columns
            let top = gap + r * (H + gap), left = gap + c * (W + gap)
            let px = image.contiguous().scalars
            for ch in 0..<C {
                for y in 0..<H {
                    for x in 0..<W { out[(ch * outH + top + y) * outW + left + x] = px[(ch * H + y) * W + x] }
                }
            }
        }
        return Tensor(shape: [C, outH, outW], data: out)
    }
}
