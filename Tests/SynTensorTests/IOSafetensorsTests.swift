import Foundation
import Testing
@testable import SynTensor

@Suite struct IOSafetensorsTests {
    @Test func fixturesAreReachableThroughBundleModule() throws {
        let url = try fixtureURL("safetensors_dtypes.safetensors")
        #expect(FileManager.default.fileExists(atPath: url.path))
    }

    @Test func readsEveryDTypeWrittenByPython() throws {
        let file = try SafetensorsFile(url: try fixtureURL("safetensors_dtypes.safetensors"))
        #expect(file.metadata == ["format": "pt", "producer": "Scripts/fixtures/fixtures_safetensors.py", "note": "été \"quoted\"\n"])
        let dtypes: [String: SafetensorsDType] = [
            "F32": .f32, "F16": .f16, "BF16": .bf16, "F64": .f64, "F8_E4M3": .f8E4M3, "F8_E5M2": .f8E5M2,
            "I64": .i64, "I32": .i32, "I16": .i16, "I8": .i8, "U8": .u8, "BOOL": .bool, "SCALAR": .f32, "EMPTY": .f32,
        ]
        for (name, dtype) in dtypes {
            let info = try #require(file.info(name))
            #expect(info.dtype == dtype, "\(name)")
            let expected = try file.tensor(name + "_expected")
            let got = try file.tensor(name)
            #expect(got.shape == expected.shape, "\(name)")
            #expect(bitwiseEqual(got.scalars, expected.scalars), "\(name): \(got.scalars) vs \(expected.scalars)")
        }
        #expect(file.info("F64")?.shape == [2, 4, 8])
        #expect(file.info("SCALAR")?.shape == [])
        #expect(try file.integers("I64") == [0, -1, 9, 1 << 40, 7, -(1 << 40), 123_456_789, 3])
        #expect(try file.integers("BOOL") == [1, 0, 1])
        #expect(file.names.count == 28)
        #expect(throws: SafetensorsError.self) { try file.integers("F32") }
    }

    @Test func writerReproducesPythonBytes() throws {
        let source = try SafetensorsFile(url: try fixtureURL("safetensors_identity_source.safetensors")).loadAll()
        let dtypes: [String: SafetensorsDType] = [
            "z_half": .f16, "norm.weight": .f16, "a_bf16": .bf16, "head.bias": .bf16, "m_double": .f64,
        ]
        let expected = try readBytes(try fixtureURL("safetensors_identity.safetensors"))
        let bytes = try Safetensors.serialize(source, metadata: ["format": "pt"], dtypes: dtypes)
        #expect(firstDifference(bytes, expected) == nil)

        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        let out = dir.file("model.safetensors")
        try Safetensors.save(source, to: out, metadata: ["format": "pt"], dtypes: dtypes)
        #expect(firstDifference(try readBytes(out), expected) == nil)
        #expect(try dir.contents() == ["model.safetensors"])  // no temporary file left behind
    }

    @Test func writerReproducesPythonBytesForOddNamesAndEmptyFiles() throws {
        let odd = try SafetensorsFile(url: try fixtureURL("safetensors_identity_nometa.safetensors"))
        #expect(odd.metadata == nil)
        #expect(odd.contains("tab\tnew\nline\u{1}") && odd.contains("日本") && odd.contains("wéird/name \"quoted\"\\"))
        #expect(firstDifference(try Safetensors.serialize(try odd.loadAll()), try readBytes(try fixtureURL("safetensors_identity_nometa.safetensors"))) == nil)
        #expect(firstDifference(try Safetensors.serialize([:]), try readBytes(try fixtureURL("safetensors_identity_empty.safetensors"))) == nil)
    }

