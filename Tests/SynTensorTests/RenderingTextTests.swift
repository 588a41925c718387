import Foundation
import Testing
@testable import SynTensor

@Suite struct RenderingTextTests {
    /// Printable ASCII, 32...126.
    static let ascii = String((32...126).map { Character(Unicode.Scalar(UInt8($0))) })

    @Test func everyPrintableGlyphIsDistinctAndInked() {
        var seen: [ArraySlice<UInt8>: Character] = [:]
        for ch in Self.ascii {
            let rows = BitmapFont.rows(of: ch)
            #expect(rows.count == BitmapFont.glyphHeight)
            #expect(rows.allSatisfy { $0 < 32 }, "glyph \(ch) wider than 5 columns")
            #expect(rows.contains { $0 != 0 } == (ch != " "), "glyph \(ch)")
            #expect(seen[rows] == nil, "glyphs \(ch) and \(seen[rows].map(String.init) ?? "") are identical")
            seen[rows] = ch
            #expect(BitmapFont.hasGlyph(ch))
        }
        // Descenders reach rows 7-8; capitals and digits stay in rows 0-6.
        for ch in "gjpqy,;_" { #expect(BitmapFont.rows(of: ch).suffix(2).contains { $0 != 0 }, "\(ch)") }
        for ch in "ABCXYZ0189acemx" { #expect(BitmapFont.rows(of: ch).suffix(2).allSatisfy { $0 == 0 }, "\(ch)") }
    }

    @Test func textInksInsideItsMeasuredBox() {
        for scale in [1, 2, 3] {
            var c = Canvas(width: 200, height: 60)
            let text = "HMg|"
            let box = c.drawText(text, x: 7, y: 5, scale: scale, color: .black)
            let size = BitmapFont.measure(text, scale: scale)
            #expect(size.width == (4 * 6 - 1) * scale && size.height == 9 * scale)
            #expect(box == PixelRect(x: 7, y: 5, width: size.width, height: size.height))
            // "H" starts at the box's left, "|" reaches its bottom, "M" its top; nothing outside.
            let ink = inkBounds(c)!
            #expect(ink.x0 == box.x && ink.y0 == box.y && ink.y1 == box.maxY - 1)
            #expect(ink.x1 <= box.maxX - 1 && ink.x1 >= box.maxX - 3 * scale)
            // Every inked pixel is pure black (no blending at scale blocks).
            #expect(inkedPixels(c).allSatisfy { c.pixel(x: $0[0], y: $0[1]) == .black })
        }
        // Anchors: centered text is centered, bottom-right ends at the point.
        var c = Canvas(width: 100, height: 40)
        let box = c.drawText("MM", x: 50, y: 20, anchor: .center)
        #expect(box == PixelRect(x: 44, y: 15, width: 11, height: 9))
        let br = c.drawText("M", x: 99, y: 39, anchor: .bottomRight)
        #expect(br.maxX == 99 && br.maxY == 39)
    }

    @Test func multilineVerticalAndUnknownCharacters() {
        #expect(BitmapFont.measure("ab\ncde", scale: 2) == (width: 2 * (3 * 6 - 1), height: 2 * (11 + 9)))
        #expect(BitmapFont.measure("").width == 0)
        // Vertical text swaps the box and reads upward: the first glyph is at the bottom.
        var v = Canvas(width: 30, height: 60)
        let box = v.drawText("H..", x: 5, y: 5, color: .black, vertical: true)
        #expect(box.width == 9 && box.height == 17)
        let ink = inkBounds(v)!
        #expect(ink.y1 == box.maxY - 1 && ink.x0 == box.x)
        // "H" occupies the bottom 5 rows, the dots are above it.
        #expect(inkedPixels(v).filter { $0[1] >= box.maxY - 5 }.count == 17)
        // Unknown characters draw the box; accents fall back to the base letter; quotes to ASCII.
        #expect(!BitmapFont.hasGlyph("\u{4e2d}") && !BitmapFont.hasGlyph("\u{1F600}"))
        #expect(BitmapFont.rows(of: "\u{4e2d}") == BitmapFont.rows(of: "\u{25a1}"))
        #expect(BitmapFont.rows(of: "\u{e9}") == BitmapFont.rows(of: "e"))
        #expect(BitmapFont.rows(of: "\u{2019}") == BitmapFont.rows(of: "'"))
        #expect(BitmapFont.rows(of: "\u{2013}") == BitmapFont.rows(of: "-"))
        var u = Canvas(width: 10, height: 12)
        u.drawText("\u{4e2d}", x: 0, y: 0, color: .black)
        #expect(inkedPixels(u).count == 2 * 5 + 2 * 5)
        #expect(BitmapFont.measure("a\u{1F600}b").width == 3 * 6 - 1)
    }

    @Test func wrappingAndTruncation() {
        // 10 characters fit in 59 pixels at scale 1, 5 at scale 2.
        #expect(BitmapFont.characters(fitting: 59) == 10 && BitmapFont.characters(fitting: 58) == 9)
        #expect(BitmapFont.characters(fitting: 59, scale: 2) == 5)
        #expect(BitmapFont.truncate("short", maxWidth: 59) == "short")
        #expect(BitmapFont.truncate("a longer caption", maxWidth: 59) == "a longer\u{2026}")
        let lines = BitmapFont.wrap("a photo of an ankle boot on a wooden floor", maxWidth: 59)
        #expect(lines == ["a photo of", "an ankle", "boot on a", "wooden", "floor"])
        #expect(lines.allSatisfy { BitmapFont.measure($0).width <= 59 })
        #expect(BitmapFont.wrap("a photo of an ankle boot on a wooden floor", maxWidth: 59, maxLines: 2)
                == ["a photo of", "an ankle\u{2026}"])
        #expect(BitmapFont.wrap("supercalifragilistic word", maxWidth: 59) == ["supercalif", "ragilistic", "word"])
        #expect(BitmapFont.wrap("  spaced \n out  ", maxWidth: 59) == ["spaced out"])
        #expect(BitmapFont.wrap("", maxWidth: 59).isEmpty)
        // Hyphenated words break after a hyphen; leading and trailing hyphens stay put.
        #expect(BitmapFont.wrap("concept-supervised synthetic", maxWidth: 89) == ["concept-", "supervised", "synthetic"])
        #expect(BitmapFont.wrap("ViT-B/16 on top", maxWidth: 59) == ["ViT-B/16", "on top"])
        #expect(BitmapFont.wrap("-x- a", maxWidth: 89) == ["-x- a"])
        let full = BitmapFont.wrap("abcdefghij klmnopqrst uvw", maxWidth: 59, maxLines: 2)
        #expect(full == ["abcdefghij", "klmnopqrs\u{2026}"])
    }
}
