import Foundation

/// A raster of 8-bit RGB or RGBA pixels to draw charts and contact sheets on.
///
/// Coordinates are pixels with the origin at the top-left; integer coordinates name pixel
/// centers (pixel (3, 4) is the square around the point (3, 4)). Drawing outside the canvas is
/// clipped. Colors blend "source over" with their alpha; on an RGBA canvas the destination
/// alpha is composited too. `write(to:)` saves it through `ImageIO` (PNG or JPEG by extension).
public struct Canvas: Sendable {
    /// Columns.
    public let width: Int
    /// Rows.
    public let height: Int
    /// Samples per pixel: 3 (RGB) or 4 (RGBA).
    public let channels: Int
    /// Row-major, channel-interleaved samples (HWC), `width * height * channels` of them.
    public internal(set) var pixels: [UInt8]

    /// A canvas filled with `background`; `alpha` adds an alpha channel (RGBA instead of RGB).
    public init(width: Int, height: Int, background: RGBA = .white, alpha: Bool = false) {
        precondition(width > 0 && height > 0, "a canvas needs a positive size, got \(width)x\(height)")
        self.width = width
        self.height = height
        self.channels = alpha ? 4 : 3
        self.pixels = [UInt8](repeating: 0, count: width * height * (alpha ? 4 : 3))
        fill(background)
    }

    /// A canvas holding `image` (gray becomes RGB; RGBA stays RGBA).
    public init(_ image: ByteImage) {
        precondition(image.width > 0 && image.height > 0, "a canvas needs a positive size, got \(image.width)x\(image.height)")
        let converted = image.channels == 1 ? image.converted(toChannels: 3) : image
        width = converted.width
        height = converted.height
        channels = converted.channels
        pixels = converted.pixels
    }

    /// The whole canvas as a rectangle.
    public var bounds: PixelRect { PixelRect(x: 0, y: 0, width: width, height: height) }

    /// The pixels as an image (3 or 4 channels).
    public var image: ByteImage { ByteImage(width: width, height: height, channels: channels, pixels: pixels) }

    /// Writes the canvas atomically; the format comes from the extension (".png" or ".jpg").
    public func write(to url: URL) throws {
        try ImageIO.write(image, to: url)
    }

    /// The color of pixel (x, y) (opaque on an RGB canvas).
    public func pixel(x: Int, y: Int) -> RGBA {
        precondition(x >= 0 && x < width && y >= 0 && y < height, "pixel (\(x), \(y)) is outside the \(width)x\(height) canvas")
        let i = (y * width + x) * channels
        return RGBA(pixels[i], pixels[i + 1], pixels[i + 2], channels == 4 ? pixels[i + 3] : 255)
    }

    /// Sets every pixel to `color` (no blending).
    public mutating func fill(_ color: RGBA) {
        let c = channels, r = color.r, g = color.g, b = color.b, a = color.a
        pixels.withUnsafeMutableBufferPointer { p in
            var i = 0
            while i < p.count {
                p[i] = r; p[i + 1] = g; p[i + 2] = b
                if c == 4 { p[i + 3] = a }
                i += c
            }
        }
    }

    /// Fills `rect` (clipped to the canvas) with `color`, blending by its alpha.
    public mutating func fillRect(_ rect: PixelRect, _ color: RGBA) {
        let r = rect.intersection(bounds)
        if r.isEmpty || color.a == 0 { return }
        let w = width, c = channels
        pixels.withUnsafeMutableBufferPointer { p in
            let base = p.baseAddress!
            for y in r.y..<r.maxY {
                var q = base + (y * w + r.x) * c
                for _ in 0..<r.width {
                    Canvas.blend(q, channels: c, color, alpha: Int(color.a))
                    q += c
                }
            }
        }
    }

    /// Draws the outline of `rect` with `lineWidth` pixels inside its edges.
    public mutating func strokeRect(_ rect: PixelRect, _ color: RGBA, lineWidth: Int = 1) {
        let t = max(1, min(lineWidth, rect.width / 2 + rect.width % 2, rect.height / 2 + rect.height % 2))
        if rect.isEmpty { return }
        fillRect(PixelRect(x: rect.x, y: rect.y, width: rect.width, height: t), color)
        fillRect(PixelRect(x: rect.x, y: rect.maxY - t, width: rect.width, height: t), color)
        fillRect(PixelRect(x: rect.x, y: rect.y + t, width: t, height: rect.height - 2 * t), color)
        fillRect(PixelRect(x: rect.maxX - t, y: rect.y + t, width: t, height: rect.height - 2 * t), color)
    }

    /// Blends `color` into pixel (x, y) with `coverage` in [0, 1] scaling its alpha; outside: ignored.
    public mutating func blendPixel(x: Int, y: Int, _ color: RGBA, coverage: Double = 1) {
        guard x >= 0 && x < width && y >= 0 && y < height else { return }
        let a = Int((Double(color.a) * min(max(coverage, 0), 1)).rounded())
        if a == 0 { return }
        let i = (y * width + x) * channels, c = channels
        pixels.withUnsafeMutableBufferPointer { p in
            Canvas.blend(p.baseAddress! + i, channels: c, color, alpha: a)
        }
    }

    /// Composites `color` at effective opacity `alpha` (0...255) over the pixel at `p`.
    @inline(__always)
    static func blend(_ p: UnsafeMutablePointer<UInt8>, channels: Int, _ color: RGBA, alpha a: Int) {
        if a >= 255 {
            p[0] = color.r; p[1] = color.g; p[2] = color.b
            if channels == 4 { p[3] = 255 }
            return
        }
        if a <= 0 { return }
        if channels == 3 {
            let na = 255 - a
            p[0] = UInt8((Int(p[0]) * na + Int(color.r) * a + 127) / 255)
            p[1] = UInt8((Int(p[1]) * na + Int(color.g) * a + 127) / 255)
            p[2] = UInt8((Int(p[2]) * na + Int(color.b) * a + 127) / 255)
        } else {
            // Straight-alpha "over": A = a + da (1 - a); C = (c a + dc da (1 - a)) / A.
            let da = Int(p[3]) * (255 - a)            // destination weight, scaled by 255
            let sa = a * 255                           // source weight, scaled by 255
            let total = sa + da
            p[0] = UInt8((Int(color.r) * sa + Int(p[0]) * da + total / 2) / total)
            p[1] = UInt8((Int(color.g) * sa + Int(p[1]) * da + total / 2) / total)
            p[2] = UInt8((Int(color.b) * sa + Int(p[2]) * da + total / 2) / total)
            p[3] = UInt8((total + 127) / 255)
        }
    }
}
