/// How an image is resampled when drawn at another size.
public enum ImageScaling: Sendable, Hashable {
    /// Each output pixel takes the source pixel under its center (blocky, exact colors).
    case nearest
    /// Triangle filter: bilinear when enlarging; when shrinking the filter widens with the
    /// scale factor so every source pixel contributes (no aliasing), as Pillow's BILINEAR.
    case bilinear
}

/// Drawing `ByteImage`s (gray, RGB or RGBA; alpha blends) onto the canvas.
extension Canvas {
    /// Draws `image` at its own size with its top-left corner at (x, y).
    public mutating func draw(_ image: ByteImage, x: Int, y: Int) {
        draw(image, in: PixelRect(x: x, y: y, width: image.width, height: image.height), scaling: .nearest)
    }

    /// Draws `image` scaled to fill `rect` exactly (aspect ratio not kept).
    public mutating func draw(_ image: ByteImage, in rect: PixelRect, scaling: ImageScaling = .bilinear) {
        guard image.width > 0, image.height > 0, !rect.isEmpty else { return }
        let visible = rect.intersection(bounds)
        if visible.isEmpty { return }
        if scaling == .nearest || (rect.width == image.width && rect.height == image.height) {
            drawNearest(image, rect: rect, visible: visible)
        } else {
            drawFiltered(image, rect: rect, visible: visible)
        }
    }

    /// Draws `image` as large as fits inside `rect` keeping its aspect ratio, centered; returns
    /// the rectangle it covers.
    @discardableResult
    public mutating func draw(_ image: ByteImage, fitting rect: PixelRect, scaling: ImageScaling = .bilinear) -> PixelRect {
        let target = Canvas.fit(width: image.width, height: image.height, in: rect)
        draw(image, in: target, scaling: scaling)
        return target
    }

    /// The largest rectangle with the aspect ratio width:height inside `rect`, centered.
    public static func fit(width: Int, height: Int, in rect: PixelRect) -> PixelRect {
        guard width > 0, height > 0, !rect.isEmpty else { return PixelRect(x: rect.x, y: rect.y, width: 0, height: 0) }
        var w = rect.width, h = rect.height
        if w * height > h * width {
            w = max(1, (h * width * 2 + height) / (2 * height))
        } else {
            h = max(1, (w * height * 2 + width) / (2 * width))
        }
        return PixelRect(x: rect.x + (rect.width - w) / 2, y: rect.y + (rect.height - h) / 2, width: w, height: h)
    }

    /// Nearest-neighbour: output pixel i samples source floor((i + 0.5) * src / dst).
    private mutating func drawNearest(_ image: ByteImage, rect: PixelRect, visible: PixelRect) {
        let sw = image.width, sh = image.height, sc = image.channels
        let xs = (visible.x..<visible.maxX).map { min(sw - 1, ((($0 - rect.x) * 2 + 1) * sw) / (2 * rect.width)) }
        let ys = (visible.y..<visible.maxY).map { min(sh - 1, ((($0 - rect.y) * 2 + 1) * sh) / (2 * rect.height)) }
        let w = width, c = channels
        image.pixels.withUnsafeBufferPointer { src in
            xs.withUnsafeBufferPointer { xs in
                pixels.withUnsafeMutableBufferPointer { p in
                    let base = p.baseAddress!
                    for (j, sy) in ys.enumerated() {
                        let row = base + ((visible.y + j) * w + visible.x) * c
                        let srow = sy * sw
                        for i in 0..<xs.count {
                            let s = (srow + xs[i]) * sc
                            let color: RGBA
                            switch sc {
                            case 1: color = RGBA(gray: src[s])
                            case 3: color = RGBA(src[s], src[s + 1], src[s + 2])
                            default: color = RGBA(src[s], src[s + 1], src[s + 2], src[s + 3])
                            }
                            Canvas.blend(row + i * c, channels: c, color, alpha: Int(color.a))
                        }
                    }
                }
            }
        }
    }

