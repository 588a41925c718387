import Foundation
import Testing
@testable import SynTensor

/// Little-endian half bits of a few exact values.
private enum H {
    static let half: UInt16 = 0x3800        // 0.5
    static let quarter: UInt16 = 0x3400     // 0.25
    static let minusOne: UInt16 = 0xBC00    // -1
    static let two: UInt16 = 0x4000         // 2
}

private func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
private func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { (i: Int) -> UInt8 in UInt8((v >> UInt32(8 * i)) & 0xFF) } }

/// A GGUF string: UInt64 length and bytes.
private func gstr(_ s: String) -> [UInt8] {
    var out: [UInt8] = le32(UInt32(s.utf8.count))
    out += [UInt8](repeating: 0, count: 4)
    out += Array(s.utf8)
    return out
}

/// Concatenation without type-checker blow-ups.
private func cat(_ parts: [UInt8]...) -> [UInt8] { parts.flatMap { $0 } }

private func dequant(_ type: GGMLType, _ bytes: [UInt8], count: Int) -> [Float] {
    var out = [Float](repeating: .nan, count: count)
    bytes.withUnsafeBytes { raw in
        out.withUnsafeMutableBufferPointer { GGMLDequantizer.dequantize(type, from: raw.baseAddress!, count: count, into: $0.baseAddress!) }
    }
    return out
}

private func hexBytes(_ s: String) -> [UInt8] {
    var out: [UInt8] = []
    var it = s.utf8.makeIterator()
    func nib(_ c: UInt8) -> UInt8 { c <= 57 ? c - 48 : c - 87 }
    while let a = it.next(), let b = it.next() { out.append(nib(a) << 4 | nib(b)) }
    return out
}

@Suite struct GGUFQuantizationTests {
    @Test func q8_0HandBuiltBlock() {
        let q: [Int8] = (0..<32).map { (i: Int) -> Int8 in Int8(clamping: i * 9 - 128) }
        let block: [UInt8] = cat(le16(H.quarter), q.map { UInt8(bitPattern: $0) })
        #expect(GGMLType.q8_0.blockBytes == block.count)
        #expect(dequant(.q8_0, block, count: 32) == q.map { Float($0) * 0.25 })
    }

    @Test func q4_0HandBuiltBlock() {
        let qs: [UInt8] = (0..<16).map { (i: Int) -> UInt8 in UInt8(i) | UInt8(15 - i) << 4 }
        let block: [UInt8] = cat(le16(H.half), qs)
        let low: [Float] = (0..<16).map { (i: Int) -> Float in Float(i - 8) * 0.5 }
        let high: [Float] = (0..<16).map { (i: Int) -> Float in Float(7 - i) * 0.5 }
        let expected = low + high
        #expect(dequant(.q4_0, block, count: 32) == expected)
    }

    @Test func q4_1HandBuiltBlock() {
        let qs: [UInt8] = (0..<16).map { (i: Int) -> UInt8 in UInt8(i) | UInt8(15 - i) << 4 }
        let block: [UInt8] = cat(le16(H.half), le16(H.minusOne), qs)
        let low: [Float] = (0..<16).map { (i: Int) -> Float in Float(i) * 0.5 - 1 }
        let high: [Float] = (0..<16).map { (i: Int) -> Float in Float(15 - i) * 0.5 - 1 }
        let expected = low + high
        #expect(dequant(.q4_1, block, count: 32) == expected)
    }

    @Test func q5HandBuiltBlocks() {
        let qs: [UInt8] = (0..<16).map { (i: Int) -> UInt8 in UInt8(i) | UInt8(15 - i) << 4 }
        let qh: UInt32 = 0xA5A5_0F0F
        func q(_ i: Int) -> Int {
            let nibble = i < 16 ? Int(qs[i] & 0x0F) : Int(qs[i - 16] >> 4)
            return nibble | Int((qh >> UInt32(i)) & 1) << 4
        }
        let b0: [UInt8] = cat(le16(H.half), le32(qh), qs)
        let e0: [Float] = (0..<32).map { (i: Int) -> Float in Float(q(i) - 16) * 0.5 }
        #expect(dequant(.q5_0, b0, count: 32) == e0)
        let b1: [UInt8] = cat(le16(H.two), le16(H.minusOne), le32(qh), qs)
        let e1: [Float] = (0..<32).map { (i: Int) -> Float in Float(q(i)) * 2 - 1 }
        #expect(dequant(.q5_1, b1, count: 32) == e1)
    }

