import Foundation
import Testing
@testable import SynTensor

/// The test images of Debian's golang-1.19-src, which Scripts/setup/setup.sh installs (CI runs it).
enum GoTestImages {
    static let root = URL(fileURLWithPath: "/usr/share/go-1.19/src/image")

    struct Missing: Error, CustomStringConvertible {
        let path: String
        var description: String {
            "\(path) is missing: the image conformance tests need Debian's golang-1.19-src (PngSuite with its .sng "
                + "pixel dumps, corrupt PNGs, JPEG test images). Run Scripts/setup/setup.sh (or `make setup`) to install it."
        }
    }

    /// `root/sub`, or a `Missing` error naming the folder and how to install it (never a silent skip).
    static func folder(_ sub: String) throws -> URL {
        let url = root.appendingPathComponent(sub)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw Missing(path: url.path)
        }
        return url
    }

    /// Names in `folder` ending in `suffix`, sorted.
    static func files(in folder: URL, suffix: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(suffix) }.sorted()
    }
}

/// CRC-32 (ISO 3309, as PNG chunks use it).
func pngCRC(_ bytes: some Sequence<UInt8>) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for b in bytes {
        crc ^= UInt32(b)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
}

/// A PNG as its signature and chunks, to build corrupt variants with valid or broken checksums.
struct PNGChunks {
    var signature: [UInt8]
    var chunks: [(type: String, data: [UInt8])]

    init(_ bytes: [UInt8]) {
        signature = Array(bytes.prefix(8))
        chunks = []
        var at = 8
        while at + 12 <= bytes.count {
            let n = bytes[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) }
            let type = String(decoding: bytes[(at + 4)..<(at + 8)], as: UTF8.self)
            chunks.append((type, Array(bytes[(at + 8)..<(at + 8 + n)])))
            at += 12 + n
        }
    }

    /// The file; `badCRC` names chunks whose checksum is written wrong (inverted).
    func bytes(badCRC: Set<String> = []) -> [UInt8] {
        var out = signature
        for (type, data) in chunks {
            let typeBytes = Array(type.utf8)
            out += withUnsafeBytes(of: UInt32(data.count).bigEndian, Array.init) + typeBytes + data
            let crc = pngCRC(typeBytes + data)
            out += withUnsafeBytes(of: (badCRC.contains(type) ? ~crc : crc).bigEndian, Array.init)
        }
        return out
    }
}

/// Largest and mean absolute difference of two images' samples, and how many samples differ by more than 8.
struct PixelDifference: CustomStringConvertible {
    var max = 0, mean = 0.0, over8 = 0, count = 0

    init(_ a: ByteImage, _ b: ByteImage) {
        var sum = 0
        for (x, y) in zip(a.pixels, b.pixels) {
            let d = abs(Int(x) - Int(y))
            max = Swift.max(max, d)
            sum += d
            if d > 8 { over8 += 1 }
        }
        count = a.pixels.count
        mean = Double(sum) / Double(Swift.max(count, 1))
    }

    var description: String {
        String(format: "mean %.3f, max %d, %d of %d samples off by more than 8", mean, max, over8, count)
    }
}

/// Conformance of the PNG and JPEG decoders (`ImageIO.read`, which every dataset loader uses) with
/// the images and expected pixels of Debian's golang-1.19-src (Docs/reliability.md, "Conformance").
@Suite struct ImageConformanceTests {
    static func pixelMismatch(_ got: ByteImage, _ want: ByteImage) -> String? {
        if (got.width, got.height, got.channels) != (want.width, want.height, want.channels) {
            return "got \(got.width)x\(got.height)x\(got.channels), expected \(want.width)x\(want.height)x\(want.channels)"
        }
        let differing = zip(got.pixels, want.pixels).enumerated().filter { $0.element.0 != $0.element.1 }
        guard let first = differing.first else { return nil }
        let pixel = first.offset / got.channels, c = got.channels
        let at = pixel * c
        return "\(differing.count) samples differ; first at x=\(pixel % got.width), y=\(pixel / got.width): "
            + "got \(Array(got.pixels[at..<(at + c)])), expected \(Array(want.pixels[at..<(at + c)]))"
    }

    // MARK: PNG

