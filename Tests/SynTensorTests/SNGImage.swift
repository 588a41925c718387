import Foundation
@testable import SynTensor

/// A PNG described as text in the SNG format, as Go's PngSuite copy ships it (one `.sng` beside
/// each `.png`): only what those files use. `IHDR` (width, height, bitdepth, `using` colour
/// model), `PLTE` (`(r, g, b)` entries), `tRNS` (a palette alpha list, or `gray:` / `red: green:
/// blue:` for the transparent sample) and `IMAGE` (`pixels hex`, one line per row, the row's
/// bytes packed as in the PNG data stream, whitespace ignored). `gAMA`, `bKGD` and comments are
/// ignored.
struct SNGImage {
    /// The colour models of the `using` clause.
    enum Model: String { case grayscale, grayscaleAlpha = "grayscale alpha", color, colorAlpha = "color alpha", palette = "color palette" }

    var width = 0, height = 0, bitDepth = 0
    var model = Model.grayscale
    var palette: [[UInt8]] = []
    /// tRNS of a palette image: alpha of the first entries (the others are opaque).
    var paletteAlpha: [UInt8] = []
    /// tRNS of a gray or truecolour image: the sample values (at `bitDepth`) that are transparent.
    var transparent: [Int]? = nil
    /// Packed row bytes, one array per row.
    var rows: [[UInt8]] = []

    struct ParseError: Error, CustomStringConvertible {
        let description: String
    }

