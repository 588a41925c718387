import Foundation

/// Name, element type, dimensions and location of one tensor in a GGUF file.
public struct GGUFTensorInfo: Sendable, Equatable {
    /// Tensor name (`blk.0.attn_q.weight`).
    public let name: String
    /// Stored element type.
    public let type: GGMLType
    /// Dimensions in ggml order: `dims[0]` is the innermost (contiguous) one.
    public let dims: [Int]
    /// Offset of the data from the start of the data section.
    public let offset: Int
    /// Bytes of data.
    public let byteCount: Int

    /// Number of values.
    public var count: Int { dims.reduce(1, *) }
    /// Row-major shape (outermost first), the reverse of `dims`: a `[out, in]` weight has dims `[in, out]`.
    public var shape: [Int] { dims.reversed() }
}

/// A memory-mapped GGUF file (versions 2 and 3): header, metadata, tensor infos and data.
///
/// Layout (little-endian): "GGUF", UInt32 version, UInt64 tensor count, UInt64 metadata count;
/// metadata entries (string key, UInt32 type, value; strings are a UInt64 length plus bytes;
/// arrays a UInt32 element type, a UInt64 count and the elements); tensor infos (string name,
/// UInt32 dimension count, UInt64 dims innermost first, UInt32 ggml type, UInt64 offset); padding
/// to `general.alignment` (default 32); the data section. Everything is validated on open;
/// tensor data is read (and dequantized) only when asked for.
public final class GGUFFile: @unchecked Sendable {
    /// Default data alignment when `general.alignment` is absent.
    public static let defaultAlignment = 32
    /// Most dimensions a ggml tensor has.
    public static let maxDims = 4

    /// Path the file was opened from.
    public var path: String { file.path }
    /// Format version (2 or 3).
    public let version: UInt32
    /// Metadata by key.
    public let metadata: [String: GGUFValue]
    /// Metadata keys in file order.
    public let metadataKeys: [String]
    /// Tensor infos in file order.
    public let tensors: [GGUFTensorInfo]
    /// Data alignment in bytes.
    public let alignment: Int
    /// Offset of the data section in the file.
    public let dataOffset: Int
    private let index: [String: Int]
    private let file: MappedFile

    /// Opens and validates the GGUF file at `path`; throws `FileError` or `GGUFError`.
    public init(path: String) throws {
        file = try MappedFile(path: path)
        let parsed = try file.withBytes { bytes -> Parsed in
            var reader = Reader(bytes: bytes, path: path)
            return try reader.parse()
        }
        version = parsed.version
        metadata = parsed.metadata
        metadataKeys = parsed.keys
        tensors = parsed.tensors
        alignment = parsed.alignment
        dataOffset = parsed.dataOffset
        var index: [String: Int] = [:]
        for (i, t) in tensors.enumerated() { index[t.name] = i }
        self.index = index
    }

    /// The info of tensor `name`, if present.
    public func info(_ name: String) -> GGUFTensorInfo? { index[name].map { tensors[$0] } }

    /// Whether the file has a tensor `name`.
    public func contains(_ name: String) -> Bool { index[name] != nil }

    /// The info of tensor `name`, or `GGUFError.tensorNotFound`.
    public func requireInfo(_ name: String) throws -> GGUFTensorInfo {
        guard let i = index[name] else { throw GGUFError.tensorNotFound(path: path, name: name) }
        return tensors[i]
    }

    /// Calls `body` with the stored bytes of tensor `name` (no copy), keeping the mapping alive.
    public func withRawBytes<R>(of name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let info = try requireInfo(name)
        return try file.withBytes { all in
            let start = dataOffset + info.offset
            return try body(UnsafeRawBufferPointer(rebasing: all[start..<(start + info.byteCount)]))
        }
    }

    /// The stored bytes of tensor `name`; valid only while this `GGUFFile` is alive (the caller keeps it).
    public func unsafeRawBytes(of name: String) throws -> UnsafeRawBufferPointer {
        let info = try requireInfo(name)
        let all = file.bytes
        let start = dataOffset + info.offset
        return UnsafeRawBufferPointer(rebasing: all[start..<(start + info.byteCount)])
    }

