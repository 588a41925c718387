import Foundation

/// The built-in monospaced bitmap font: 5x7 capitals and digits with 2-row descenders on a
/// 6-pixel advance, for printable ASCII (32...126) plus ± × … ° µ ·; any other character is
/// drawn as a box (accented letters fall back to their base letter, typographic quotes and
/// dashes to ASCII). Every metric scales by the integer `scale` passed to the functions.
public enum BitmapFont {
    /// Glyph width in pixels at scale 1.
    public static let glyphWidth = 5
    /// Glyph height in pixels at scale 1: 7 above the baseline and 2 of descender.
    public static let glyphHeight = 9
    /// Rows from the top of a glyph cell to the bottom of capitals (the baseline row included).
    public static let ascent = 7
    /// Horizontal distance between successive glyphs at scale 1 (glyph + 1 pixel gap).
    public static let advance = 6
    /// Vertical distance between successive lines at scale 1.
    public static let lineHeight = 11

    /// True when `character` has its own glyph (or an ASCII fallback) rather than the box.
    public static func hasGlyph(_ character: Character) -> Bool {
        glyphIndex(character) != table.boxIndex
    }

    /// Size in pixels of `text` drawn at `scale`: lines split at "\n", no trailing gap.
    public static func measure(_ text: String, scale: Int = 1) -> (width: Int, height: Int) {
        let s = max(1, scale)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let longest = lines.map(\.count).max() ?? 0
        return (width(ofCharacters: longest, scale: s), height(ofLines: lines.count, scale: s))
    }

    /// Width in pixels of a single line of `count` characters at `scale`.
    public static func width(ofCharacters count: Int, scale: Int = 1) -> Int {
        count > 0 ? (count * advance - 1) * max(1, scale) : 0
    }

    /// Height in pixels of `lines` lines at `scale` (the last without line spacing).
    public static func height(ofLines lines: Int, scale: Int = 1) -> Int {
        lines > 0 ? ((lines - 1) * lineHeight + glyphHeight) * max(1, scale) : 0
    }

    /// How many characters fit on one line `maxWidth` pixels wide at `scale`.
    public static func characters(fitting maxWidth: Int, scale: Int = 1) -> Int {
        max(0, (maxWidth / max(1, scale) + 1) / advance)
    }

    /// `text` cut to fit `maxWidth` pixels at `scale`, ending with "…" when shortened.
    public static func truncate(_ text: String, maxWidth: Int, scale: Int = 1) -> String {
        let fit = characters(fitting: maxWidth, scale: scale)
        if text.count <= fit { return text }
        if fit == 0 { return "" }
        return String(text.prefix(fit - 1)).trimmingCharacters(in: .whitespaces) + "\u{2026}"
    }

    /// `text` broken into lines of at most `maxWidth` pixels at `scale`: greedy at spaces and
    /// after hyphens (runs of whitespace collapse), words longer than a line split; beyond
    /// `maxLines` the last line ends with "…".
    public static func wrap(_ text: String, maxWidth: Int, scale: Int = 1, maxLines: Int = Int.max) -> [String] {
        let fit = characters(fitting: maxWidth, scale: scale)
        guard fit > 0, maxLines > 0 else { return [] }
        // Pieces: words, further cut after each inner hyphen ("concept-" + "supervised").
        var pieces: [(text: String, joinsPrevious: Bool)] = []
        for word in text.split(whereSeparator: { $0.isWhitespace }) {
            var part = "", first = true
            for (i, ch) in word.enumerated() {
                part.append(ch)
                if ch == "-" && i > 0 && i < word.count - 1 {
                    pieces.append((part, !first)); part = ""; first = false
                }
            }
            if !part.isEmpty { pieces.append((part, !first)) }
        }
        var lines: [String] = []
        var current = ""
        var truncated = false
        outer: for (piece, joins) in pieces {
            var rest = piece
            while true {
                let separator = current.isEmpty || joins ? "" : " "
                if current.count + separator.count + rest.count <= fit {
                    current += separator + rest
                    break
                }
                if current.isEmpty {
                    // A piece longer than a line: split it.
                    lines.append(String(rest.prefix(fit)))
                    rest = String(rest.dropFirst(fit))
                } else {
                    lines.append(current)
                    current = ""
                }
                if lines.count >= maxLines { truncated = true; break outer }
            }
        }
        if !truncated && !current.isEmpty {
            if lines.count < maxLines { lines.append(current) } else { truncated = true }
        }
        if truncated, let last = lines.popLast() {
            let shortened = last.count < fit ? last : String(last.prefix(fit - 1)).trimmingCharacters(in: .whitespaces)
            lines.append(shortened + "\u{2026}")
        }
        return lines
    }