    init(text: String, name: String) throws {
        // Chunks are `NAME { body }`; bodies never nest. Comments run from # to the end of the line.
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> Substring in
            line.firstIndex(of: "#").map { line[..<$0] } ?? line
        }
        let clean = lines.joined(separator: "\n")
        var chunks: [(String, String)] = []
        var rest = Substring(clean)
        while let open = rest.firstIndex(of: "{") {
            guard let close = rest[open...].firstIndex(of: "}") else { throw ParseError(description: "\(name): unclosed chunk") }
            let chunkName = rest[..<open].trimmingCharacters(in: .whitespacesAndNewlines)
            chunks.append((chunkName, String(rest[rest.index(after: open)..<close])))
            rest = rest[rest.index(after: close)...]
        }
        func numbers(_ body: String) -> [Int] {
            body.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        }
        func field(_ body: String, _ key: String) -> Int? {
            guard let r = body.range(of: key + ":") else { return nil }
            return Int(body[r.upperBound...].prefix(while: { $0 != ";" }).trimmingCharacters(in: .whitespaces))
        }
        var sawImage = false
        for (chunk, body) in chunks {
            switch chunk {
            case "IHDR":
                guard let w = field(body, "width"), let h = field(body, "height"), let d = field(body, "bitdepth"),
                      let using = body.range(of: "using") else { throw ParseError(description: "\(name): incomplete IHDR") }
                width = w; height = h; bitDepth = d
                let words = body[using.upperBound...].prefix(while: { $0 != ";" }).trimmingCharacters(in: .whitespaces)
                guard let m = Model(rawValue: words) else { throw ParseError(description: "\(name): unknown colour model '\(words)'") }
                model = m
            case "PLTE":
                let values = body.split(separator: "\n").compactMap { line -> [UInt8]? in
                    let v = numbers(String(line))
                    return v.count == 3 ? v.map { UInt8($0) } : nil
                }
                palette = values
            case "tRNS":
                if let g = field(body, "gray") {
                    transparent = [g]
                } else if let r = field(body, "red"), let g = field(body, "green"), let b = field(body, "blue") {
                    transparent = [r, g, b]
                } else {
                    paletteAlpha = numbers(body).map { UInt8($0) }
                }
            case "IMAGE":
                guard let hex = body.range(of: "pixels hex") else { throw ParseError(description: "\(name): IMAGE is not 'pixels hex'") }
                rows = try body[hex.upperBound...].split(separator: "\n").compactMap { line -> [UInt8]? in
                    let digits = line.filter { !$0.isWhitespace }
                    if digits.isEmpty { return nil }
                    guard digits.count % 2 == 0 else { throw ParseError(description: "\(name): odd number of hex digits in a row") }
                    var bytes: [UInt8] = []
                    var i = digits.startIndex
                    while i < digits.endIndex {
                        let j = digits.index(i, offsetBy: 2)
                        guard let b = UInt8(digits[i..<j], radix: 16) else { throw ParseError(description: "\(name): bad hex '\(digits[i..<j])'") }
                        bytes.append(b)
                        i = j
                    }
                    return bytes
                }
                sawImage = true
            default:
                continue  // gAMA, bKGD: colour management and background, not pixels
            }
        }
        guard width > 0, height > 0, [1, 2, 4, 8, 16].contains(bitDepth), sawImage else {
            throw ParseError(description: "\(name): missing IHDR or IMAGE")
        }
        guard rows.count == height else { throw ParseError(description: "\(name): \(rows.count) rows, IHDR says \(height)") }
        let rowBytes = (width * samplesPerPixel * bitDepth + 7) / 8
        for (y, row) in rows.enumerated() where row.count != rowBytes {
            throw ParseError(description: "\(name): row \(y) has \(row.count) bytes, expected \(rowBytes)")
        }
    }

    var samplesPerPixel: Int {
        switch model {
        case .grayscale, .palette: return 1
        case .grayscaleAlpha: return 2
        case .color: return 3
        case .colorAlpha: return 4
        }
    }

    /// The samples of row `y` at full bit depth (palette: indices).
    func samples(row y: Int) -> [Int] {
        let row = rows[y]
        let n = width * samplesPerPixel
        switch bitDepth {
        case 16: return (0..<n).map { Int(row[2 * $0]) << 8 | Int(row[2 * $0 + 1]) }
        case 8: return row.prefix(n).map(Int.init)
        default:
            let perByte = 8 / bitDepth, mask = (1 << bitDepth) - 1
            return (0..<n).map { i in (Int(row[i / perByte]) >> (8 - bitDepth * (i % perByte + 1))) & mask }
        }
    }

    /// The 8-bit image `ImageIO.decode` documents for this PNG (Docs/reliability.md, "PNG
    /// conformance"): samples of 1, 2 or 4 bits scaled to 8 (v * 255 / (2^d - 1)), 16-bit samples
    /// to their high byte, palette indices to their PLTE colour (an index beyond the palette is
    /// black); a tRNS chunk becomes an alpha channel (0 where the sample equals the tRNS value at
    /// full depth, else 255; palette: the entry's tRNS alpha, 255 past the list), and gray with
    /// alpha becomes RGBA. No gamma.
    func expectedPixels() -> ByteImage {
        let hasAlpha = model == .grayscaleAlpha || model == .colorAlpha || transparent != nil || !paletteAlpha.isEmpty
        let gray = model == .grayscale || model == .grayscaleAlpha
        let channels = hasAlpha ? 4 : (gray ? 1 : 3)
        let maximum = (1 << bitDepth) - 1
        func to8(_ v: Int) -> UInt8 { bitDepth == 16 ? UInt8(v >> 8) : UInt8(v * 255 / maximum) }
        var out: [UInt8] = []
        out.reserveCapacity(width * height * channels)
        for y in 0..<height {
            let s = samples(row: y)
            for x in 0..<width {
                let p = Array(s[(x * samplesPerPixel)..<((x + 1) * samplesPerPixel)])
                var rgba: [UInt8]
                switch model {
                case .palette:
                    let i = p[0]
                    rgba = (i < palette.count ? palette[i] : [0, 0, 0]) + [i < paletteAlpha.count ? paletteAlpha[i] : 255]
                case .grayscale:
                    let v = to8(p[0])
                    rgba = [v, v, v, transparent == [p[0]] ? 0 : 255]
                case .grayscaleAlpha:
                    let v = to8(p[0])
                    rgba = [v, v, v, to8(p[1])]
                case .color:
                    rgba = p.map(to8) + [transparent == p ? 0 : 255]
                case .colorAlpha:
                    rgba = p.map(to8)
                }
                switch channels {
                case 1: out.append(rgba[0])
                case 3: out.append(contentsOf: rgba.prefix(3))
                default: out.append(contentsOf: rgba)
                }
            }
        }
        return ByteImage(width: width, height: height, channels: channels, pixels: out)
    }
}