    /// Tensor `name` dequantized to Float32 into `destination` (which must hold `info.count` values).
    public func dequantize(_ name: String, into destination: UnsafeMutablePointer<Float>) throws {
        let info = try requireInfo(name)
        guard info.type.isDequantizable else { throw GGUFError.unsupportedTensorType(path: path, tensor: name, type: info.type) }
        try withRawBytes(of: name) { raw in
            if info.count > 0 { GGMLDequantizer.dequantize(info.type, from: raw.baseAddress!, count: info.count, into: destination) }
        }
    }

    /// Tensor `name` dequantized to a Float32 array (ggml order: `dims[0]` fastest).
    public func floats(_ name: String) throws -> [Float] {
        let info = try requireInfo(name)
        guard info.type.isDequantizable else { throw GGUFError.unsupportedTensorType(path: path, tensor: name, type: info.type) }
        return try [Float](unsafeUninitializedCapacity: info.count) { buf, n in
            try dequantize(name, into: buf.baseAddress!)
            n = info.count
        }
    }

    /// Tensor `name` dequantized to a `Tensor` of row-major shape `info.shape`.
    public func tensor(_ name: String) throws -> Tensor {
        let info = try requireInfo(name)
        return Tensor(shape: info.shape, data: try floats(name))
    }

    // MARK: typed metadata access

    /// The metadata value `key`, if present.
    public subscript(key: String) -> GGUFValue? { metadata[key] }

    /// Integer metadata `key`, or `GGUFError.missingKey`.
    public func int(_ key: String) throws -> Int {
        guard let v = metadata[key]?.int else { throw GGUFError.missingKey(path: path, key: key, expected: "integer") }
        return v
    }

    /// Numeric metadata `key`, or `GGUFError.missingKey`.
    public func float(_ key: String) throws -> Float {
        guard let v = metadata[key]?.float else { throw GGUFError.missingKey(path: path, key: key, expected: "number") }
        return v
    }

    /// String metadata `key`, or `GGUFError.missingKey`.
    public func string(_ key: String) throws -> String {
        guard let v = metadata[key]?.string else { throw GGUFError.missingKey(path: path, key: key, expected: "string") }
        return v
    }

    /// String-array metadata `key`, or `GGUFError.missingKey`.
    public func strings(_ key: String) throws -> [String] {
        guard let v = metadata[key]?.strings else { throw GGUFError.missingKey(path: path, key: key, expected: "array of strings") }
        return v
    }

    // MARK: parsing

    struct Parsed {
        var version: UInt32
        var metadata: [String: GGUFValue]
        var keys: [String]
        var tensors: [GGUFTensorInfo]
        var alignment: Int
        var dataOffset: Int
    }

    /// A bounds-checked little-endian cursor over the mapped bytes.
    struct Reader {
        let bytes: UnsafeRawBufferPointer
        let path: String
        var offset = 0

        init(bytes: UnsafeRawBufferPointer, path: String) {
            self.bytes = bytes
            self.path = path
        }

        var remaining: Int { bytes.count - offset }

        func need(_ n: Int, _ what: @autoclosure () -> String) throws {
            if n < 0 || n > remaining {
                throw GGUFError.truncated(path: path, what: what(), offset: offset, needed: n, fileSize: bytes.count)
            }
        }

        mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws -> T {
            try need(MemoryLayout<T>.size, what())
            let v = T(littleEndian: bytes.baseAddress!.loadUnaligned(fromByteOffset: offset, as: T.self))
            offset += MemoryLayout<T>.size
            return v
        }