    @Test func roundTripsHalfPrecisionAndMetadata() throws {
        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        let values: [Float] = [0, -0.0, 1, -2.5, 65504, 1e-3, .infinity, -.infinity, 0.1]
        let t = Tensor(shape: [3, 3], data: values)
        let meta = ["z": "last", "a": "first", "m": "é\u{7}"]
        for dtype in [SafetensorsDType.f32, .f64, .f16, .bf16] {
            let url = dir.file("t-\(dtype.rawValue).safetensors")
            try Safetensors.save(["x": t, "y": t.transposed(0, 1)], to: url, metadata: meta, dtype: dtype)
            let file = try SafetensorsFile(url: url)
            #expect(file.metadata == meta)
            #expect(file.info("x")?.dtype == dtype)
            let x = try file.tensor("x").scalars
            let yT = try file.tensor("y").scalars
            let transposedExpected = t.transposed(0, 1).scalars
            switch dtype {
            case .f32, .f64:
                #expect(bitwiseEqual(x, values))
                #expect(bitwiseEqual(yT, transposedExpected))
            case .f16:
                #expect(zip(x, values).allSatisfy { $0 == $1 || abs($0 - $1) <= abs($1) * 1e-3 })
            default:
                #expect(zip(x, values).allSatisfy { $0 == $1 || abs($0 - $1) <= abs($1) * 8e-3 })
            }
        }
        // Metadata keys are written sorted (Python's order is random for more than one key).
        let bytes = try Safetensors.serialize(["x": t], metadata: meta)
        let header = String(decoding: bytes[8..<(8 + Int(bytes[0]))], as: UTF8.self)
        #expect(header.hasPrefix("{\"__metadata__\":{\"a\":\"first\",\"m\":\"é\\u0007\",\"z\":\"last\"},\"x\":"))
    }

    @Test func halfConversionsMatchReferenceBitPatterns() {
        #expect(floatToHalfBits(1) == 0x3C00)
        #expect(floatToHalfBits(65504) == 0x7BFF)
        #expect(floatToHalfBits(65520) == 0x7C00)           // rounds up to infinity
        #expect(floatToHalfBits(1 + 0x1p-11) == 0x3C00)     // tie to even
        #expect(floatToHalfBits(1 + 3 * 0x1p-11) == 0x3C02) // tie to even (up)
        #expect(floatToHalfBits(0x1p-24) == 0x0001)         // smallest subnormal
        #expect(floatToHalfBits(-0.0) == 0x8000)
        #expect(floatToHalfBits(.nan) == 0x7E00)
        #expect(halfBitsToFloat(0x0001) == 0x1p-24)
        #expect(halfBitsToFloat(0xFC00) == -.infinity)
        #expect(halfBitsToFloat(0x7E00).isNaN)
        #expect(floatToBFloat16Bits(1 + 0x1p-8) == 0x3F80)
        #expect(floatToBFloat16Bits(1 + 3 * 0x1p-8) == 0x3F82)
        #expect(floatToBFloat16Bits(-.nan) == 0xFFFF)
        #expect(floatToBFloat16Bits(.nan) == 0xFFFF)
        #expect(bfloat16BitsToFloat(0x3F80) == 1)
        // Every half bit pattern survives half -> float -> half.
        for h in UInt16.min...UInt16.max {
            let f = halfBitsToFloat(h)
            if f.isNaN { continue }
            #expect(floatToHalfBits(f) == h)
        }
    }

    // MARK: - Validation

    /// A valid file with tensors a (F32 [2]) and b (F16 [3]) and metadata, for corruption tests.
    private func sampleBytes() throws -> [UInt8] {
        try Safetensors.serialize(["a": Tensor([1, 2]), "b": Tensor([3, 4, 5])], metadata: ["k": "v"], dtypes: ["b": .f16])
    }

    /// Bytes of a file whose header is `json` (padded to 8) followed by `data`.
    private func handMade(_ json: String, data: [UInt8]) -> [UInt8] {
        var h = Array(json.utf8)
        while h.count % 8 != 0 { h.append(0x20) }
        var n = UInt64(h.count).littleEndian
        return withUnsafeBytes(of: &n) { Array($0) } + h + data
    }

    private func openError(_ bytes: [UInt8], _ dir: ScratchDirectory, _ name: String) throws -> String {
        let url = dir.file(name)
        try writeBytes(bytes, to: url)
        return errorText { _ = try SafetensorsFile(url: url) }
    }

