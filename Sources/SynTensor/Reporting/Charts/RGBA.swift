/// An 8-bit sRGB color with straight (non-premultiplied) alpha; 255 is opaque.
public struct RGBA: Sendable, Hashable {
    /// Red, 0...255.
    public var r: UInt8
    /// Green, 0...255.
    public var g: UInt8
    /// Blue, 0...255.
    public var b: UInt8
    /// Opacity, 0 (transparent) ... 255 (opaque).
    public var a: UInt8

    /// A color from its components; opaque unless `a` says otherwise.
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8, _ a: UInt8 = 255) {
        self.r = r
        self.g = g
        self.b = b
        self.a = a
    }

    /// A gray level (0 black ... 255 white).
    public init(gray: UInt8, alpha: UInt8 = 255) {
        self.init(gray, gray, gray, alpha)
    }

    /// This color with opacity `alpha` in [0, 1] (multiplied with its own).
    public func opacity(_ alpha: Double) -> RGBA {
        let f = min(max(alpha, 0), 1)
        return RGBA(r, g, b, UInt8((Double(a) * f).rounded()))
    }

    /// This color mixed toward white by `amount` in [0, 1] (0: unchanged, 1: white).
    public func lightened(_ amount: Double) -> RGBA {
        let f = min(max(amount, 0), 1)
        func mix(_ c: UInt8) -> UInt8 { UInt8((Double(c) + (255 - Double(c)) * f).rounded()) }
        return RGBA(mix(r), mix(g), mix(b), a)
    }

    /// Opaque white.
    public static let white = RGBA(255, 255, 255)
    /// Opaque black.
    public static let black = RGBA(0, 0, 0)
    /// Fully transparent black.
    public static let clear = RGBA(0, 0, 0, 0)
    /// Dark gray for text and axes.
    public static let ink = RGBA(40, 40, 40)
    /// Mid gray for frames and secondary text.
    public static let gray = RGBA(128, 128, 128)
    /// Light gray for grid lines.
    public static let lightGray = RGBA(225, 225, 225)

    /// Ten well-separated series colors (the common "category10" hues), cycled by `series(_:)`.
    public static let palette: [RGBA] = [
        RGBA(31, 119, 180), RGBA(255, 127, 14), RGBA(44, 160, 44), RGBA(214, 39, 40),
        RGBA(148, 103, 189), RGBA(140, 86, 75), RGBA(227, 119, 194), RGBA(127, 127, 127),
        RGBA(188, 189, 34), RGBA(23, 190, 207),
    ]

    /// The palette color for series `index` (cycling).
    public static func series(_ index: Int) -> RGBA {
        palette[((index % palette.count) + palette.count) % palette.count]
    }
}

/// An axis-aligned rectangle of whole pixels: columns x..<x+width, rows y..<y+height.
public struct PixelRect: Sendable, Hashable {
    /// Left column.
    public var x: Int
    /// Top row.
    public var y: Int
    /// Width in pixels (0 or more).
    public var width: Int
    /// Height in pixels (0 or more).
    public var height: Int

    /// A rectangle from its top-left corner and size.
    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = max(0, width)
        self.height = max(0, height)
    }

    /// One past the right column.
    public var maxX: Int { x + width }
    /// One past the bottom row.
    public var maxY: Int { y + height }
    /// True when it holds no pixel.
    public var isEmpty: Bool { width == 0 || height == 0 }

    /// The pixels both rectangles hold (empty when they do not overlap).
    public func intersection(_ other: PixelRect) -> PixelRect {
        let x0 = max(x, other.x), y0 = max(y, other.y)
        let x1 = min(maxX, other.maxX), y1 = min(maxY, other.maxY)
        return PixelRect(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
    }

    /// This rectangle shrunk by `d` pixels on every side (grown when negative).
    public func insetBy(_ d: Int) -> PixelRect {
        PixelRect(x: x + d, y: y + d, width: width - 2 * d, height: height - 2 * d)
    }
}

/// Where a text box sits relative to its anchor point: fractions of its width and height
/// (0 = left/top, 0.5 = center, 1 = right/bottom).
public struct TextAnchor: Sendable, Hashable {
    /// Horizontal fraction of the box left of the anchor point.
    public var horizontal: Double
    /// Vertical fraction of the box above the anchor point.
    public var vertical: Double

    /// An anchor from its fractions.
    public init(horizontal: Double, vertical: Double) {
        self.horizontal = horizontal
        self.vertical = vertical
    }

    /// The point is the box's top-left corner.
    public static let topLeft = TextAnchor(horizontal: 0, vertical: 0)
    /// The point is the middle of the box's top edge.
    public static let top = TextAnchor(horizontal: 0.5, vertical: 0)
    /// The point is the box's top-right corner.
    public static let topRight = TextAnchor(horizontal: 1, vertical: 0)
    /// The point is the middle of the box's left edge.
    public static let left = TextAnchor(horizontal: 0, vertical: 0.5)
    /// The point is the box's center.
    public static let center = TextAnchor(horizontal: 0.5, vertical: 0.5)
    /// The point is the middle of the box's right edge.
    public static let right = TextAnchor(horizontal: 1, vertical: 0.5)
    /// The point is the box's bottom-left corner.
    public static let bottomLeft = TextAnchor(horizontal: 0, vertical: 1)
    /// The point is the middle of the box's bottom edge.
    public static let bottom = TextAnchor(horizontal: 0.5, vertical: 1)
    /// The point is the box's bottom-right corner.
    public static let bottomRight = TextAnchor(horizontal: 1, vertical: 1)
}
