import Foundation
import Testing
@testable import SynTensor

/// The set of pixels of `canvas` that differ from `background`.
func inkedPixels(_ canvas: Canvas, background: RGBA = .white) -> Set<[Int]> {
    var set = Set<[Int]>()
    for y in 0..<canvas.height {
        for x in 0..<canvas.width where canvas.pixel(x: x, y: y) != background { set.insert([x, y]) }
    }
    return set
}

/// Bounding box (x0, y0, x1, y1 inclusive) of the inked pixels, nil when none.
func inkBounds(_ canvas: Canvas, background: RGBA = .white) -> (x0: Int, y0: Int, x1: Int, y1: Int)? {
    let ink = inkedPixels(canvas, background: background)
    guard !ink.isEmpty else { return nil }
    return (ink.map { $0[0] }.min()!, ink.map { $0[1] }.min()!, ink.map { $0[0] }.max()!, ink.map { $0[1] }.max()!)
}

@Suite struct RenderingCanvasTests {
    @Test func bresenhamLineSetsExactlyTheExpectedPixels() {
        var c = Canvas(width: 10, height: 6)
        c.drawLine(x0: 1, y0: 1, x1: 6, y1: 3, color: .black, antialiased: false)
        #expect(inkedPixels(c) == [[1, 1], [2, 1], [3, 2], [4, 2], [5, 3], [6, 3]])
        #expect(c.pixel(x: 3, y: 2) == .black)
        // Reversed direction and a steep line: every row gets one pixel, ends included.
        var d = Canvas(width: 10, height: 10)
        d.drawLine(x0: 2, y0: 8, x1: 4, y1: 1, color: .black, antialiased: false)
        let ink = inkedPixels(d)
        #expect(ink.count == 8)
        #expect(Set(ink.map { $0[1] }) == Set(1...8))
        #expect(ink.contains([2, 8]) && ink.contains([4, 1]))
        // Off-canvas parts are clipped without trapping.
        var e = Canvas(width: 4, height: 4)
        e.drawLine(x0: -10, y0: 2, x1: 20, y1: 2, color: .black, antialiased: false)
        #expect(inkedPixels(e) == [[0, 2], [1, 2], [2, 2], [3, 2]])
    }