    @Test func q4_KHandBuiltBlock() {
        let sc: [UInt8] = [1, 2, 3, 4, 5, 17, 33, 63], mn: [UInt8] = [0, 1, 2, 3, 60, 61, 16, 63]
        var scales = [UInt8](repeating: 0, count: 12)
        for j in 0..<4 {
            scales[j] = sc[j] | (sc[j + 4] >> 4) << 6
            scales[j + 4] = mn[j] | (mn[j + 4] >> 4) << 6
            scales[j + 8] = (sc[j + 4] & 0x0F) | (mn[j + 4] & 0x0F) << 4
        }
        let qs: [UInt8] = (0..<128).map { (i: Int) -> UInt8 in UInt8((i * 7) & 0xFF) }
        let block: [UInt8] = cat(le16(H.half), le16(H.quarter), scales, qs)
        var expected = [Float](repeating: 0, count: 256)
        for c in 0..<4 {
            for l in 0..<32 {
                let b = qs[c * 32 + l]
                expected[c * 64 + l] = 0.5 * Float(sc[2 * c]) * Float(b & 0x0F) - 0.25 * Float(mn[2 * c])
                expected[c * 64 + 32 + l] = 0.5 * Float(sc[2 * c + 1]) * Float(b >> 4) - 0.25 * Float(mn[2 * c + 1])
            }
        }
        #expect(dequant(.q4_K, block, count: 256) == expected)
    }

    @Test func q6_KHandBuiltBlock() {
        let ql: [UInt8] = (0..<128).map { (i: Int) -> UInt8 in UInt8((i * 13 + 5) & 0xFF) }
        let qh: [UInt8] = (0..<64).map { (i: Int) -> UInt8 in UInt8((i * 29 + 3) & 0xFF) }
        let scales: [Int8] = (0..<16).map { (i: Int) -> Int8 in Int8(i * 9 - 70) }
        let block: [UInt8] = cat(ql, qh, scales.map { UInt8(bitPattern: $0) }, le16(H.quarter))
        #expect(block.count == GGMLType.q6_K.blockBytes)
        var expected = [Float](repeating: 0, count: 256)
        for v in 0..<256 {
            let h = v / 128, w = v % 128, g = w / 32, l = w % 32
            let byte = ql[64 * h + l + (g % 2 == 1 ? 32 : 0)]
            let nibble = g < 2 ? byte & 0x0F : byte >> 4
            let high = (qh[32 * h + l] >> UInt8(2 * g)) & 3
            let q = Int(nibble | high << 4) - 32
            expected[v] = 0.25 * Float(scales[v / 16]) * Float(q)
        }
        #expect(dequant(.q6_K, block, count: 256) == expected)
    }