        mutating func readString(_ what: @autoclosure () -> String) throws -> String {
            let n = try read(UInt64.self, what() + " length")
            guard n <= UInt64(remaining) else {
                throw GGUFError.truncated(path: path, what: what(), offset: offset, needed: Int(clamping: n), fileSize: bytes.count)
            }
            let count = Int(n)
            let s = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)]), as: UTF8.self)
            offset += count
            return s
        }

        mutating func readValue(_ type: GGUFValueType, key: String, depth: Int = 0) throws -> GGUFValue {
            let what = "value of metadata \"\(key)\""
            switch type {
            case .uint8: return .uint8(try read(UInt8.self, what))
            case .int8: return .int8(try read(Int8.self, what))
            case .uint16: return .uint16(try read(UInt16.self, what))
            case .int16: return .int16(try read(Int16.self, what))
            case .uint32: return .uint32(try read(UInt32.self, what))
            case .int32: return .int32(try read(Int32.self, what))
            case .uint64: return .uint64(try read(UInt64.self, what))
            case .int64: return .int64(try read(Int64.self, what))
            case .float32: return .float32(Float(bitPattern: try read(UInt32.self, what)))
            case .float64: return .float64(Double(bitPattern: try read(UInt64.self, what)))
            case .bool:
                let b = try read(UInt8.self, what)
                if b > 1 { throw GGUFError.invalidMetadata(path: path, key: key, reason: "bool byte is \(b), not 0 or 1") }
                return .bool(b == 1)
            case .string: return .string(try readString(what))
            case .array:
                if depth > 8 { throw GGUFError.invalidMetadata(path: path, key: key, reason: "arrays nested more than 8 deep") }
                let rawType = try read(UInt32.self, "array type of metadata \"\(key)\"")
                guard let elementType = GGUFValueType(rawValue: rawType) else {
                    throw GGUFError.invalidValueType(path: path, key: key, raw: rawType)
                }
                let n = try read(UInt64.self, "array length of metadata \"\(key)\"")
                // Every element takes at least 1 byte (8 for strings and arrays): reject absurd counts early.
                let minSize = UInt64(elementType.fixedSize ?? 8)
                let (total, overflow) = n.multipliedReportingOverflow(by: minSize)
                if overflow || total > UInt64(remaining) {
                    throw GGUFError.truncated(path: path, what: "\(n)-element \(elementType) array of metadata \"\(key)\"",
                                              offset: offset, needed: overflow ? Int.max : Int(clamping: total), fileSize: bytes.count)
                }
                var values: [GGUFValue] = []
                values.reserveCapacity(Int(n))
                for _ in 0..<Int(n) { values.append(try readValue(elementType, key: key, depth: depth + 1)) }
                return .array(elementType: elementType, values: values)
            }
        }

        mutating func parse() throws -> Parsed {
            try need(4, "magic")
            let magic = Array(bytes[0..<4])
            if magic != [0x47, 0x47, 0x55, 0x46] { throw GGUFError.notGGUF(path: path, magic: magic) }
            offset = 4
            let version = try read(UInt32.self, "version")
            if version != 2 && version != 3 { throw GGUFError.unsupportedVersion(path: path, version: version) }
            let tensorCount = try read(UInt64.self, "tensor count")
            let kvCount = try read(UInt64.self, "metadata count")
            // Each entry needs well over 8 bytes; counts beyond the file size are corruption.
            if kvCount > UInt64(remaining) / 8 {
                throw GGUFError.truncated(path: path, what: "\(kvCount) metadata entries", offset: offset,
                                          needed: Int(clamping: kvCount.multipliedReportingOverflow(by: 8).partialValue), fileSize: bytes.count)
            }
            var metadata: [String: GGUFValue] = [:]
            var keys: [String] = []
            for i in 0..<Int(kvCount) {
                let key = try readString("key of metadata entry \(i)")
                let rawType = try read(UInt32.self, "type of metadata \"\(key)\"")
                guard let type = GGUFValueType(rawValue: rawType) else {
                    throw GGUFError.invalidValueType(path: path, key: key, raw: rawType)
                }
                let value = try readValue(type, key: key)
                if metadata[key] != nil { throw GGUFError.duplicateKey(path: path, key: key) }
                metadata[key] = value
                keys.append(key)
            }
            var alignment = GGUFFile.defaultAlignment
            if let a = metadata["general.alignment"] {
                guard case let .uint32(v) = a else {
                    throw GGUFError.invalidMetadata(path: path, key: "general.alignment", reason: "must be uint32, is \(a.type)")
                }
                if v == 0 || v & (v - 1) != 0 {
                    throw GGUFError.invalidMetadata(path: path, key: "general.alignment", reason: "\(v) is not a power of two")
                }
                alignment = Int(v)
            }
            if tensorCount > UInt64(remaining) / 24 {
                throw GGUFError.truncated(path: path, what: "\(tensorCount) tensor infos", offset: offset,
                                          needed: Int(clamping: tensorCount.multipliedReportingOverflow(by: 24).partialValue), fileSize: bytes.count)
            }
            var raw: [(name: String, type: GGMLType, dims: [Int], offset: UInt64)] = []
            var seen = Set<String>()
            for i in 0..<Int(tensorCount) {
                let name = try readString("name of tensor info \(i)")
                let nDims = try read(UInt32.self, "dimension count of tensor \"\(name)\"")
                if nDims > UInt32(GGUFFile.maxDims) {
                    throw GGUFError.invalidShape(path: path, tensor: name, shape: [], reason: "\(nDims) dimensions (ggml allows at most \(GGUFFile.maxDims))")
                }
                var dims64: [Int64] = []
                for d in 0..<Int(nDims) { dims64.append(try read(Int64.self, "dimension \(d) of tensor \"\(name)\"")) }
                let rawType = try read(UInt32.self, "type of tensor \"\(name)\"")
                let dataOffset = try read(UInt64.self, "data offset of tensor \"\(name)\"")
                guard let type = GGMLType(rawValue: rawType) else {
                    throw GGUFError.unknownTensorType(path: path, tensor: name, raw: rawType)
                }
                if !seen.insert(name).inserted { throw GGUFError.duplicateTensor(path: path, tensor: name) }
                // The non-zero dimensions are bounded too: a zero dimension makes the element count 0,
                // but strides are products of the other dimensions (as in IDX, fuzzing finding 2).
                var count: Int64 = 1, nonZero: Int64 = 1
                for d in dims64 {
                    if d < 0 { throw GGUFError.invalidShape(path: path, tensor: name, shape: dims64, reason: "negative dimension") }
                    let (c, o) = count.multipliedReportingOverflow(by: d)
                    let (z, oz) = nonZero.multipliedReportingOverflow(by: Swift.max(d, 1))
                    if o || oz || c > Int64(Int32.max) * 1024 || z > Int64(Int32.max) * 1024 {
                        throw GGUFError.invalidShape(path: path, tensor: name, shape: dims64, reason: "element count overflows")
                    }
                    count = c
                    nonZero = z
                }
                let inner = dims64.first ?? 1
                if inner % Int64(type.blockSize) != 0 {
                    throw GGUFError.invalidShape(path: path, tensor: name, shape: dims64,
                                                 reason: "innermost dimension is not a multiple of the \(type) block size \(type.blockSize)")
                }
                if dataOffset % UInt64(alignment) != 0 {
                    throw GGUFError.misalignedTensor(path: path, tensor: name, offset: dataOffset, alignment: alignment)
                }
                raw.append((name, type, dims64.map { Int($0) }, dataOffset))
            }
            let dataStart = (offset + alignment - 1) / alignment * alignment
            var tensors: [GGUFTensorInfo] = []
            for t in raw {
                let bytesNeeded = t.type.byteCount(forValues: t.dims.reduce(1, *))
                let begin = UInt64(dataStart).addingReportingOverflow(t.offset)
                if begin.overflow || begin.partialValue > UInt64(bytes.count) || bytesNeeded > bytes.count - Int(begin.partialValue) {
                    let b = Int(clamping: begin.partialValue)
                    throw GGUFError.tensorOutOfBounds(path: path, tensor: t.name, begin: b, end: b &+ bytesNeeded, fileSize: bytes.count)
                }
                tensors.append(GGUFTensorInfo(name: t.name, type: t.type, dims: t.dims, offset: Int(t.offset), byteCount: bytesNeeded))
            }
            // Zero-size tensors hold no bytes and cannot overlap; they are dropped before comparing
            // neighbours, so one sorted between two overlapping tensors does not hide their overlap.
            let byOffset = tensors.filter { $0.byteCount > 0 }.sorted { $0.offset < $1.offset }
            for (a, b) in zip(byOffset, byOffset.dropFirst()) where a.offset + a.byteCount > b.offset {
                throw GGUFError.overlappingTensors(path: path, first: a.name, second: b.name)
            }
            return Parsed(version: version, metadata: metadata, keys: keys, tensors: tensors, alignment: alignment, dataOffset: dataStart)
        }
    }
}