    @Test func antialiasedLinesCoverTheRightPixels() {
        // Width 1 on pixel centers: exactly one row, full color, no fringe.
        var c = Canvas(width: 12, height: 7)
        c.drawLine(x0: 2, y0: 3, x1: 9, y1: 3, color: .black)
        #expect(inkedPixels(c) == Set((2...9).map { [$0, 3] }))
        #expect(c.pixel(x: 5, y: 3) == .black)
        // Half-way between rows: both rows half covered.
        var h = Canvas(width: 12, height: 7)
        h.drawLine(x0: 2, y0: 2.5, x1: 9, y1: 2.5, color: .black)
        #expect(h.pixel(x: 5, y: 2) == RGBA(gray: 127) || h.pixel(x: 5, y: 2) == RGBA(gray: 128))
        #expect(h.pixel(x: 5, y: 2) == h.pixel(x: 5, y: 3))
        #expect(h.pixel(x: 5, y: 1) == .white && h.pixel(x: 5, y: 4) == .white)
        // Width 3: three full rows.
        var w = Canvas(width: 12, height: 9)
        w.drawLine(x0: 3, y0: 4, x1: 8, y1: 4, color: .black, width: 3)
        for y in 3...5 { #expect(w.pixel(x: 5, y: y) == .black) }
        #expect(w.pixel(x: 5, y: 2) == .white && w.pixel(x: 5, y: 6) == .white)
        // A diagonal is symmetric about itself and darkest on it.
        var d = Canvas(width: 20, height: 20)
        d.drawLine(x0: 2, y0: 2, x1: 17, y1: 17, color: .black, width: 2)
        for i in 3...16 {
            #expect(d.pixel(x: i, y: i) == .black)
            #expect(d.pixel(x: i + 1, y: i) == d.pixel(x: i, y: i + 1))
        }
        #expect(d.pixel(x: 15, y: 5) == .white)
    }

    @Test func polylineJoinsAreNotBlendedTwice() {
        var c = Canvas(width: 30, height: 30)
        let half = RGBA(0, 0, 0, 128)
        c.drawPolyline([SIMD2(3, 3), SIMD2(15, 3), SIMD2(15, 20)], color: half, width: 1)
        // The corner pixel and a mid-segment pixel get the same single blend.
        #expect(c.pixel(x: 15, y: 3) == c.pixel(x: 8, y: 3))
        #expect(c.pixel(x: 15, y: 10) == c.pixel(x: 8, y: 3))
        #expect(c.pixel(x: 8, y: 3) == RGBA(gray: 127))
        // NaN points are skipped; clipping keeps the rest inside the clip rectangle.
        var d = Canvas(width: 30, height: 30)
        d.drawPolyline([SIMD2(0, 10), SIMD2(.nan, 5), SIMD2(29, 10)], color: .black,
                       clip: PixelRect(x: 10, y: 0, width: 10, height: 30))
        #expect(inkedPixels(d) == Set((10..<20).map { [$0, 10] }))
        // Absurd coordinates neither trap nor draw outside.
        d.drawPolyline([SIMD2(-1e300, 1e300), SIMD2(1e300, -1e300)], color: .black)
        d.drawLine(x0: 1e18, y0: 0, x1: -1e18, y1: 3, color: .black, antialiased: false)
        d.fillCircle(centerX: 1e300, centerY: 0, radius: 1e300, color: .black)
    }

    @Test func rectanglesDotsAndBlending() {
        var c = Canvas(width: 10, height: 10)
        c.fillRect(PixelRect(x: -3, y: 8, width: 5, height: 10), .black)
        #expect(inkedPixels(c) == [[0, 8], [1, 8], [0, 9], [1, 9]])
        c.fill(.white)
        c.fillRect(PixelRect(x: 0, y: 0, width: 1, height: 1), RGBA(255, 0, 0, 128))
        #expect(c.pixel(x: 0, y: 0) == RGBA(255, 127, 127))
        c.strokeRect(PixelRect(x: 2, y: 2, width: 6, height: 5), .black)
        #expect(inkedPixels(c).count == 1 + 2 * 6 + 2 * 3)
        #expect(c.pixel(x: 4, y: 4) == .white && c.pixel(x: 2, y: 4) == .black && c.pixel(x: 7, y: 6) == .black)

        var dot = Canvas(width: 41, height: 41)
        dot.fillCircle(centerX: 20, centerY: 20, radius: 10, color: .black)
        #expect(dot.pixel(x: 20, y: 20) == .black && dot.pixel(x: 20, y: 9) == .white && dot.pixel(x: 20, y: 31) == .white)
        // Total coverage is close to the disc's area.
        var coverage = 0.0
        for y in 0..<41 { for x in 0..<41 { coverage += Double(255 - Int(dot.pixel(x: x, y: y).r)) / 255 } }
        #expect(abs(coverage - Double.pi * 100) < 3)
    }

    @Test func alphaCanvasCompositesOver() {
        var c = Canvas(width: 4, height: 4, background: .clear, alpha: true)
        #expect(c.channels == 4 && c.pixel(x: 0, y: 0) == .clear)
        c.blendPixel(x: 1, y: 1, RGBA(200, 100, 50, 128))
        #expect(c.pixel(x: 1, y: 1) == RGBA(200, 100, 50, 128))
        c.blendPixel(x: 1, y: 1, RGBA(0, 0, 0, 255))
        #expect(c.pixel(x: 1, y: 1) == RGBA(0, 0, 0, 255))
        // Half over half: A = 0.5 + 0.5 * 0.5.
        c.blendPixel(x: 2, y: 2, RGBA(255, 255, 255, 128))
        c.blendPixel(x: 2, y: 2, RGBA(0, 0, 0, 128))
        let p = c.pixel(x: 2, y: 2)
        #expect(abs(Int(p.a) - 192) <= 1 && abs(Int(p.r) - 85) <= 1)
    }

    @Test func imagesScaleNearestAndBilinear() {
        // 2x2 gray checker enlarged 3x by nearest: blocks of 3x3.
        let checker = ByteImage(width: 2, height: 2, channels: 1, pixels: [0, 255, 255, 0])
        var c = Canvas(width: 8, height: 8, background: RGBA(9, 9, 9))
        c.draw(checker, in: PixelRect(x: 1, y: 1, width: 6, height: 6), scaling: .nearest)
        for y in 1..<7 {
            for x in 1..<7 {
                let expected: UInt8 = ((x - 1) / 3 + (y - 1) / 3) % 2 == 0 ? 0 : 255
                #expect(c.pixel(x: x, y: y) == RGBA(gray: expected))
            }
        }
        #expect(c.pixel(x: 0, y: 0) == RGBA(gray: 9) && c.pixel(x: 7, y: 7) == RGBA(gray: 9))
        // Same size with bilinear is an exact copy (RGB).
        let rgb = IOImageTests.card(width: 9, height: 5, channels: 3)
        var copy = Canvas(width: 9, height: 5)
        copy.draw(rgb, x: 0, y: 0)
        #expect(copy.image == rgb)
        copy.draw(rgb, in: copy.bounds, scaling: .bilinear)
        #expect(copy.image == rgb)
        // Shrinking a fine checkerboard 4x averages it (no aliasing) to mid gray.
        var fine = [UInt8](repeating: 0, count: 64 * 64)
        for y in 0..<64 { for x in 0..<64 where (x + y) % 2 == 0 { fine[y * 64 + x] = 255 } }
        var small = Canvas(width: 16, height: 16)
        small.draw(ByteImage(width: 64, height: 64, channels: 1, pixels: fine), in: small.bounds)
        for y in 0..<16 { for x in 0..<16 { #expect(abs(Int(small.pixel(x: x, y: y).g) - 128) <= 2) } }
        // Enlarging bilinearly interpolates between neighbours.
        let ramp = ByteImage(width: 2, height: 1, channels: 1, pixels: [0, 200])
        var wide = Canvas(width: 4, height: 1)
        wide.draw(ramp, in: wide.bounds)
        #expect(wide.image.pixels.enumerated().filter { $0.offset % 3 == 0 }.map(\.element) == [0, 50, 150, 200])
        // Transparent parts of an RGBA image leave the canvas as it was.
        let spot = ByteImage(width: 2, height: 1, channels: 4, pixels: [255, 0, 0, 255, 0, 255, 0, 0])
        var under = Canvas(width: 2, height: 1, background: .black)
        under.draw(spot, x: 0, y: 0)
        #expect(under.pixel(x: 0, y: 0) == RGBA(255, 0, 0) && under.pixel(x: 1, y: 0) == .black)
    }

    @Test func fitKeepsAspectRatioCentered() {
        let r = PixelRect(x: 10, y: 20, width: 100, height: 50)
        #expect(Canvas.fit(width: 200, height: 50, in: r) == PixelRect(x: 10, y: 32, width: 100, height: 25))
        #expect(Canvas.fit(width: 10, height: 10, in: r) == PixelRect(x: 35, y: 20, width: 50, height: 50))
        #expect(Canvas.fit(width: 28, height: 28, in: PixelRect(x: 0, y: 0, width: 96, height: 96)).width == 96)
    }

    @Test func canvasWritesPNGThatReadsBack() throws {
        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        var c = Canvas(width: 37, height: 23)
        c.drawLine(x0: 0, y0: 0, x1: 36, y1: 22, color: RGBA.series(3), width: 2)
        c.drawText("Ok", x: 2, y: 2)
        try c.write(to: dir.file("c.png"))
        #expect(try ImageIO.read(dir.file("c.png")) == c.image)
        var a = Canvas(width: 5, height: 5, background: RGBA(10, 20, 30, 40), alpha: true)
        a.blendPixel(x: 2, y: 2, .black)
        try a.write(to: dir.file("a.png"))
        let back = try ImageIO.read(dir.file("a.png"))
        #expect(back.channels == 4 && back == a.image)
        // An image becomes a canvas (gray -> RGB).
        #expect(Canvas(ByteImage(width: 1, height: 1, channels: 1, pixels: [7])).pixel(x: 0, y: 0) == RGBA(gray: 7))
    }
}