    @Test func everyPngSuiteFileDecodesToItsSNGPixels() throws {
        let suite = try GoTestImages.folder("png/testdata/pngsuite")
        let names = try GoTestImages.files(in: suite, suffix: ".png")
        #expect(names.count == 35, "\(names)")
        var checked = 0
        for name in names {
            let stem = String(name.dropLast(4))
            let sngURL = suite.appendingPathComponent(stem + ".sng")
            let sng = try SNGImage(text: try String(contentsOf: sngURL, encoding: .utf8), name: stem + ".sng")
            let image = try ImageIO.read(suite.appendingPathComponent(name))
            if let problem = Self.pixelMismatch(image, sng.expectedPixels()) {
                Issue.record("\(name) (\(sng.model.rawValue), \(sng.bitDepth)-bit): \(problem)")
            }
            checked += 1
        }
        #expect(checked == 35)
    }

    @Test func sngParserReadsEveryLayoutTheSuiteUses() throws {
        // The parser itself, on hand-made dumps: packed 2-bit palette rows, 16-bit samples, tRNS forms.
        let palette = try SNGImage(text: """
            #SNG: test
            IHDR { width: 5; height: 1; bitdepth: 2; using color palette; }
            PLTE { (1, 2, 3) # first
              (4,5,6)
              (7, 8, 9) }
            tRNS { 0 128}
            IMAGE { pixels hex
            1b00
            }
            """, name: "palette")
        #expect(palette.samples(row: 0) == [0, 1, 2, 3, 0])
        let p = palette.expectedPixels()
        #expect(p.channels == 4 && p.pixels == [1, 2, 3, 0, 4, 5, 6, 128, 7, 8, 9, 255, 0, 0, 0, 255, 1, 2, 3, 0])
        let gray16 = try SNGImage(text: """
            IHDR { width: 2; height: 2; bitdepth: 16; using grayscale; }
            gAMA {1.0000}
            tRNS { gray: 65535; }
            IMAGE { pixels hex
            ffff fffe
            0100 00ff
            }
            """, name: "gray16")
        #expect(gray16.expectedPixels().pixels == [255, 255, 255, 0, 255, 255, 255, 255, 1, 1, 1, 255, 0, 0, 0, 255])
        let color = try SNGImage(text: """
            IHDR { width: 1; height: 1; bitdepth: 8; using color; }
            IMAGE { pixels hex
            0a0b0c
            }
            """, name: "color")
        #expect(color.expectedPixels() == ByteImage(width: 1, height: 1, channels: 3, pixels: [10, 11, 12]))
        let e = errorText { _ = try SNGImage(text: "IHDR { width: 2; height: 1; bitdepth: 8; using grayscale; }\nIMAGE { pixels hex\n00\n}", name: "short.sng") }
        #expect(e.contains("short.sng") && e.contains("row 0 has 1 bytes, expected 2"), "\(e)")
    }

    @Test func interlacedPNGsDecodeExactlyLikeTheirNonInterlacedTwins() throws {
        let testdata = try GoTestImages.folder("png/testdata")
        for (interlaced, plain) in [("gray-gradient.interlaced.png", "gray-gradient.png"), ("benchRGB-interlace.png", "benchRGB.png")] {
            let a = try ImageIO.read(testdata.appendingPathComponent(interlaced))
            let b = try ImageIO.read(testdata.appendingPathComponent(plain))
            #expect(a.width > 0 && Self.pixelMismatch(a, b) == nil, "\(interlaced): \(Self.pixelMismatch(a, b) ?? "")")
        }
    }

    @Test func paletteIndexBeyondThePaletteDecodesAsBlack() throws {
        // libpng accepts it (a benign error on read) and its zero-filled 256-entry palette makes the
        // pixel opaque black, what Go's decoder is tested to give for this file.
        let image = try ImageIO.read(try GoTestImages.folder("png/testdata").appendingPathComponent("invalid-palette.png"))
        #expect(image.channels == 3)
        #expect([image[15, 15, 0], image[15, 15, 1], image[15, 15, 2]] == [0, 0, 0])
    }

    @Test func corruptPNGsAreRefusedNamingTheFile() throws {
        let testdata = try GoTestImages.folder("png/testdata")
        let reasons = ["invalid-crc32.png": "IHDR: CRC error", "invalid-noend.png": "unexpected end of PNG data",
                       "invalid-trunc.png": "truncated", "invalid-zlib.png": "IDAT: incorrect data check"]
        for (name, reason) in reasons {
            let url = testdata.appendingPathComponent(name)
            let e = errorText { _ = try ImageIO.read(url) }
            #expect(e.hasPrefix(url.path + ": ") && e.contains(reason), "\(name): \(e)")
        }
    }

