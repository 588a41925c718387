import Foundation
import SynTensor

/// One image as a dense [C, H, W] Float buffer in [0, 1] (the unit the augmentations work on).
public struct ImageBuffer: Sendable {
    /// Channels (1 gray or 3 RGB).
    public var channels: Int
    /// Height in pixels.
    public var height: Int
    /// Width in pixels.
    public var width: Int
    /// Planar pixels, channel-major.
    public var pixels: [Float]

    /// An image of the given size holding `pixels` ([C, H, W] order).
    public init(channels: Int, height: Int, width: Int, pixels: [Float]) {
        precondition(pixels.count == channels * height * width, "pixels \(pixels.count) != \(channels)x\(height)x\(width)")
        self.channels = channels
        self.height = height
        self.width = width
        self.pixels = pixels
    }

    /// A zero image.
    public init(channels: Int, height: Int, width: Int) {
        self.init(channels: channels, height: height, width: width, pixels: [Float](repeating: 0, count: channels * height * width))
    }
}

/// Settings of one crop kind (global or local) of SynCLR's BYOL-style augmentation.
public struct CropAugmentation: Codable, Sendable, Hashable {
    /// Output side in pixels.
    public var size: Int
    /// Area fraction range of the random resized crop.
    public var scale: ClosedRange<Float>
    /// Aspect ratio range of the crop (width / height).
    public var ratio: ClosedRange<Float> = 0.75...(4.0 / 3.0)
    /// Horizontal flip probability.
    public var flip: Float = 0.5
    /// Color jitter probability and strengths (brightness, contrast, saturation, hue).
    public var jitterProbability: Float = 0.8
    /// Brightness jitter strength.
    public var brightness: Float = 0.4
    /// Contrast jitter strength.
    public var contrast: Float = 0.4
    /// Saturation jitter strength.
    public var saturation: Float = 0.2
    /// Hue jitter strength (fraction of a turn).
    public var hue: Float = 0.1
    /// Grayscale probability.
    public var grayscale: Float = 0.2
    /// Gaussian blur probability.
    public var blur: Float
    /// Blur sigma range in pixels at 224 px, scaled by size / 224.
    public var blurSigma: ClosedRange<Float> = 0.1...2.0
    /// Solarization probability.
    public var solarize: Float

    /// A crop kind.
    public init(size: Int, scale: ClosedRange<Float>, blur: Float, solarize: Float) {
        self.size = size
        self.scale = scale
        self.blur = blur
        self.solarize = solarize
    }

    /// SynCLR's global crop (scale 0.32-1) at `size` px.
    public static func global(size: Int) -> CropAugmentation { CropAugmentation(size: size, scale: 0.32...1, blur: 0.5, solarize: 0.1) }
    /// SynCLR's local crop (scale 0.08-0.32) at `size` px.
    public static func local(size: Int) -> CropAugmentation { CropAugmentation(size: size, scale: 0.08...0.32, blur: 0.5, solarize: 0) }
}

/// How much of SynCLR's augmentation a run applies on top of the random resized crop.
public enum AugmentationStrength: String, Codable, Sendable, Hashable, CaseIterable {
    /// The paper's BYOL set: flip, color jitter, grayscale, blur, solarize.
    case byol
    /// Flip plus brightness/contrast jitter (what is left of color jitter on gray images).
    case light
    /// Flip only.
    case cropFlip = "crop-flip"
}

extension CropAugmentation {
    /// This crop kind with the photometric part reduced to `strength`.
    public func reduced(to strength: AugmentationStrength) -> CropAugmentation {
        var a = self
        switch strength {
        case .byol: break
        case .light:
            a.saturation = 0; a.hue = 0; a.grayscale = 0; a.blur = 0; a.solarize = 0
        case .cropFlip:
            a.jitterProbability = 0; a.grayscale = 0; a.blur = 0; a.solarize = 0
        }
        return a
    }
}

/// Applies one crop kind to an image with a dedicated random stream (so results never depend on
/// thread scheduling: each (image, crop) pair derives its own generator).
public func augment(_ image: ImageBuffer, _ aug: CropAugmentation, generator g: inout RandomGenerator) -> ImageBuffer {
    var out = randomResizedCrop(image, size: aug.size, scale: aug.scale, ratio: aug.ratio, generator: &g)
    if g.uniform() < aug.flip { horizontalFlip(&out) }
    if g.uniform() < aug.jitterProbability {
        colorJitter(&out, brightness: aug.brightness, contrast: aug.contrast, saturation: aug.saturation, hue: aug.hue, generator: &g)
    }
    if g.uniform() < aug.grayscale { toGrayscale(&out) }
    if g.uniform() < aug.blur {
        let s = Float(aug.size) / 224
        let sigma = g.uniform(aug.blurSigma.lowerBound * s, aug.blurSigma.upperBound * s)
        gaussianBlur(&out, sigma: max(sigma, 1e-3))
    }
    if g.uniform() < aug.solarize { solarize(&out) }
    return out
}

