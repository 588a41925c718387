/// Lines, polylines and dots.
extension Canvas {
    /// Draws a line between two points (pixel-center coordinates), `width` pixels wide with
    /// round caps; `antialiased: false` with width 1 is a Bresenham line between the rounded
    /// end points, wider aliased lines set the pixels within `width / 2` of the segment.
    public mutating func drawLine(x0: Double, y0: Double, x1: Double, y1: Double, color: RGBA,
                                  width: Double = 1, antialiased: Bool = true) {
        let span = Double(max(self.width, self.height)) * 4
        let inRange = [x0, y0, x1, y1].allSatisfy { $0.isFinite && abs($0) <= span }
        if !antialiased && width <= 1 && inRange {
            bresenham(Int(x0.rounded()), Int(y0.rounded()), Int(x1.rounded()), Int(y1.rounded()), color)
        } else {
            drawPolyline([SIMD2(x0, y0), SIMD2(x1, y1)], color: color, width: width, antialiased: antialiased)
        }
    }

    /// Draws connected segments through `points` as one shape (joins are not blended twice),
    /// clipped to `clip` (default: the canvas); points with a NaN or infinite coordinate are skipped.
    public mutating func drawPolyline(_ points: [SIMD2<Double>], color: RGBA, width: Double = 1,
                                      antialiased: Bool = true, clip: PixelRect? = nil) {
        let pts = points.filter { $0.x.isFinite && $0.y.isFinite }
        guard !pts.isEmpty, color.a > 0, width > 0 else { return }
        let hw = width / 2
        let reach = hw + 1
        var minX = Double.infinity, maxX = -Double.infinity, minY = Double.infinity, maxY = -Double.infinity
        for p in pts {
            minX = min(minX, p.x); maxX = max(maxX, p.x); minY = min(minY, p.y); maxY = max(maxY, p.y)
        }
        // Bounding box of the stroke, clamped before converting to Int (points may be huge).
        let w = Double(self.width), h = Double(self.height)
        func px(_ v: Double) -> Int { Int(min(max(v, -2), w + 2)) }
        func py(_ v: Double) -> Int { Int(min(max(v, -2), h + 2)) }
        let x0 = px((minX - reach).rounded(.down)), x1 = px((maxX + reach).rounded(.up))
        let y0 = py((minY - reach).rounded(.down)), y1 = py((maxY + reach).rounded(.up))
        let box = PixelRect(x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1)
            .intersection(bounds).intersection(clip ?? bounds)
        if box.isEmpty { return }
        var mask = [UInt8](repeating: 0, count: box.width * box.height)
        mask.withUnsafeMutableBufferPointer { m in
            if pts.count == 1 {
                Canvas.rasterizeSegment(pts[0], pts[0], halfWidth: hw, antialiased: antialiased, box: box, mask: m)
            }
            for i in 1..<max(pts.count, 1) {
                Canvas.rasterizeSegment(pts[i - 1], pts[i], halfWidth: hw, antialiased: antialiased, box: box, mask: m)
            }
        }
        composite(mask: mask, box: box, color: color)
    }

    /// Fills a disc of `radius` pixels around (centerX, centerY), with smooth edges when antialiased.
    public mutating func fillCircle(centerX: Double, centerY: Double, radius: Double, color: RGBA, antialiased: Bool = true) {
        guard centerX.isFinite && centerY.isFinite && radius > 0 && color.a > 0 else { return }
        let reach = radius + 1
        guard centerX + reach >= 0, centerX - reach <= Double(width), centerY + reach >= 0, centerY - reach <= Double(height) else { return }
        let x0 = Canvas.clampedInt((centerX - reach).rounded(.down), -1, width)
        let x1 = Canvas.clampedInt((centerX + reach).rounded(.up), -1, width)
        let y0 = Canvas.clampedInt((centerY - reach).rounded(.down), -1, height)
        let y1 = Canvas.clampedInt((centerY + reach).rounded(.up), -1, height)
        let box = PixelRect(x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1).intersection(bounds)
        if box.isEmpty { return }
        var mask = [UInt8](repeating: 0, count: box.width * box.height)
        mask.withUnsafeMutableBufferPointer { m in
            for y in box.y..<box.maxY {
                let dy = Double(y) - centerY
                for x in box.x..<box.maxX {
                    let dx = Double(x) - centerX
                    let d = (dx * dx + dy * dy).squareRoot()
                    let cov = antialiased ? min(max(radius + 0.5 - d, 0), 1) : (d <= radius ? 1 : 0)
                    m[(y - box.y) * box.width + (x - box.x)] = cov > 0 ? UInt8((cov * 255).rounded()) : 0
                }
            }
        }
        composite(mask: mask, box: box, color: color)
    }