    /// PngSuite's corrupt files (x*.png, not in Go's copy) rebuilt from its valid ones as its
    /// documentation describes them: damaged signature bytes, text-mode line-ending conversions,
    /// wrong checksums, invalid colour types and bit depths, a missing IDAT.
    @Test func pngSuiteCorruptionsAreRefusedNamingTheFile() throws {
        let suite = try GoTestImages.folder("png/testdata/pngsuite")
        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        func source(_ name: String) throws -> [UInt8] { try readBytes(suite.appendingPathComponent(name)) }
        func header(_ name: String, byte: Int, to value: UInt8) throws -> [UInt8] {
            var png = PNGChunks(try source(name))
            png.chunks[0].data[byte] = value
            return png.bytes()
        }
        var cases: [(String, [UInt8], String)] = []
        for (k, b) in [(1, 0x51), (2, 0x4F), (4, 0x0A), (7, 0x0D)] as [(Int, UInt8)] {
            var bytes = try source("basn0g01.png")
            bytes[k] = b
            cases.append(("xs\(k)n0g01.png", bytes, "not a PNG or JPEG file"))
        }
        let g04 = try source("basn0g04.png")
        cases.append(("xcrn0g04.png", g04.flatMap { $0 == 0x0A ? [0x0D, 0x0A] : [$0] }, "not a PNG or JPEG file"))
        var lf: [UInt8] = []
        for (i, b) in g04.enumerated() where !(b == 0x0D && i + 1 < g04.count && g04[i + 1] == 0x0A) { lf.append(b) }
        cases.append(("xlfn0g04.png", lf, "not a PNG or JPEG file"))
        cases.append(("xhdn0g08.png", PNGChunks(try source("basn0g08.png")).bytes(badCRC: ["IHDR"]), "IHDR: CRC error"))
        cases.append(("xcsn0g01.png", PNGChunks(try source("basn0g01.png")).bytes(badCRC: ["IDAT"]), "IDAT: CRC error"))
        // libpng's bare "Invalid IHDR data" carries the warnings that say why (the decoder keeps them).
        cases.append(("xc1n0g08.png", try header("basn0g08.png", byte: 9, to: 1), "Invalid IHDR data: Invalid color type in IHDR"))
        cases.append(("xc9n2c08.png", try header("basn2c08.png", byte: 9, to: 9), "Invalid IHDR data: Invalid color type in IHDR"))
        cases.append(("xd0n2c08.png", try header("basn2c08.png", byte: 8, to: 0), "Invalid IHDR data: Invalid bit depth in IHDR"))
        cases.append(("xd3n2c08.png", try header("basn2c08.png", byte: 8, to: 3), "Invalid IHDR data: Invalid bit depth in IHDR"))
        cases.append(("xd9n2c08.png", try header("basn2c08.png", byte: 8, to: 99), "Invalid IHDR data: Invalid bit depth in IHDR"))
        var noIDAT = PNGChunks(try source("basn0g01.png"))
        noIDAT.chunks.removeAll { $0.type == "IDAT" }
        cases.append(("xdtn0g01.png", noIDAT.bytes(), "IEND: out of place"))  // IEND before any IDAT
        for (name, bytes, reason) in cases {
            let url = dir.file(name)
            try writeBytes(bytes, to: url)
            let e = errorText { _ = try ImageIO.read(url) }
            #expect(e.hasPrefix(url.path + ": ") && e.contains(reason), "\(name): \(e)")
        }
    }