    @Test func matchesGGUFPyBitForBit() throws {
        let data = try Data(contentsOf: try fixtureURL("gguf_blocks.json"))
        let doc = try #require(try JSONSerialization.jsonObject(with: data) as? [String: [String: Any]])
        let types: [String: GGMLType] = ["F32": .f32, "F16": .f16, "BF16": .bf16, "Q4_0": .q4_0, "Q4_1": .q4_1, "Q5_0": .q5_0,
                                         "Q5_1": .q5_1, "Q8_0": .q8_0, "Q4_K": .q4_K, "Q5_K": .q5_K, "Q6_K": .q6_K]
        #expect(Set(doc.keys) == Set(types.keys))
        for (name, type) in types {
            let entry = try #require(doc[name])
            let bytes = hexBytes(try #require(entry["hex"] as? String))
            let count = try #require(entry["count"] as? Int)
            let bits = try #require(entry["bits"] as? [NSNumber]).map { $0.uint32Value }
            #expect(bytes.count == type.byteCount(forValues: count), "\(name)")
            let got = dequant(type, bytes, count: count)
            #expect(got.map(\.bitPattern) == bits, "\(name)")
        }
    }
}

@Suite struct GGUFFileTests {
    /// A small file with metadata of every type and tensors of several formats.
    func sampleWriter(alignment: Int = 32) throws -> GGUFWriter {
        var w = GGUFWriter(alignment: alignment)
        w.set("general.architecture", .string("llama"))
        w.set("u8", .uint8(200)); w.set("i8", .int8(-100)); w.set("u16", .uint16(60000)); w.set("i16", .int16(-30000))
        w.set("u32", .uint32(4_000_000_000)); w.set("i32", .int32(-2_000_000_000)); w.set("f32", .float32(1.5))
        w.set("bool", .bool(true)); w.set("str", .string("héllo 東京 🙂")); w.set("u64", .uint64(1 << 40))
        w.set("i64", .int64(-(1 << 40))); w.set("f64", .float64(-2.25))
        w.set("strings", .array(elementType: .string, values: [.string("a"), .string(""), .string("Ġb")]))
        w.set("ints", .array(elementType: .int32, values: [.int32(1), .int32(-2), .int32(3)]))
        w.set("empty", .array(elementType: .float32, values: []))
        w.set("nested", .array(elementType: .array, values: [.array(elementType: .uint8, values: [.uint8(1), .uint8(2)])]))
        try w.addTensor("weights", dims: [3, 2], floats: [1, 2, 3, 4, 5, 6])
        let qs: [UInt8] = (0..<16).map { (i: Int) -> UInt8 in UInt8(i) | UInt8(15 - i) << 4 }
        let row0: [UInt8] = cat(le16(H.half), le16(H.minusOne), qs)
        let row1: [UInt8] = cat(le16(H.two), le16(0), qs)
        try w.addTensor("q41", type: .q4_1, dims: [32, 2], bytes: row0 + row1)
        try w.addTensor("half", type: .f16, dims: [2], bytes: le16(H.half) + le16(H.minusOne))
        return w
    }

    @Test func writtenFileReadsBack() throws {
        for alignment in [32, 64, 1] {
            let dir = try ScratchDirectory()
            defer { dir.cleanup() }
            let path = dir.file("sample.gguf").path
            try sampleWriter(alignment: alignment).write(to: path)
            let f = try GGUFFile(path: path)
            #expect(f.version == 3)
            #expect(f.alignment == alignment)
            #expect(f.dataOffset % alignment == 0)
            #expect(f["u8"] == .uint8(200) && f["i8"] == .int8(-100) && f["u16"] == .uint16(60000) && f["i16"] == .int16(-30000))
            #expect(f["u32"] == .uint32(4_000_000_000) && f["i32"] == .int32(-2_000_000_000) && f["f32"] == .float32(1.5))
            #expect(f["bool"]?.bool == true && f["str"]?.string == "héllo 東京 🙂" && f["u64"]?.int == 1 << 40)
            #expect(f["i64"]?.int == -(1 << 40) && f["f64"]?.double == -2.25)
            #expect(f["strings"]?.strings == ["a", "", "Ġb"] && f["ints"]?.ints == [1, -2, 3] && f["empty"]?.floats == [])
            #expect(f["nested"]?.array?.first?.ints == [1, 2])
            #expect(Array(f.metadataKeys.prefix(2)) == ["general.architecture", "u8"])
            #expect(try f.string("general.architecture") == "llama")
            #expect(try f.int("u32") == 4_000_000_000)
            #expect(throws: GGUFError.self) { try f.int("str") }
            let w = try #require(f.info("weights"))
            #expect(w.dims == [3, 2] && w.shape == [2, 3] && w.type == .f32)
            #expect(try f.tensor("weights").scalars == [1, 2, 3, 4, 5, 6])
            #expect(try f.tensor("weights").shape == [2, 3])
            let q = try f.floats("q41")
            #expect(Array(q[0..<3]) == [-1, -0.5, 0] && q[32] == 0 && q[33] == 2)
            #expect(try f.floats("half") == [0.5, -1])
            #expect(throws: GGUFError.tensorNotFound(path: path, name: "nope")) { try f.floats("nope") }
        }
    }

