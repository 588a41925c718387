import Foundation
import Testing
@testable import SynTensor

@Suite struct IOImageTests {
    /// A smooth RGB test card (JPEG-friendly), `w` x `h`.
    static func card(width w: Int, height h: Int, channels c: Int) -> ByteImage {
        var px = [UInt8](repeating: 0, count: w * h * c)
        for y in 0..<h {
            for x in 0..<w {
                let base = (y * w + x) * c
                px[base] = UInt8(x * 255 / max(w - 1, 1))
                if c >= 3 {
                    px[base + 1] = UInt8(y * 255 / max(h - 1, 1))
                    px[base + 2] = UInt8((x + y) * 255 / max(w + h - 2, 1))
                }
                if c == 4 { px[base + 3] = UInt8((x * 7 + y * 13) % 256) }
            }
        }
        return ByteImage(width: w, height: h, channels: c, pixels: px)
    }

    @Test func decodesPillowWrittenFilesToPillowsPixels() throws {
        let expected = try SafetensorsFile(url: try fixtureURL("images_expected.safetensors"))
        #expect(expected.names.count == 12)
        for name in expected.names {
            let info = try #require(expected.info(name))
            let want = try expected.withRawBytes(of: name) { Array($0) }
            let image = try ImageIO.read(try fixtureURL(name))
            #expect([image.height, image.width, image.channels] == info.shape, "\(name)")
            let maxDiff = zip(image.pixels, want).map { abs(Int($0) - Int($1)) }.max() ?? 0
            // PNG is lossless: exact. JPEG: same libjpeg-turbo algorithms, tiny slack for builds.
            let tolerance = name.hasSuffix(".png") ? 0 : (name.contains("cmyk") ? 2 : 1)
            #expect(maxDiff <= tolerance, "\(name): max difference \(maxDiff)")
        }
    }

    @Test func pngRoundTripsExactlyForEveryChannelCount() throws {
        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        for c in [1, 3, 4] {
            let image = Self.card(width: 13, height: 7, channels: c)
            let url = dir.file("card\(c).png")
            try ImageIO.write(image, to: url)
            #expect(try ImageIO.read(url) == image)
            // Tensor path: [C, H, W] in [0, 1].
            let t = try ImageIO.readTensor(url)
            #expect(t.shape == [c, 7, 13])
            #expect(t.scalars[0] == Float(image[0, 0, 0]) / 255)
            #expect(t.scalars[7 * 13 * (c - 1) + 5 * 13 + 2] == Float(image[2, 5, c - 1]) / 255)
            try ImageIO.write(t, to: dir.file("again\(c).png"))
            #expect(try ImageIO.read(dir.file("again\(c).png")) == image)
        }
        #expect(try dir.contents() == ["again1.png", "again3.png", "again4.png", "card1.png", "card3.png", "card4.png"])
    }

    @Test func knownPixelValuesThroughTensors() throws {
        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        // One row of 8 gray pixels: rounding floor(x * 255 + 0.5), clamping, NaN -> 0.
        let values: [Float] = [0, 1, 0.5, 0.2, -1, 2, .nan, 0.998]
        let url = dir.file("row.png")
        try ImageIO.write(Tensor(shape: [1, 1, 8], data: values), to: url)
        let image = try ImageIO.read(url)
        #expect(image.channels == 1 && image.width == 8 && image.height == 1)
        #expect(image.pixels == [0, 255, 128, 51, 0, 255, 0, 254])
        // [H, W] tensors are gray too.
        try ImageIO.write(Tensor(shape: [2, 2], data: [0, 1, 1, 0]), to: dir.file("hw.png"))
        #expect(try ImageIO.read(dir.file("hw.png")).pixels == [0, 255, 255, 0])
        // RGB channel order and CHW layout: a red, a green and a blue pixel.
        let rgb = Tensor(shape: [3, 1, 3], data: [1, 0, 0, 0, 1, 0, 0, 0, 1])
        try ImageIO.write(rgb, to: dir.file("rgb.png"))
        #expect(try ImageIO.read(dir.file("rgb.png")).pixels == [255, 0, 0, 0, 255, 0, 0, 0, 255])
        #expect(try ImageIO.readTensor(dir.file("rgb.png")).scalars == rgb.scalars)
        // Channel conversion on read: luma like Pillow, and gray -> RGB.
        #expect(try ImageIO.readTensor(dir.file("rgb.png"), channels: 1).scalars.map { Int(($0 * 255).rounded()) } == [76, 150, 29])  // Pillow: [76, 150, 29]
        #expect(try ImageIO.readTensor(dir.file("row.png"), channels: 3).shape == [3, 1, 8])
        let rgba = try ImageIO.read(dir.file("rgb.png")).converted(toChannels: 4)
        #expect(rgba.pixels == [255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255])
        #expect(rgba.converted(toChannels: 3).pixels == [255, 0, 0, 0, 255, 0, 0, 0, 255])
    }