    @Test func everyTruncationOfAPngSuiteFileIsRefusedNamingTheFile() throws {
        let suite = try GoTestImages.folder("png/testdata/pngsuite")
        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        var refused = 0
        for name in try GoTestImages.files(in: suite, suffix: ".png") {
            let bytes = try readBytes(suite.appendingPathComponent(name))
            // Inside the signature, every chunk boundary +-1, and the middle of each chunk.
            var cuts: Set<Int> = [0, 4, bytes.count - 1]
            var at = 8
            while at + 12 <= bytes.count {
                let n = bytes[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) }
                cuts.formUnion([at - 1, at, at + 1, at + 8 + n / 2, at + 12 + n - 1])
                at += 12 + n
            }
            for cut in cuts.sorted() where cut >= 0 && cut < bytes.count {
                let url = dir.file("cut-\(cut)-\(name)")
                try writeBytes(Array(bytes.prefix(cut)), to: url)
                let e = errorText { _ = try ImageIO.read(url) }
                #expect(e.hasPrefix(url.path + ": "), "\(name) cut at \(cut) of \(bytes.count): \(e)")
                try FileManager.default.removeItem(at: url)
                refused += 1
            }
        }
        #expect(refused == 817)
    }

    // MARK: JPEG

    /// Each JPEG of Go's image/testdata, the reference it is compared with, and the tolerance
    /// (mean and max absolute error in 8-bit units) with the reason.
    struct JPEGCase: Sendable {
        let file: String, reference: String
        let mean: Double, max: Int
    }

    /// Go's decode_test pairs each JPEG with a PNG of its expected pixels (decoded by a decoder that
    /// replicates chroma samples); the q50 files are compared with the source image they were
    /// encoded from (video-001.png), so their tolerance is the quality-50 coding loss.
    static let jpegCases: [JPEGCase] = [
        // No chroma subsampling: only IDCT rounding differs (Go's own tolerance is max 8).
        .init(file: "video-001.jpeg", reference: "video-001.png", mean: 0.5, max: 8),
        .init(file: "video-001.progressive.jpeg", reference: "video-001.png", mean: 0.5, max: 8),
        .init(file: "video-001.progressive.truncated.jpeg", reference: "video-001.progressive.truncated.png", mean: 0.5, max: 8),
        .init(file: "video-001.cmyk.jpeg", reference: "video-001.cmyk.png", mean: 0.5, max: 8),
        .init(file: "video-005.gray.jpeg", reference: "video-005.gray.png", mean: 1.0, max: 8),
        // Subsampled chroma (or G and B in the RGB file): libjpeg interpolates ("fancy"
        // upsampling, as Pillow), the reference replicates, so edges of saturated colour differ.
        .init(file: "video-001.221212.jpeg", reference: "video-001.221212.png", mean: 1.5, max: 40),
        .init(file: "video-001.rgb.jpeg", reference: "video-001.rgb.png", mean: 5.0, max: 110),
        // Quality 50 against the uncompressed source: the coding loss of each subsampling.
        .init(file: "video-001.q50.444.jpeg", reference: "video-001.png", mean: 6.0, max: 90),
        .init(file: "video-001.q50.440.jpeg", reference: "video-001.png", mean: 6.5, max: 130),
        .init(file: "video-001.q50.422.jpeg", reference: "video-001.png", mean: 6.5, max: 130),
        .init(file: "video-001.q50.420.jpeg", reference: "video-001.png", mean: 7.0, max: 160),
        .init(file: "video-001.q50.411.jpeg", reference: "video-001.png", mean: 7.5, max: 160),
        .init(file: "video-001.q50.410.jpeg", reference: "video-001.png", mean: 8.0, max: 160),
        .init(file: "video-001.separate.dc.progression.jpeg", reference: "video-001.png", mean: 2.0, max: 90),
        .init(file: "video-005.gray.q50.jpeg", reference: "video-005.gray.png", mean: 5.0, max: 50),
        .init(file: "video-005.gray.q50.2x2.jpeg", reference: "video-005.gray.png", mean: 5.0, max: 50),
    ]

    @Test func jpegTestImagesDecodeWithinToleranceOfTheirReference() throws {
        let testdata = try GoTestImages.folder("testdata")
        var lines: [String] = []
        for c in Self.jpegCases {
            let image = try ImageIO.read(testdata.appendingPathComponent(c.file))
            let reference = try ImageIO.read(testdata.appendingPathComponent(c.reference))
            guard (image.width, image.height, image.channels) == (reference.width, reference.height, reference.channels) else {
                Issue.record("\(c.file): \(image.width)x\(image.height)x\(image.channels), reference \(reference.width)x\(reference.height)x\(reference.channels)")
                continue
            }
            let d = PixelDifference(image, reference)
            lines.append("\(c.file) vs \(c.reference): \(d)")
            #expect(d.mean <= c.mean && d.max <= c.max, "\(c.file) vs \(c.reference): \(d); allowed mean \(c.mean), max \(c.max)")
        }
        print(lines.joined(separator: "\n"))
    }

    @Test func everyJPEGTestImageDecodesToPillowsPixelsExactly() throws {
        // Pillow (its own libjpeg-turbo build) decoded each file; Scripts/fixtures/fixtures_go_jpeg.py kept
        // the FNV-1a hash and sum of its pixels in the layout ImageIO yields.
        struct Entry: Decodable { let width: Int, height: Int, channels: Int, fnv1a64: String, sum: Int }
        struct Fixture: Decodable { let files: [String: Entry] }
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: try fixtureURL("go_jpeg_pillow.json")))
        let testdata = try GoTestImages.folder("testdata")
        let names = try GoTestImages.files(in: testdata, suffix: ".jpeg")
        #expect(names.count == 25 && Set(names) == Set(fixture.files.keys))
        for name in names {
            guard let want = fixture.files[name] else { continue }
            let image = try ImageIO.read(testdata.appendingPathComponent(name))
            var h = FNV1a()
            for b in image.pixels { h.combine(byte: b) }
            let hash = String(h.value, radix: 16).leftPaddedWithZeros(to: 16)
            let sum = image.pixels.reduce(0) { $0 + Int($1) }
            let shape: [Int] = [image.width, image.height, image.channels], wantShape: [Int] = [want.width, want.height, want.channels]
            #expect(shape == wantShape, "\(name)")
            #expect(hash == want.fnv1a64 && sum == want.sum, "\(name): pixel hash \(hash) sum \(sum), Pillow's \(want.fnv1a64) sum \(want.sum)")
        }
    }

    @Test func progressiveJPEGsDecodeExactlyLikeTheirBaselineTwins() throws {
        // Same quantised coefficients, sent in one scan or several: identical pixels.
        let testdata = try GoTestImages.folder("testdata")
        let progressive = try GoTestImages.files(in: testdata, suffix: ".progressive.jpeg")
        #expect(progressive.count == 10)
        for name in progressive {
            let baseline = name.replacingOccurrences(of: ".progressive.jpeg", with: ".jpeg")
            let a = try ImageIO.read(testdata.appendingPathComponent(name))
            let b = try ImageIO.read(testdata.appendingPathComponent(baseline))
            if name == "video-001.progressive.jpeg" {
                // Encoded separately from video-001.jpeg (other quantisation): only close.
                #expect(PixelDifference(a, b).max <= 8)
            } else {
                #expect(Self.pixelMismatch(a, b) == nil, "\(name) vs \(baseline): \(Self.pixelMismatch(a, b) ?? "")")
            }
        }
    }

    @Test func truncatedAndCorruptJPEGsAreRefusedNamingTheFile() throws {
        let testdata = try GoTestImages.folder("testdata")
        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        var checked = 0
        for name in ["video-001.jpeg", "video-001.progressive.jpeg", "video-001.q50.420.jpeg", "video-001.q50.411.progressive.jpeg",
                     "video-001.cmyk.jpeg", "video-001.rgb.jpeg", "video-005.gray.q50.2x2.progressive.jpeg"] {
            let bytes = try readBytes(testdata.appendingPathComponent(name))
            // Ten cuts from the header to just before EOI: libjpeg pads a truncated stream with gray
            // and only warns; the decoder turns that warning into an error.
            for k in 0..<10 {
                let cut = k == 9 ? bytes.count - 2 : 3 + (bytes.count - 5) * k / 9
                let url = dir.file("cut-\(cut)-\(name)")
                try writeBytes(Array(bytes.prefix(cut)), to: url)
                let e = errorText { _ = try ImageIO.read(url) }
                #expect(e.hasPrefix(url.path + ": ") && e.contains("JPEG"), "\(name) cut at \(cut) of \(bytes.count): \(e)")
                checked += 1
            }
        }
        #expect(checked == 70)
        // Damaged structure: a component using a quantisation table that was never defined, an
        // unsupported precision, a zero width. (A missing Huffman table is not an error: libjpeg
        // falls back to the standard tables, as Motion-JPEG frames need.)
        let bytes = try readBytes(testdata.appendingPathComponent("video-001.jpeg"))
        func segment(_ marker: UInt8) -> Range<Int>? {
            var at = 2
            while at + 4 <= bytes.count, bytes[at] == 0xFF {
                let n = Int(bytes[at + 2]) << 8 | Int(bytes[at + 3])
                if bytes[at + 1] == marker { return at..<(at + 2 + n) }
                if bytes[at + 1] == 0xDA { return nil }
                at += 2 + n
            }
            return nil
        }
        let sof = try #require(segment(0xC0))
        var noTable = bytes
        noTable[sof.lowerBound + 12] = 3  // component 1's table selector
        var precision = bytes
        precision[sof.lowerBound + 4] = 12
        var zeroWidth = bytes
        zeroWidth[sof.lowerBound + 7] = 0
        zeroWidth[sof.lowerBound + 8] = 0
        for (name, damaged, reason) in [("no-table.jpeg", noTable, "Quantization table 0x03 was not defined"), ("precision.jpeg", precision, "precision"),
                                        ("zero-width.jpeg", zeroWidth, "JPEG")] {
            let url = dir.file(name)
            try writeBytes(damaged, to: url)
            let e = errorText { _ = try ImageIO.read(url) }
            #expect(e.hasPrefix(url.path + ": ") && e.contains(reason), "\(name): \(e)")
        }
    }
}

extension String {
    /// `self` preceded by zeros up to `width` characters.
    fileprivate func leftPaddedWithZeros(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