/// torchvision's RandomResizedCrop: up to 10 tries at a random area fraction and log-uniform
/// aspect ratio, falling back to a central crop; the box is resampled bilinearly to size x size.
public func randomResizedCrop(_ img: ImageBuffer, size: Int, scale: ClosedRange<Float>, ratio: ClosedRange<Float>,
                              generator g: inout RandomGenerator) -> ImageBuffer {
    let H = Float(img.height), W = Float(img.width), area = H * W
    var box: (x: Float, y: Float, w: Float, h: Float)? = nil
    let logLo = Foundation.log(ratio.lowerBound), logHi = Foundation.log(ratio.upperBound)
    for _ in 0..<10 {
        let target = area * g.uniform(scale.lowerBound, scale.upperBound)
        let r = Foundation.exp(g.uniform(logLo, logHi))
        let w = (target * r).squareRoot().rounded(), h = (target / r).squareRoot().rounded()
        if w > 0 && h > 0 && w <= W && h <= H {
            let y = Float(g.int(below: Int(H - h) + 1)), x = Float(g.int(below: Int(W - w) + 1))
            box = (x, y, w, h)
            break
        }
    }
    if box == nil {
        let inRatio = W / H
        var w = W, h = H
        if inRatio < ratio.lowerBound { h = (w / ratio.lowerBound).rounded() } else if inRatio > ratio.upperBound { w = (h * ratio.upperBound).rounded() }
        box = (((W - w) / 2).rounded(), ((H - h) / 2).rounded(), w, h)
    }
    return cropResize(img, x: box!.x, y: box!.y, w: box!.w, h: box!.h, size: size)
}

/// Bilinear resampling of the box (x, y, w, h) to size x size (half-pixel centers, edge clamped).
public func cropResize(_ img: ImageBuffer, x: Float, y: Float, w: Float, h: Float, size: Int) -> ImageBuffer {
    var out = ImageBuffer(channels: img.channels, height: size, width: size)
    let sx = w / Float(size), sy = h / Float(size)
    let H = img.height, W = img.width
    img.pixels.withUnsafeBufferPointer { src in
        out.pixels.withUnsafeMutableBufferPointer { dst in
            for oy in 0..<size {
                let fy = min(max(y + (Float(oy) + 0.5) * sy - 0.5, 0), Float(H - 1))
                let y0 = Int(fy), y1 = min(y0 + 1, H - 1), ly = fy - Float(y0)
                for ox in 0..<size {
                    let fx = min(max(x + (Float(ox) + 0.5) * sx - 0.5, 0), Float(W - 1))
                    let x0 = Int(fx), x1 = min(x0 + 1, W - 1), lx = fx - Float(x0)
                    for c in 0..<img.channels {
                        let p = c * H * W
                        let v = (src[p + y0 * W + x0] * (1 - lx) + src[p + y0 * W + x1] * lx) * (1 - ly)
                            + (src[p + y1 * W + x0] * (1 - lx) + src[p + y1 * W + x1] * lx) * ly
                        dst[c * size * size + oy * size + ox] = v
                    }
                }
            }
        }
    }
    return out
}

/// Mirrors the image left-right.
public func horizontalFlip(_ img: inout ImageBuffer) {
    let H = img.height, W = img.width
    for c in 0..<img.channels {
        for y in 0..<H {
            let row = c * H * W + y * W
            for x in 0..<(W / 2) { img.pixels.swapAt(row + x, row + W - 1 - x) }
        }
    }
}

/// ITU-R 601 luma, as torchvision's rgb_to_grayscale.
@inline(__always) func luma(_ r: Float, _ g: Float, _ b: Float) -> Float { 0.299 * r + 0.587 * g + 0.114 * b }

/// Replaces RGB by its luma in every channel (gray images are unchanged).
public func toGrayscale(_ img: inout ImageBuffer) {
    guard img.channels == 3 else { return }
    let n = img.height * img.width
    for i in 0..<n {
        let l = luma(img.pixels[i], img.pixels[n + i], img.pixels[2 * n + i])
        img.pixels[i] = l; img.pixels[n + i] = l; img.pixels[2 * n + i] = l
    }
}

/// torchvision's ColorJitter: brightness, contrast, saturation and hue factors drawn uniformly,
/// applied in a random order; saturation and hue only act on RGB images.
public func colorJitter(_ img: inout ImageBuffer, brightness: Float, contrast: Float, saturation: Float, hue: Float,
                        generator g: inout RandomGenerator) {
    let bf = g.uniform(max(0, 1 - brightness), 1 + brightness)
    let cf = g.uniform(max(0, 1 - contrast), 1 + contrast)
    let sf = g.uniform(max(0, 1 - saturation), 1 + saturation)
    let hf = g.uniform(-hue, hue)
    for op in g.permutation(4) {
        switch op {
        case 0: blend(&img, with: 0, factor: bf)
        case 1:
            let n = img.height * img.width
            var mean: Float = 0
            if img.channels == 3 {
                for i in 0..<n { mean += luma(img.pixels[i], img.pixels[n + i], img.pixels[2 * n + i]) }
            } else {
                for i in 0..<n { mean += img.pixels[i] }
            }
            blend(&img, with: mean / Float(n), factor: cf)
        case 2:
            guard img.channels == 3 else { continue }
            var gray = img
            toGrayscale(&gray)
            for i in 0..<img.pixels.count { img.pixels[i] = min(max(sf * img.pixels[i] + (1 - sf) * gray.pixels[i], 0), 1) }
        default:
            guard img.channels == 3, hf != 0 else { continue }
            shiftHue(&img, by: hf)
        }
    }
}