    func expectError(_ bytes: [UInt8], contains fragment: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        let url = dir.file("bad.gguf")
        try writeBytes(bytes, to: url)
        let text = errorText { _ = try GGUFFile(path: url.path) }
        #expect(text.contains(fragment), "\(text)", sourceLocation: sourceLocation)
        #expect(text.contains(url.path), "error should name the file: \(text)", sourceLocation: sourceLocation)
    }

    @Test func rejectsBadHeaders() throws {
        let good = try sampleWriter().serialized()
        try expectError(cat(Array("GGML".utf8), Array(good.dropFirst(4))), contains: "not a GGUF file")
        var v1 = good
        v1[4] = 1
        try expectError(v1, contains: "unsupported GGUF version 1")
        var big = good
        big[4] = 0; big[7] = 3
        try expectError(big, contains: "big-endian")
        try expectError([], contains: "truncated")
    }

    @Test func everyTruncationIsAClearError() throws {
        let good = try sampleWriter().serialized()
        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        let url = dir.file("cut.gguf")
        try writeBytes(good, to: url)
        // Padding after the last tensor's data is not required; every earlier cut must fail.
        let f = try GGUFFile(path: url.path)
        let end = f.dataOffset + f.tensors.map { $0.offset + $0.byteCount }.max()!
        var cuts = Array(stride(from: 0, to: end, by: 7))
        cuts.append(end - 1)
        for cut in cuts {
            try writeBytes(Array(good.prefix(cut)), to: url)
            let text = errorText { _ = try GGUFFile(path: url.path) }
            #expect(text.contains("truncated"), "cut at \(cut): \(text)")
        }
    }

    /// The file with one byte sequence replaced at the first occurrence of `find`.
    func patched(_ bytes: [UInt8], find: [UInt8], replace: [UInt8]) throws -> [UInt8] {
        for i in 0...(bytes.count - find.count) where Array(bytes[i..<(i + find.count)]) == find {
            var out = bytes
            out.replaceSubrange(i..<(i + find.count), with: replace)
            return out
        }
        throw FixtureMissing(name: "pattern")
    }

    @Test func rejectsInconsistentContents() throws {
        let good = try sampleWriter().serialized()
        // The bool value byte (after "bool" key and type 7).
        let boolKey = cat(gstr("bool"), le32(7))
        try expectError(try patched(good, find: cat(boolKey, [1]), replace: cat(boolKey, [2])), contains: "bool byte is 2")
        // An unknown value type.
        let u8Key = gstr("u8")
        try expectError(try patched(good, find: cat(u8Key, le32(0)), replace: cat(u8Key, le32(99))), contains: "invalid value type 99")
        // A duplicated key: rename "i8" to "u8".
        try expectError(try patched(good, find: gstr("i8"), replace: u8Key), contains: "appears twice")
        // Tensor infos: "half" is [2] F16 at some offset.
        let halfInfo = cat(gstr("half"), le32(1), le32(2), le32(0))
        try expectError(try patched(good, find: cat(halfInfo, le32(1)), replace: cat(halfInfo, le32(77))), contains: "unknown ggml type 77")
        try expectError(try patched(good, find: cat(halfInfo, le32(1)), replace: cat(halfInfo, le32(2))), contains: "not a multiple of the Q4_0 block size")
        let q41Info = gstr("q41")
        try expectError(try patched(good, find: cat(q41Info, le32(2)), replace: cat(q41Info, le32(5))), contains: "at most 4")
        // Point "half" at the q41 data (offset 32): overlap; at offset 3: misaligned; far away: out of bounds.
        let halfType = cat(halfInfo, le32(1))
        let idx = try #require((0...(good.count - halfType.count)).first { Array(good[$0..<($0 + halfType.count)]) == halfType })
        var overlap = good
        overlap.replaceSubrange((idx + halfType.count)..<(idx + halfType.count + 8), with: cat(le32(32), le32(0)))
        try expectError(overlap, contains: "overlap")
        var misaligned = good
        misaligned.replaceSubrange((idx + halfType.count)..<(idx + halfType.count + 8), with: cat(le32(3), le32(0)))
        try expectError(misaligned, contains: "not a multiple of the alignment 32")
        var beyond = good
        beyond.replaceSubrange((idx + halfType.count)..<(idx + halfType.count + 8), with: cat(le32(1 << 20), le32(0)))
        try expectError(beyond, contains: "run past the end")
        // A bad alignment value.
        var w = try sampleWriter()
        w.set("general.alignment", .uint32(48))
        try expectError(try w.serialized(), contains: "48 is not a power of two")
    }