    @Test func rejectsTruncatedAndMalformedFiles() throws {
        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        let good = try sampleBytes()
        let path = dir.file("x").path

        var e = try openError([], dir, "empty.safetensors")
        #expect(e.contains("empty.safetensors") && e.contains("truncated"), "\(e)")
        e = try openError(Array(good[0..<5]), dir, "short.safetensors")
        #expect(e.contains("short.safetensors") && e.contains("truncated"), "\(e)")
        e = try openError(Array(good[0..<20]), dir, "cut-header.safetensors")
        #expect(e.contains("cut-header.safetensors") && e.contains("past the end"), "\(e)")
        e = try openError(Array(good.dropLast(3)), dir, "cut-data.safetensors")
        #expect(e.contains("cut-data.safetensors") && e.contains("exceed the") && e.contains("\"b\""), "\(e)")
        e = try openError(good + [0, 0], dir, "trailing.safetensors")
        #expect(e.contains("trailing.safetensors") && e.contains("belong to no tensor"), "\(e)")
        e = try openError(Array("PK\u{3}\u{4} this is a zip file, not safetensors".utf8), dir, "zip.safetensors")
        #expect(e.contains("zip.safetensors") && e.contains("header length"), "\(e)")

        var huge = good
        huge.replaceSubrange(0..<8, with: [0, 0, 0, 0, 0, 0, 0, 0x10])
        e = try openError(huge, dir, "huge.safetensors")
        #expect(e.contains("huge.safetensors") && e.contains("past the end"), "\(e)")

        e = try openError(handMade("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]", data: [0, 0, 0, 0]), dir, "badjson.safetensors")
        #expect(e.contains("badjson.safetensors") && e.contains("JSON syntax error"), "\(e)")
        e = try openError(handMade("[1,2]", data: []), dir, "array.safetensors")
        #expect(e.contains("does not begin with '{'"), "\(e)")
        e = try openError(handMade("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", data: Array(repeating: 0, count: 8)), dir, "dup.safetensors")
        #expect(e.contains("duplicate key \"a\""), "\(e)")
        e = try openError(handMade("{\"a\":{\"dtype\":\"F24\",\"shape\":[1],\"data_offsets\":[0,3]}}", data: [0, 0, 0]), dir, "dtype.safetensors")
        #expect(e.contains("dtype.safetensors") && e.contains("unknown dtype \"F24\""), "\(e)")
        e = try openError(handMade("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", data: Array(repeating: 0, count: 8)), dir, "size.safetensors")
        #expect(e.contains("size.safetensors") && e.contains("needs 12 bytes") && e.contains("span 8"), "\(e)")
        e = try openError(handMade("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", data: Array(repeating: 0, count: 8)), dir, "overlap.safetensors")
        #expect(e.contains("overlap.safetensors") && e.contains("\"a\" and \"b\" overlap"), "\(e)")
        e = try openError(handMade("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", data: Array(repeating: 0, count: 8)), dir, "hole.safetensors")
        #expect(e.contains("[0, 4) belong to no tensor"), "\(e)")
        e = try openError(handMade("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", data: []), dir, "reversed.safetensors")
        #expect(e.contains("end before they begin"), "\(e)")
        e = try openError(handMade("{\"__metadata__\":{\"k\":1}}", data: []), dir, "meta.safetensors")
        #expect(e.contains("not a string"), "\(e)")
        e = try openError(handMade("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,0]}}", data: []), dir, "neg.safetensors")
        #expect(e.contains("non-negative"), "\(e)")
        e = try openError(handMade(String(repeating: "[", count: 10_000), data: []), dir, "deep.safetensors")
        #expect(e.contains("does not begin"), "\(e)")
        e = try openError(handMade("{\"a\":" + String(repeating: "[", count: 10_000), data: []), dir, "deep2.safetensors")
        #expect(e.contains("nesting deeper"), "\(e)")
        var notUTF8 = handMade("{\"a\":{}}", data: [])
        notUTF8[10] = 0xFF
        e = try openError(notUTF8, dir, "utf8.safetensors")
        #expect(e.contains("not valid UTF-8"), "\(e)")

        e = errorText { _ = try SafetensorsFile(path: path + "-missing") }
        #expect(e.contains("x-missing") && e.contains("No such file"), "\(e)")
        e = errorText { _ = try SafetensorsFile(path: dir.url.path) }
        #expect(e.contains("not a regular file"), "\(e)")

        try writeBytes(good, to: dir.file("good.safetensors"))
        let file = try SafetensorsFile(url: dir.file("good.safetensors"))
        e = errorText { _ = try file.tensor("nope") }
        #expect(e.contains("good.safetensors") && e.contains("no tensor named \"nope\""), "\(e)")
        #expect(try file.tensor("b").scalars == [3, 4, 5])
    }