    @Test func jpegRoundTripIsClose() throws {
        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        for c in [1, 3] {
            let image = Self.card(width: 32, height: 24, channels: c)
            let url = dir.file("card\(c).jpg")
            try ImageIO.write(image, to: url, jpegQuality: 95)
            let back = try ImageIO.read(url)
            #expect(back.width == 32 && back.height == 24 && back.channels == c)
            let maxDiff = zip(back.pixels, image.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 0
            #expect(maxDiff <= 12, "channels \(c): max difference \(maxDiff)")
        }
        // Format comes from the bytes, not the name: a PNG named .jpg and a JPEG named .png.
        try FileManager.default.copyItem(at: dir.file("card3.jpg"), to: dir.file("really-jpeg.png"))
        try ImageIO.write(Self.card(width: 4, height: 4, channels: 3), to: dir.file("really-png.jpg"), format: .png)
        #expect(try ImageIO.read(dir.file("really-jpeg.png")).channels == 3)
        #expect(try ImageIO.read(dir.file("really-png.jpg")) == Self.card(width: 4, height: 4, channels: 3))
    }

    /// CRC-32 (IEEE, as PNG chunks use) of `bytes`.
    static func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            c ^= UInt32(b)
            for _ in 0..<8 { c = c & 1 == 1 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
        }
        return ~c
    }