/// x <- clamp(factor * x + (1 - factor) * other, 0, 1).
func blend(_ img: inout ImageBuffer, with other: Float, factor: Float) {
    for i in 0..<img.pixels.count { img.pixels[i] = min(max(factor * img.pixels[i] + (1 - factor) * other, 0), 1) }
}

/// Rotates hue by `shift` turns through HSV.
func shiftHue(_ img: inout ImageBuffer, by shift: Float) {
    let n = img.height * img.width
    for i in 0..<n {
        let r = img.pixels[i], gr = img.pixels[n + i], b = img.pixels[2 * n + i]
        let mx = max(r, gr, b), mn = min(r, gr, b), d = mx - mn
        var h: Float = 0
        if d > 0 {
            if mx == r { h = ((gr - b) / d).truncatingRemainder(dividingBy: 6) } else if mx == gr { h = (b - r) / d + 2 } else { h = (r - gr) / d + 4 }
            h /= 6
        }
        h = (h + shift).truncatingRemainder(dividingBy: 1)
        if h < 0 { h += 1 }
        let s = mx > 0 ? d / mx : 0, v = mx
        let hh = h * 6, k = Int(hh) % 6, f = hh - Float(Int(hh))
        let p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f))
        let rgb: (Float, Float, Float)
        switch k {
        case 0: rgb = (v, t, p)
        case 1: rgb = (q, v, p)
        case 2: rgb = (p, v, t)
        case 3: rgb = (p, q, v)
        case 4: rgb = (t, p, v)
        default: rgb = (v, p, q)
        }
        img.pixels[i] = rgb.0; img.pixels[n + i] = rgb.1; img.pixels[2 * n + i] = rgb.2
    }
}

/// Separable Gaussian blur with a kernel of radius ceil(3 sigma), reflect padding.
public func gaussianBlur(_ img: inout ImageBuffer, sigma: Float) {
    let radius = max(1, Int((3 * sigma).rounded(.up)))
    var k = [Float](repeating: 0, count: 2 * radius + 1)
    var s: Float = 0
    for i in -radius...radius {
        let v = Foundation.exp(-Float(i * i) / (2 * sigma * sigma))
        k[i + radius] = v
        s += v
    }
    for i in 0..<k.count { k[i] /= s }
    let H = img.height, W = img.width
    func reflect(_ i: Int, _ n: Int) -> Int {
        if n == 1 { return 0 }
        var j = i
        while j < 0 || j >= n { j = j < 0 ? -j : 2 * (n - 1) - j }
        return j
    }
    var tmp = img.pixels
    for c in 0..<img.channels {
        let base = c * H * W
        for y in 0..<H {
            for x in 0..<W {
                var acc: Float = 0
                for t in -radius...radius { acc += k[t + radius] * img.pixels[base + y * W + reflect(x + t, W)] }
                tmp[base + y * W + x] = acc
            }
        }
        for y in 0..<H {
            for x in 0..<W {
                var acc: Float = 0
                for t in -radius...radius { acc += k[t + radius] * tmp[base + reflect(y + t, H) * W + x] }
                img.pixels[base + y * W + x] = acc
            }
        }
    }
}

/// Inverts pixels at or above 0.5 (torchvision's solarize with threshold 0.5).
public func solarize(_ img: inout ImageBuffer) {
    for i in 0..<img.pixels.count where img.pixels[i] >= 0.5 { img.pixels[i] = 1 - img.pixels[i] }
}

/// Stacks images of one size into [B, C, H, W], normalizing with per-channel mean/std.
public func batchTensor(_ images: [ImageBuffer], mean: [Float], std: [Float]) -> Tensor {
    precondition(!images.isEmpty, "batchTensor needs at least one image")
    let c = images[0].channels, h = images[0].height, w = images[0].width
    precondition(mean.count == c && std.count == c, "normalization has \(mean.count) means / \(std.count) stds for \(c) channels")
    var data = [Float](repeating: 0, count: images.count * c * h * w)
    let plane = h * w
    for (i, img) in images.enumerated() {
        precondition(img.channels == c && img.height == h && img.width == w, "batch images differ in size")
        for ch in 0..<c {
            let m = mean[ch], s = 1 / std[ch]
            let off = (i * c + ch) * plane
            for p in 0..<plane { data[off + p] = (img.pixels[ch * plane + p] - m) * s }
        }
    }
    return Tensor(shape: [images.count, c, h, w], data: data)
}
