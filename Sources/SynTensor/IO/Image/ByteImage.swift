/// An 8-bit image with interleaved channels: `pixels[(y * width + x) * channels + c]`.
///
/// The raw, fast layout (what the decoders produce): 1 channel = gray, 3 = RGB, 4 = RGBA.
/// `tensor()` gives the model layout, Float [C, H, W] in [0, 1].
public struct ByteImage: Sendable, Equatable {
    /// Columns.
    public let width: Int
    /// Rows.
    public let height: Int
    /// Samples per pixel: 1 (gray), 3 (RGB) or 4 (RGBA).
    public let channels: Int
    /// Row-major, channel-interleaved samples (HWC), `width * height * channels` of them.
    public var pixels: [UInt8]

    /// Wraps `pixels` (HWC); `channels` must be 1, 3 or 4 and the count must match.
    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        precondition([1, 3, 4].contains(channels), "ByteImage needs 1, 3 or 4 channels, got \(channels)")
        precondition(width >= 0 && height >= 0 && pixels.count == width * height * channels,
                     "ByteImage \(width)x\(height)x\(channels) needs \(width * height * channels) samples, got \(pixels.count)")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// The sample at column `x`, row `y`, channel `c`.
    public subscript(x: Int, y: Int, c: Int) -> UInt8 {
        pixels[(y * width + x) * channels + c]
    }

    /// This image with `channels` channels, converted the way Pillow's `convert` does:
    /// gray -> RGB repeats the value; RGB -> gray is ITU-R 601 luma
    /// (R * 19595 + G * 38470 + B * 7471 + 0x8000) >> 16; adding alpha makes it opaque (255);
    /// dropping alpha discards it (no compositing).
    public func converted(toChannels target: Int) -> ByteImage {
        precondition([1, 3, 4].contains(target), "target channels must be 1, 3 or 4, got \(target)")
        if target == channels { return self }
        let n = width * height
        let src = channels
        let out = [UInt8](unsafeUninitializedCapacity: n * target) { dst, initialized in
            pixels.withUnsafeBufferPointer { s in
                for i in 0..<n {
                    let p = i * src, q = i * target
                    if src == 1 {
                        let v = s[p]
                        dst[q] = v
                        if target >= 3 { dst[q + 1] = v; dst[q + 2] = v }
                    } else if target == 1 {
                        let r = UInt32(s[p]), g = UInt32(s[p + 1]), b = UInt32(s[p + 2])
                        dst[q] = UInt8((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16)
                    } else {
                        dst[q] = s[p]; dst[q + 1] = s[p + 1]; dst[q + 2] = s[p + 2]
                    }
                    if target == 4 { dst[q + 3] = src == 4 ? s[p + 3] : 255 }
                }
            }
            initialized = n * target
        }
        return ByteImage(width: width, height: height, channels: target, pixels: out)
    }
}