    /// Blends `color` through a coverage `mask` (0...255, `box.width * box.height`, row-major) at `box`.
    mutating func composite(mask: [UInt8], box: PixelRect, color: RGBA) {
        let w = width, c = channels, alpha = Int(color.a)
        mask.withUnsafeBufferPointer { m in
            pixels.withUnsafeMutableBufferPointer { p in
                let base = p.baseAddress!
                for y in 0..<box.height {
                    let row = base + ((box.y + y) * w + box.x) * c
                    for x in 0..<box.width {
                        let cov = Int(m[y * box.width + x])
                        if cov == 0 { continue }
                        Canvas.blend(row + x * c, channels: c, color, alpha: (alpha * cov + 127) / 255)
                    }
                }
            }
        }
    }

    /// Raises `mask` (covering `box`) to the coverage of the stroke of segment a-b with round caps.
    static func rasterizeSegment(_ a: SIMD2<Double>, _ b: SIMD2<Double>, halfWidth hw: Double, antialiased: Bool,
                                 box: PixelRect, mask: UnsafeMutableBufferPointer<UInt8>) {
        let d = b - a
        let len2 = d.x * d.x + d.y * d.y
        let len = len2.squareRoot()
        let reach = hw + 0.5 + 1e-9
        let top = Canvas.clampedInt((min(a.y, b.y) - reach).rounded(.up), box.y, box.maxY)
        let bottom = Canvas.clampedInt((max(a.y, b.y) + reach).rounded(.down), box.y - 1, box.maxY - 1)
        if top > bottom { return }
        let segLeft = min(a.x, b.x) - reach, segRight = max(a.x, b.x) + reach
        for y in top...bottom {
            let py = Double(y)
            var lo = segLeft, hi = segRight
            if abs(d.y) > 1e-12 {
                // Pixels within `reach` of the infinite line on this row.
                let c = (py - a.y) * d.x
                var u = a.x + (c - reach * len) / d.y, v = a.x + (c + reach * len) / d.y
                if u > v { swap(&u, &v) }
                lo = max(lo, u); hi = min(hi, v)
            }
            let xa = Canvas.clampedInt(lo.rounded(.up), box.x, box.maxX)
            let xb = Canvas.clampedInt(hi.rounded(.down), box.x - 1, box.maxX - 1)
            if xa > xb { continue }
            let rowBase = (y - box.y) * box.width - box.x
            for x in xa...xb {
                let px = Double(x)
                // Distance from the pixel center to the segment.
                var t = len2 > 0 ? ((px - a.x) * d.x + (py - a.y) * d.y) / len2 : 0
                t = min(max(t, 0), 1)
                let ex = px - (a.x + t * d.x), ey = py - (a.y + t * d.y)
                let dist = (ex * ex + ey * ey).squareRoot()
                let cov: Double = antialiased ? min(max(hw + 0.5 - dist, 0), 1) : (dist <= hw + 1e-9 ? 1 : 0)
                guard cov > 0 else { continue }  // also skips NaN from absurd coordinates
                let v = UInt8((cov * 255).rounded())
                if v > mask[rowBase + x] { mask[rowBase + x] = v }
            }
        }
    }

    /// `v` (a whole number, possibly huge or NaN) clamped into lo...hi as an Int; NaN gives lo.
    @inline(__always)
    static func clampedInt(_ v: Double, _ lo: Int, _ hi: Int) -> Int {
        if !(v >= Double(lo)) { return lo }
        if v >= Double(hi) { return hi }
        return Int(v)
    }

    /// Sets the pixels of the Bresenham line between two pixels (both included).
    mutating func bresenham(_ xa: Int, _ ya: Int, _ xb: Int, _ yb: Int, _ color: RGBA) {
        let w = width, h = height, c = channels, a = Int(color.a)
        pixels.withUnsafeMutableBufferPointer { p in
            let base = p.baseAddress!
            var x = xa, y = ya
            let dx = abs(xb - xa), dy = -abs(yb - ya)
            let sx = xa < xb ? 1 : -1, sy = ya < yb ? 1 : -1
            var err = dx + dy
            while true {
                if x >= 0 && x < w && y >= 0 && y < h { Canvas.blend(base + (y * w + x) * c, channels: c, color, alpha: a) }
                if x == xb && y == yb { break }
                let e2 = 2 * err
                if e2 >= dy { err += dy; x += sx }
                if e2 <= dx { err += dx; y += sy }
            }
        }
    }
}