    static func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }

    @Test func headersClaimingTooManyPixelsAreRefusedBeforeDecoding() throws {
        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        let image = Self.card(width: 24, height: 16, channels: 1)
        try ImageIO.write(image, to: dir.file("ok.png"))
        try ImageIO.write(image, to: dir.file("ok.jpg"))
        // The limit is configurable: 384 pixels pass at 384, not at 383.
        for name in ["ok.png", "ok.jpg"] {
            #expect(try ImageIO.read(dir.file(name), maxPixels: 24 * 16).width == 24)
            let e = errorText { _ = try ImageIO.read(dir.file(name), maxPixels: 24 * 16 - 1) }
            #expect(e.contains(name) && e.contains("image of 24x16 pixels exceeds the limit of 383 pixels"), "\(e)")
        }
        // A ~100-byte PNG whose IHDR (CRC fixed) claims 40000x40000 gray: 1.6 GB if allocated.
        var png = try readBytes(dir.file("ok.png"))
        png.replaceSubrange(16..<24, with: Self.bigEndian(40000) + Self.bigEndian(40000))
        png.replaceSubrange(29..<33, with: Self.bigEndian(Self.crc32(png[12..<29])))
        try writeBytes(png, to: dir.file("bomb.png"))
        var e = errorText { _ = try ImageIO.read(dir.file("bomb.png")) }
        #expect(e.contains("bomb.png") && e.contains("40000x40000 pixels exceeds the limit of \(ImageIO.defaultMaxPixels) pixels"), "\(e)")
        // The same for a JPEG's frame header (SOF0: FF C0, length, precision, height, width).
        var jpeg = try readBytes(dir.file("ok.jpg"))
        let sof = try #require((0..<(jpeg.count - 1)).first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC0 })
        jpeg.replaceSubrange((sof + 5)..<(sof + 9), with: [0x9C, 0x40, 0x9C, 0x40])  // 40000 x 40000
        try writeBytes(jpeg, to: dir.file("bomb.jpg"))
        e = errorText { _ = try ImageIO.read(dir.file("bomb.jpg")) }
        #expect(e.contains("bomb.jpg") && e.contains("40000x40000 pixels exceeds the limit"), "\(e)")
    }

    @Test func ancillaryChunkClaimingGigabytesIsRefused() throws {
        // synclr-fuzz finding (Docs/reliability.md): a 300-byte PNG whose tEXt chunk declares
        // 1,862,271,012 bytes made libpng allocate and zero that much (10 s, 1.8 GB) before failing.
        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        try ImageIO.write(Self.card(width: 8, height: 8, channels: 1), to: dir.file("ok.png"))
        let png = try readBytes(dir.file("ok.png"))
        let text = Self.bigEndian(1_862_271_012) + Array("tEXt".utf8) + Array("Software\u{0}QR-PNG".utf8)
        try writeBytes(Array(png.prefix(33)) + text, to: dir.file("text-bomb.png"))
        // Peak resident memory (KiB) may not grow by the claimed size: the chunk is skipped, not buffered.
        var before = rusage(), after = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &before)
        let e = errorText { _ = try ImageIO.read(dir.file("text-bomb.png")) }
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &after)
        #expect(e.contains("text-bomb.png") && e.contains("chunk 'tEXt' at byte 33 declares 1862271012 bytes"), "\(e)")
        #expect(after.ru_maxrss - before.ru_maxrss < 512 * 1024, "peak memory grew by \(after.ru_maxrss - before.ru_maxrss) KiB")
    }

    @Test func truncatedAndCorruptFilesThrowNamingTheFile() throws {
        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        let image = Self.card(width: 24, height: 16, channels: 3)
        try ImageIO.write(image, to: dir.file("ok.png"))
        try ImageIO.write(image, to: dir.file("ok.jpg"))
        let png = try readBytes(dir.file("ok.png"))
        let jpeg = try readBytes(dir.file("ok.jpg"))

        // Every truncation is an error: the signature, inside a chunk, before IEND, before EOI.
        let progressive = try readBytes(try fixtureURL("image_progressive.jpg"))
        let palette = try readBytes(try fixtureURL("image_palette_trns.png"))
        for (name, bytes) in [("cut.png", png), ("cut.jpg", jpeg), ("cut-progressive.jpg", progressive), ("cut-palette.png", palette)] {
            var cuts = Array(stride(from: 3, to: bytes.count, by: max(1, bytes.count / 40)))
            cuts += [bytes.count - 1, bytes.count - 2]
            for cut in cuts {
                try writeBytes(Array(bytes.prefix(cut)), to: dir.file(name))
                let e = errorText { _ = try ImageIO.read(dir.file(name)) }
                #expect(e.contains(name) && (e.contains("corrupt or truncated") || e.contains("not a PNG or JPEG")),
                        "cut at \(cut) of \(bytes.count): \(e)")
            }
        }
        // A broken CRC in the PNG data chunk.
        var bad = png
        let idat = try #require((0..<(bad.count - 4)).first { bad[$0..<($0 + 4)].elementsEqual(Array("IDAT".utf8)) })
        bad[idat + 6] ^= 0x55
        try writeBytes(bad, to: dir.file("crc.png"))
        var e = errorText { _ = try ImageIO.read(dir.file("crc.png")) }
        #expect(e.contains("crc.png") && e.contains("corrupt or truncated PNG"), "\(e)")
        // A JPEG whose frame header is destroyed.
        var badJPEG = jpeg
        let sof = try #require((0..<(badJPEG.count - 1)).first { badJPEG[$0] == 0xFF && badJPEG[$0 + 1] == 0xC0 })
        for k in (sof + 2)..<(sof + 10) { badJPEG[k] = 0 }
        try writeBytes(badJPEG, to: dir.file("sof.jpg"))
        e = errorText { _ = try ImageIO.read(dir.file("sof.jpg")) }
        #expect(e.contains("sof.jpg") && e.contains("corrupt or truncated JPEG"), "\(e)")

        try writeBytes([], to: dir.file("empty.png"))
        e = errorText { _ = try ImageIO.read(dir.file("empty.png")) }
        #expect(e.contains("empty.png") && e.contains("empty file"), "\(e)")
        try writeBytes(Array("GIF89a not supported".utf8), to: dir.file("anim.gif"))
        e = errorText { _ = try ImageIO.read(dir.file("anim.gif")) }
        #expect(e.contains("anim.gif") && e.contains("not a PNG or JPEG file (first bytes: 47 49 46 38"), "\(e)")
        try writeBytes([0xFF, 0xD8, 0xFF], to: dir.file("soi.jpg"))
        e = errorText { _ = try ImageIO.read(dir.file("soi.jpg")) }
        #expect(e.contains("soi.jpg") && e.contains("corrupt or truncated JPEG"), "\(e)")
        e = errorText { _ = try ImageIO.read(dir.file("missing.png")) }
        #expect(e.contains("missing.png") && e.contains("No such file"), "\(e)")
        e = errorText { _ = try ImageIO.read(dir.url) }
        #expect(e.contains("not a regular file"), "\(e)")
    }

    @Test func writesAreAtomicAndValidated() throws {
        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        let rgba = Self.card(width: 4, height: 3, channels: 4)
        var e = errorText { try ImageIO.write(rgba, to: dir.file("alpha.jpg")) }
        #expect(e.contains("alpha.jpg") && e.contains("alpha"), "\(e)")
        e = errorText { try ImageIO.write(rgba, to: dir.file("picture.bmp")) }
        #expect(e.contains("picture.bmp") && e.contains("extension"), "\(e)")
        e = errorText { try ImageIO.write(ByteImage(width: 0, height: 0, channels: 3, pixels: []), to: dir.file("none.png")) }
        #expect(e.contains("none.png") && e.contains("empty"), "\(e)")
        e = errorText { try ImageIO.write(rgba, to: dir.file("nodir/x.png")) }
        #expect(e.contains("nodir/x.png"), "\(e)")
        #expect(try dir.contents().isEmpty)
        // Overwrite replaces the file in one step.
        try ImageIO.write(rgba, to: dir.file("a.png"))
        try ImageIO.write(rgba.converted(toChannels: 1), to: dir.file("a.png"))
        #expect(try ImageIO.read(dir.file("a.png")).channels == 1)
        #expect(try dir.contents() == ["a.png"])
    }

    @Test func decodesConcurrently() async throws {
        let url = try fixtureURL("image_rgb.jpg")
        let first = try ImageIO.read(url)
        let same = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 { group.addTask { try ImageIO.read(url) == first } }
            return try await group.reduce(true) { $0 && $1 }
        }
        #expect(same)
    }
}