    @Test func writerRejectsBadRequestsAndLeavesNoPartialFile() throws {
        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        let url = dir.file("w.safetensors")
        #expect(throws: SafetensorsError.self) { try Safetensors.save(["__metadata__": Tensor([1])], to: url) }
        #expect(throws: SafetensorsError.self) { try Safetensors.save(["a": Tensor([1])], to: url, dtype: .i32) }
        #expect(throws: SafetensorsError.self) { try Safetensors.save(["a": Tensor([1])], to: url, dtypes: ["b": .f16]) }
        #expect(throws: FileError.self) { try Safetensors.save(["a": Tensor([1])], to: dir.file("no/such/dir/w.safetensors")) }
        #expect(try dir.contents().isEmpty)
        // Overwriting keeps the file valid throughout; the new content replaces the old.
        try Safetensors.save(["a": Tensor([1])], to: url)
        try Safetensors.save(["a": Tensor([2, 3])], to: url)
        #expect(try SafetensorsFile(url: url).tensor("a").scalars == [2, 3])
        #expect(try dir.contents() == ["w.safetensors"])
    }

    @Test func largeTensorIsWrittenInChunks() throws {
        let n = Safetensors.chunkElements * 2 + 7
        var t = Tensor(shape: [n], repeating: 0)
        t.withUnsafeMutableBufferPointer { p in for i in 0..<n { p[i] = Float(i % 256) * 0.5 } }  // exact in BF16
        let bytes = try Safetensors.serialize(["t": t], dtype: .bf16)
        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        try writeBytes(bytes, to: dir.file("big.safetensors"))
        let back = try SafetensorsFile(url: dir.file("big.safetensors")).tensor("t").scalars
        #expect(back.count == n)
        let same = back == t.scalars  // compared outside #expect: a failure must not dump 130k values
        #expect(same)
    }
}

@Suite struct IOModuleSafetensorsTests {
    @Test func moduleRoundTripsThroughSafetensorsWithPrefixAndStrictness() throws {
        let dir = try ScratchDirectory()
        defer { dir.cleanup() }
        var gen = RandomGenerator(seed: 1)
        let a = Sequential([Linear(3, 4, generator: &gen), LayerNorm(4)])
        let b = Sequential([Linear(3, 4, generator: &gen), LayerNorm(4)])
        #expect(a.stateDict()["0.weight"]!.scalars != b.stateDict()["0.weight"]!.scalars)
        let url = dir.file("model.safetensors")
        try a.saveSafetensors(to: url)
        let file = try SafetensorsFile(url: url)
        #expect(file.metadata == ["format": "pt"])
        #expect(file.names.sorted() == ["0.bias", "0.weight", "1.bias", "1.weight"])
        let report = try b.loadSafetensors(url)
        #expect(report.isClean)
        #expect(b.stateDict()["0.weight"]!.scalars == a.stateDict()["0.weight"]!.scalars)

        // A checkpoint whose keys sit under a prefix, plus keys of another model.
        var prefixed: [String: Tensor] = [:]
        for (k, v) in a.stateDict() { prefixed["module.visual." + k] = v }
        prefixed["module.text.proj"] = Tensor([1, 2])
        try Safetensors.save(prefixed, to: dir.file("ckpt.safetensors"))
        let c = Sequential([Linear(3, 4, generator: &gen), LayerNorm(4)])
        #expect(try c.loadSafetensors(dir.file("ckpt.safetensors"), prefix: "module.visual.").isClean)
        #expect(c.stateDict()["1.weight"]!.scalars == a.stateDict()["1.weight"]!.scalars)
        let e = errorText { try c.loadSafetensors(dir.file("ckpt.safetensors")) }
        #expect(e.contains("ckpt.safetensors") && e.contains("missing keys") && e.contains("unexpected keys"), "\(e)")
        let wide = Sequential([Linear(3, 5, generator: &gen)])
        let loose = try wide.loadSafetensors(url, strict: false)
        #expect(loose.mismatched.map(\.name).sorted() == ["0.bias", "0.weight"] && loose.unexpected == ["1.bias", "1.weight"])
    }
}