    /// Separable triangle-filter resampling in premultiplied float RGBA, then "over" compositing.
    private mutating func drawFiltered(_ image: ByteImage, rect: PixelRect, visible: PixelRect) {
        let sw = image.width, sc = image.channels
        let hx = FilterWeights(source: sw, destination: rect.width, from: visible.x - rect.x, count: visible.width)
        let hy = FilterWeights(source: image.height, destination: rect.height, from: visible.y - rect.y, count: visible.height)
        let firstRow = hy.start.first!, lastRow = hy.start.indices.map { hy.start[$0] + hy.count[$0] }.max()!
        let rows = lastRow - firstRow, vw = visible.width
        // Horizontal pass: source rows firstRow..<lastRow -> [rows, vw, 4] premultiplied.
        var tmp = [Float](repeating: 0, count: rows * vw * 4)
        image.pixels.withUnsafeBufferPointer { src in
            tmp.withUnsafeMutableBufferPointer { t in
                for r in 0..<rows {
                    let srow = (firstRow + r) * sw
                    for i in 0..<vw {
                        var acc = SIMD4<Float>(repeating: 0)
                        let k0 = hx.offset[i]
                        for k in 0..<hx.count[i] {
                            let s = (srow + hx.start[i] + k) * sc
                            let px: SIMD4<Float>
                            switch sc {
                            case 1: let v = Float(src[s]); px = SIMD4(v, v, v, 255)
                            case 3: px = SIMD4(Float(src[s]), Float(src[s + 1]), Float(src[s + 2]), 255)
                            default:
                                let a = Float(src[s + 3])
                                px = SIMD4(Float(src[s]) * a / 255, Float(src[s + 1]) * a / 255, Float(src[s + 2]) * a / 255, a)
                            }
                            acc += px * hx.weights[k0 + k]
                        }
                        let o = (r * vw + i) * 4
                        t[o] = acc[0]; t[o + 1] = acc[1]; t[o + 2] = acc[2]; t[o + 3] = acc[3]
                    }
                }
            }
        }
        // Vertical pass and compositing.
        let w = width, c = channels
        tmp.withUnsafeBufferPointer { t in
            pixels.withUnsafeMutableBufferPointer { p in
                let base = p.baseAddress!
                for j in 0..<visible.height {
                    let row = base + ((visible.y + j) * w + visible.x) * c
                    let k0 = hy.offset[j], r0 = hy.start[j] - firstRow
                    for i in 0..<vw {
                        var acc = SIMD4<Float>(repeating: 0)
                        for k in 0..<hy.count[j] {
                            let o = ((r0 + k) * vw + i) * 4
                            acc += SIMD4(t[o], t[o + 1], t[o + 2], t[o + 3]) * hy.weights[k0 + k]
                        }
                        Canvas.blendPremultiplied(row + i * c, channels: c, acc)
                    }
                }
            }
        }
    }

    /// Composites a premultiplied color (components and alpha in 0...255) over the pixel at `p`.
    @inline(__always)
    static func blendPremultiplied(_ p: UnsafeMutablePointer<UInt8>, channels: Int, _ v: SIMD4<Float>) {
        let a = min(max(v[3], 0), 255) / 255
        if a <= 0 { return }
        func byte(_ x: Float) -> UInt8 { UInt8(min(max(x, 0), 255).rounded()) }
        if channels == 3 || a >= 1 {
            let keep = 1 - a
            p[0] = byte(v[0] + Float(p[0]) * keep)
            p[1] = byte(v[1] + Float(p[1]) * keep)
            p[2] = byte(v[2] + Float(p[2]) * keep)
            if channels == 4 { p[3] = 255 }
        } else {
            let da = Float(p[3]) / 255 * (1 - a)
            let outA = a + da
            p[0] = byte((v[0] + Float(p[0]) * da) / outA)
            p[1] = byte((v[1] + Float(p[1]) * da) / outA)
            p[2] = byte((v[2] + Float(p[2]) * da) / outA)
            p[3] = byte(outA * 255)
        }
    }
}

/// Triangle-filter taps for resampling `source` samples to `destination`, for the output
/// indices from..<from+count: output i reads source start[i]..<start[i]+count[i] with
/// weights[offset[i]...], normalized to sum 1.
struct FilterWeights {
    var start: [Int] = []
    var count: [Int] = []
    var offset: [Int] = []
    var weights: [Float] = []

    init(source: Int, destination: Int, from: Int, count n: Int) {
        let scale = Double(source) / Double(destination)
        let support = max(scale, 1)
        for i in from..<from + n {
            let center = (Double(i) + 0.5) * scale
            let lo = max(0, Int((center - support).rounded(.down)))
            let hi = min(source, Int((center + support).rounded(.up)))
            var taps: [Double] = []
            for j in lo..<max(hi, lo + 1) {
                let d = abs((Double(j) + 0.5 - center) / support)
                taps.append(max(0, 1 - d))
            }
            var total = taps.reduce(0, +)
            if total <= 0 {
                // Degenerate (can only happen at the edges): take the nearest source sample.
                taps = taps.map { _ in 0 }
                let nearest = min(source - 1, max(0, Int(center)))
                taps[min(taps.count - 1, nearest - lo)] = 1
                total = 1
            }
            start.append(lo)
            count.append(taps.count)
            offset.append(weights.count)
            weights += taps.map { Float($0 / total) }
        }
    }
}