    /// Rewrites the data offset of tensor `name` (dims given to find its info record).
    func withOffset(_ bytes: [UInt8], tensor name: String, dims: [UInt32], offset: UInt32) throws -> [UInt8] {
        var info = cat(gstr(name), le32(UInt32(dims.count)))
        for d in dims { info += cat(le32(d), le32(0)) }
        info += le32(0)  // F32
        let i = try #require((0...(bytes.count - info.count)).first { Array(bytes[$0..<($0 + info.count)]) == info })
        var out = bytes
        out.replaceSubrange((i + info.count)..<(i + info.count + 8), with: cat(le32(offset), le32(0)))
        return out
    }

    @Test func arrayLengthBeyondIntMaxIsAnErrorNotATrap() throws {
        // synclr-fuzz finding 3 (Docs/reliability.md): a uint32 array claiming 2^61 elements needs
        // 2^63 bytes, which fits UInt64 but not Int; converting it for the error message trapped.
        var w = GGUFWriter(alignment: 32)
        w.set("arr", .array(elementType: .uint32, values: [.uint32(7)]))
        try w.addTensor("t", dims: [2], floats: [1, 2])
        let good = try w.serialized()
        let header = cat(gstr("arr"), le32(9), le32(4))
        let huge: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0x20]  // 2^61, little endian
        try expectError(try patched(good, find: cat(header, [1, 0, 0, 0, 0, 0, 0, 0]), replace: cat(header, huge)),
                        contains: "2305843009213693952-element uint32 array of metadata \"arr\"")
    }

    @Test func emptyTensorWithHugeOtherDimensionsIsRefused() throws {
        // Zero elements, but strides over the other dimensions would overflow (as IDX's finding 2).
        var w = GGUFWriter(alignment: 32)
        try w.addTensor("z", dims: [0, 2], floats: [])
        let good = try w.serialized()
        let dims = cat(gstr("z"), le32(2), le32(0), le32(0), le32(2), le32(0))
        let huge = cat(gstr("z"), le32(2), le32(0), le32(0), le32(0), le32(0x4000_0000))  // [0, 2^62]
        try expectError(try patched(good, find: dims, replace: huge), contains: "element count overflows")
    }

    @Test func zeroSizeTensorDoesNotHideAnOverlap() throws {
        // "a" covers bytes 0..<64; "b" is moved to 40 (inside "a"), the empty "z" to 32, between them
        // in offset order: comparing only neighbours that both hold bytes used to miss the overlap.
        var w = GGUFWriter(alignment: 8)
        try w.addTensor("a", dims: [16], floats: [Float](repeating: 1, count: 16))
        try w.addTensor("z", dims: [0], floats: [])
        try w.addTensor("b", dims: [4], floats: [1, 2, 3, 4])
        var bytes = try w.serialized()
        bytes = try withOffset(bytes, tensor: "z", dims: [0], offset: 32)
        bytes = try withOffset(bytes, tensor: "b", dims: [4], offset: 40)
        try expectError(bytes, contains: "overlap")
        // A zero-size tensor still has to lie inside the file.
        let far = try withOffset(try w.serialized(), tensor: "z", dims: [0], offset: 1 << 20)
        try expectError(far, contains: "run past the end")
    }

    @Test func unsupportedTypesAreNamedWhenRead() throws {
        var w = GGUFWriter()
        try w.addTensor("iq", type: .iq2_xxs, dims: [256], bytes: [UInt8](repeating: 0, count: GGMLType.iq2_xxs.blockBytes))
        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        let path = dir.file("iq.gguf").path
        try w.write(to: path)
        let f = try GGUFFile(path: path)
        #expect(f.info("iq")?.type == .iq2_xxs)
        #expect(errorText { _ = try f.floats("iq") }.contains("IQ2_XXS, which this reader cannot dequantize"))
    }
}