    /// Row bitmaps of the glyph for `character`: `glyphHeight` bytes, bit 4 = leftmost column.
    static func rows(of character: Character) -> ArraySlice<UInt8> {
        let i = glyphIndex(character) * glyphHeight
        return table.bits[i..<i + glyphHeight]
    }

    /// Index of the glyph drawn for `character` (the box when there is none).
    static func glyphIndex(_ character: Character) -> Int {
        let scalars = character.unicodeScalars
        if scalars.count == 1, let v = scalars.first?.value {
            if v >= 32 && v <= 126 { return Int(v) - 32 }
            if let i = table.extras[v] { return i }
            if let ascii = fallbacks[v] { return Int(ascii) - 32 }
        }
        // Accented letters: the base letter of the canonical decomposition.
        if let base = String(character).decomposedStringWithCanonicalMapping.unicodeScalars.first,
           base.value >= 33 && base.value <= 126 {
            return Int(base.value) - 32
        }
        return table.boxIndex
    }

    /// ASCII stand-ins for common typographic characters.
    static let fallbacks: [UInt32: UInt8] = [
        0x09: 32, 0xA0: 32, 0x2007: 32, 0x2009: 32, 0x202F: 32,       // tab and spaces
        0x2018: 39, 0x2019: 39, 0x201A: 39, 0x2032: 39,               // single quotes, prime
        0x201C: 34, 0x201D: 34, 0x201E: 34, 0x2033: 34,               // double quotes
        0x2010: 45, 0x2011: 45, 0x2012: 45, 0x2013: 45, 0x2014: 45, 0x2212: 45,  // dashes, minus
        0x2022: 42,                                                    // bullet
    ]

    /// The parsed glyph table.
    static let table = GlyphTable(bands: bands)
}

/// Glyph bitmaps parsed from the bands: ASCII 32...126 first, then the extras.
struct GlyphTable: Sendable {
    /// `glyphHeight` row bytes per glyph.
    let bits: [UInt8]
    /// Glyph index of each non-ASCII character.
    let extras: [UInt32: Int]
    /// Index of the "unknown character" box.
    let boxIndex: Int

    /// Parses `bands`; a malformed band is a programmer error.
    init(bands: [GlyphBand]) {
        var bits: [UInt8] = []
        var extras: [UInt32: Int] = [:]
        var index = 0
        for band in bands {
            let rows = band.rows.split(separator: "\n").map { Array($0.utf8) }
            precondition(rows.count == BitmapFont.glyphHeight, "glyph band \(band.characters) has \(rows.count) rows")
            for (k, character) in band.characters.enumerated() {
                let scalar = character.unicodeScalars.first!.value
                if scalar >= 32 && scalar <= 126 {
                    precondition(Int(scalar) - 32 == index, "glyph bands must list ASCII in order, \(character) at \(index)")
                } else {
                    extras[scalar] = index
                }
                for row in rows {
                    var byte: UInt8 = 0
                    for col in 0..<BitmapFont.glyphWidth {
                        let cell = row[k * (BitmapFont.glyphWidth + 1) + col]
                        precondition(cell == UInt8(ascii: "#") || cell == UInt8(ascii: "."), "bad glyph cell in band \(band.characters)")
                        if cell == UInt8(ascii: "#") { byte |= 1 << UInt8(BitmapFont.glyphWidth - 1 - col) }
                    }
                    bits.append(byte)
                }
                index += 1
            }
        }
        self.bits = bits
        self.extras = extras
        self.boxIndex = index - 1
    }
}
