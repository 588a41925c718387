import Foundation
import Testing
@testable import SynTensor

@Suite struct IOIDXTests {
    /// IDX images [2, 2, 3] uint8 with values 0, 20, ..., 220.
    static let images: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3] + (0..<12).map { UInt8($0 * 20) }
    /// `images`, gzip-compressed by Python's gzip.compress(mtime=0).
    static let imagesGz: [UInt8] = [
        0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x63, 0x60, 0xe0, 0x60, 0x66, 0x60, 0x60, 0x60,
        0x82, 0x62, 0x66, 0x06, 0x11, 0x0d, 0x9b, 0x80, 0x94, 0x8a, 0x9e, 0x05, 0x5b, 0x4e, 0xdc, 0x01, 0x00, 0xa6,
        0x13, 0xe4, 0x5d, 0x1c, 0x00, 0x00, 0x00,
    ]
    /// `images` split after 10 bytes into two gzip members, concatenated.
    static let imagesTwoMembersGz: [UInt8] = [
        0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x63, 0x60, 0xe0, 0x60, 0x66, 0x60, 0x60, 0x60,
        0x62, 0x60, 0x00, 0x00, 0x30, 0xbd, 0x03, 0x02, 0x0a, 0x00, 0x00, 0x00, 0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x02, 0x03, 0x63, 0x60, 0x62, 0x60, 0x60, 0x60, 0x66, 0x10, 0xd1, 0xb0, 0x09, 0x48, 0xa9, 0xe8,
        0x59, 0xb0, 0xe5, 0xc4, 0x1d, 0x00, 0x90, 0x31, 0x8f, 0x3e, 0x12, 0x00, 0x00, 0x00,
    ]

    @Test func gunzipHandlesMembersAndRejectsDamage() throws {
        #expect(try Gzip.decompress(Self.imagesGz) == Self.images)
        #expect(try Gzip.decompress(Self.imagesTwoMembersGz) == Self.images)
        var e = errorText { _ = try Gzip.decompress(Array(Self.imagesGz.dropLast(5)), path: "cut.gz") }
        #expect(e.contains("cut.gz") && e.contains("truncated"), "\(e)")
        e = errorText { _ = try Gzip.decompress(Array(Self.imagesGz.prefix(12)), path: "cut2.gz") }
        #expect(e.contains("cut2.gz") && e.contains("truncated"), "\(e)")
        var flipped = Self.imagesGz
        flipped[flipped.count - 6] ^= 0xFF  // CRC-32 of the member
        e = errorText { _ = try Gzip.decompress(flipped, path: "crc.gz") }
        #expect(e.contains("crc.gz") && e.contains("incorrect data check"), "\(e)")
        e = errorText { _ = try Gzip.decompress(Array("plain text".utf8), path: "text.gz") }
        #expect(e.contains("text.gz") && e.contains("incorrect header check"), "\(e)")
        e = errorText { _ = try Gzip.decompress([], path: "empty.gz") }
        #expect(e.contains("empty.gz") && e.contains("empty input"), "\(e)")
    }

    @Test func emptyArrayWithHugeDimensionsIsRefused() throws {
        // synclr-fuzz finding (Docs/reliability.md): rank 8, one dimension 0, the others up to 2^31:
        // zero elements, so the file "fits", but computing the tensor's strides overflowed and trapped.
        let dims: [UInt32] = [33_554_432, 2_147_615_587, 0, 134_743_808, 512, 458_752, 131_072, 11_847_900]
        var bytes: [UInt8] = [0, 0, 8, 8]
        for d in dims { bytes += [UInt8(d >> 24), UInt8((d >> 16) & 0xFF), UInt8((d >> 8) & 0xFF), UInt8(d & 0xFF)] }
        let e = errorText { _ = try IDX.parse(bytes, path: "empty-huge.idx").tensor() }
        #expect(e.contains("empty-huge.idx") && e.contains("dimensions whose product fits in memory"), "\(e)")
        // An empty array with modest dimensions is still fine.
        let empty = try IDX.parse([0, 0, 8, 2, 0, 0, 0, 0, 0, 0, 0, 28], path: "empty.idx")
        #expect(empty.shape == [0, 28] && empty.tensor().shape == [0, 28])
    }

    @Test func gunzipOutputIsCapped() throws {
        // Exactly the limit passes; one byte less is refused with the limit in the message (also
        // across concatenated members, whose outputs add up).
        #expect(try Gzip.decompress(Self.imagesGz, maxOutputBytes: Self.images.count) == Self.images)
        #expect(try Gzip.decompress(Self.imagesTwoMembersGz, maxOutputBytes: Self.images.count) == Self.images)
        for bytes in [Self.imagesGz, Self.imagesTwoMembersGz] {
            let e = errorText { _ = try Gzip.decompress(bytes, path: "bomb.gz", maxOutputBytes: Self.images.count - 1) }
            #expect(e.contains("bomb.gz") && e.contains("exceeds the limit of \(Self.images.count - 1) bytes"), "\(e)")
        }
        let e = errorText { _ = try Gzip.decompress(Self.imagesGz, path: "zero.gz", maxOutputBytes: 0) }
        #expect(e.contains("exceeds the limit of 0 bytes"), "\(e)")
        #expect(Gzip.defaultMaxOutputBytes == 1 << 30)
    }

    @Test func readsPlainAndGzippedIDX() throws {
        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        try writeBytes(Self.images, to: dir.file("imgs-idx3-ubyte"))
        try writeBytes(Self.imagesGz, to: dir.file("imgs-idx3-ubyte.gz"))
        for name in ["imgs-idx3-ubyte", "imgs-idx3-ubyte.gz"] {
            let array = try IDX.read(dir.file(name))
            #expect(array.dataType == .uint8 && array.shape == [2, 2, 3])
            #expect(array.integers() == (0..<12).map { $0 * 20 })
            let t = try IDX.readImages(dir.file(name))
            #expect(t.shape == [2, 1, 2, 3])
            #expect(t.scalars == (0..<12).map { Float($0 * 20) / 255 })
        }
        let labels: [UInt8] = [0, 0, 8, 1, 0, 0, 0, 3, 7, 0, 9]
        try writeBytes(labels, to: dir.file("labels"))
        #expect(try IDX.readLabels(dir.file("labels")) == [7, 0, 9])
        var e = errorText { _ = try IDX.readImages(dir.file("labels")) }
        #expect(e.contains("labels") && e.contains("expected uint8 images"), "\(e)")

        // Big-endian wider types.
        let ints: [UInt8] = [0, 0, 0x0C, 1, 0, 0, 0, 2, 0xFF, 0xFF, 0xFF, 0xFE, 0, 0, 1, 0]
        #expect(try IDX.parse(ints).integers() == [-2, 256])
        let floats: [UInt8] = [0, 0, 0x0D, 1, 0, 0, 0, 1, 0x3F, 0xC0, 0, 0]
        #expect(try IDX.parse(floats).tensor().scalars == [1.5])
        e = errorText { _ = try IDX.parse([0, 0, 0x07, 1, 0, 0, 0, 0], path: "type") }
        #expect(e.contains("unknown IDX element type 0x7"), "\(e)")
    }

    @Test func rejectsBadIDXFiles() throws {
        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        func failure(_ bytes: [UInt8], _ name: String) throws -> String {
            try writeBytes(bytes, to: dir.file(name))
            return errorText { _ = try IDX.read(dir.file(name)) }
        }
        var e = try failure(Array(Self.images.dropLast()), "short-idx")
        #expect(e.contains("short-idx") && e.contains("truncated IDX data (27 bytes, 28 expected)"), "\(e)")
        e = try failure(Array(Self.images.prefix(10)), "header-idx")
        #expect(e.contains("header-idx") && e.contains("truncated"), "\(e)")
        e = try failure(Self.images + [1], "long-idx")
        #expect(e.contains("long-idx") && e.contains("1 bytes beyond"), "\(e)")
        e = try failure(Array("%PDF-1.4 not idx".utf8), "pdf-idx")
        #expect(e.contains("pdf-idx") && e.contains("not an IDX file"), "\(e)")
        e = try failure(Array(Self.imagesGz.dropLast(9)), "cut-idx.gz")
        #expect(e.contains("cut-idx.gz") && e.contains("truncated compressed data"), "\(e)")
        e = try failure([], "empty-idx")
        #expect(e.contains("empty-idx") && e.contains("truncated"), "\(e)")
        e = errorText { _ = try IDX.read(dir.file("missing-idx")) }
        #expect(e.contains("missing-idx") && e.contains("No such file"), "\(e)")
    }

    static let fashionMNIST = URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist")
    static var haveFashionMNIST: Bool {
        FileManager.default.fileExists(atPath: fashionMNIST.appendingPathComponent("t10k-labels-idx1-ubyte.gz").path)
    }

    @Test(.enabled(if: haveFashionMNIST, "needs the Debian package dataset-fashion-mnist"))
    func readsFashionMNISTTestSplit() throws {
        let labels = try IDX.readLabels(Self.fashionMNIST.appendingPathComponent("t10k-labels-idx1-ubyte.gz"))
        #expect(labels.count == 10_000)
        #expect(Array(labels.prefix(10)) == [9, 2, 1, 1, 6, 1, 4, 6, 5, 7])
        #expect((0..<10).allSatisfy { c in labels.filter { $0 == c }.count == 1000 })
        let images = try IDX.readImages(Self.fashionMNIST.appendingPathComponent("t10k-images-idx3-ubyte.gz"))
        #expect(images.shape == [10_000, 1, 28, 28])
        images.withUnsafeBufferPointer { p in
            let first = p[0..<784].reduce(0, +)
            #expect(abs(first * 255 - 33456) < 0.05)
            let row = (0..<10).map { Int((p[14 * 28 + 10 + $0] * 255).rounded()) }
            #expect(row == [0, 0, 98, 136, 110, 109, 110, 162, 135, 144])
            let last = p[(9999 * 784)..<(10_000 * 784)].reduce(0, +)
            #expect(abs(last * 255 - 24390) < 0.05)
            #expect(p.allSatisfy { $0 >= 0 && $0 <= 1 })
        }
    }
}
