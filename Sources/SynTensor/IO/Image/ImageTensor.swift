// Conversions between ByteImage (UInt8, HWC) and Tensor (Float, [C, H, W], values in [0, 1]).
//
// Layout choice: [C, H, W] in [0, 1] is what torchvision's ToTensor produces and what the
// models (conv patch embedding, normalization by channel mean/std) consume. Channel order
// is R, G, B (, A). The byte <-> float mapping matches PyTorch: to float is `v / 255`
// (exact division through a 256-entry table), to bytes is torchvision's `save_image`
// rounding, floor(x * 255 + 0.5) clamped to [0, 255] (NaN becomes 0).

/// Float32 `v / 255` for every byte value.
private let byteToUnitTable: [Float] = (0..<256).map { Float($0) / 255 }

extension ByteImage {
    /// The image as a Float tensor [C, H, W] with values `v / 255` in [0, 1].
    public func tensor() -> Tensor {
        let out = Tensor(uninitializedShape: [channels, height, width])
        let plane = width * height
        let c = channels
        let dst = out.basePointer
        byteToUnitTable.withUnsafeBufferPointer { table in
            pixels.withUnsafeBufferPointer { src in
                if c == 1 {
                    for i in 0..<plane { dst[i] = table[Int(src[i])] }
                    return
                }
                for ch in 0..<c {
                    let d = dst + ch * plane
                    for i in 0..<plane { d[i] = table[Int(src[i * c + ch])] }
                }
            }
        }
        return out
    }

    /// An image from a tensor [C, H, W] (C = 1, 3 or 4) or [H, W] (gray) with values in [0, 1];
    /// each value becomes floor(x * 255 + 0.5) clamped to 0...255.
    public init(tensor: Tensor) {
        let shape = tensor.shape
        let (c, h, w): (Int, Int, Int)
        switch shape.count {
        case 2: (c, h, w) = (1, shape[0], shape[1])
        case 3: (c, h, w) = (shape[0], shape[1], shape[2])
        default: preconditionFailure("ByteImage(tensor:) needs [C, H, W] or [H, W], got \(shape)")
        }
        precondition([1, 3, 4].contains(c), "ByteImage(tensor:) needs 1, 3 or 4 channels, got shape \(shape)")
        let plane = h * w
        let pixels = tensor.withUnsafeBufferPointer { src in
            [UInt8](unsafeUninitializedCapacity: plane * c) { dst, initialized in
                for ch in 0..<c {
                    let s = src.baseAddress! + ch * plane
                    for i in 0..<plane {
                        let v = s[i] * 255 + 0.5
                        // `v >= 0` is false for NaN, which therefore maps to 0.
                        dst[i * c + ch] = v >= 0 ? (v < 255 ? UInt8(v) : 255) : 0
                    }
                }
                initialized = plane * c
            }
        }
        self.init(width: w, height: h, channels: c, pixels: pixels)
    }
}
