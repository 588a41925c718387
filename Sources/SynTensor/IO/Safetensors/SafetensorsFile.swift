import Foundation

/// Name, dtype, shape and byte range of one tensor stored in a safetensors file.
public struct SafetensorsTensorInfo: Sendable, Equatable {
    /// Key of the tensor in the header.
    public let name: String
    /// Stored element type.
    public let dtype: SafetensorsDType
    /// Dimensions, row-major.
    public let shape: [Int]
    /// Byte range inside the data section (`data_offsets`).
    public let dataOffsets: Range<Int>
    /// Number of elements (1 for a 0-d tensor).
    public var count: Int { shape.reduce(1, *) }
}

/// A memory-mapped safetensors file: the header is parsed and validated on open, tensors are
/// converted to Float32 only when asked for (lazily, one at a time).
///
/// Format: an 8-byte little-endian header length N, N bytes of JSON header
/// `{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}`,
/// then the data section, which the tensors must cover exactly (no holes, no overlaps).
public final class SafetensorsFile: @unchecked Sendable {
    /// Largest header the reference implementation accepts.
    static let maxHeaderLength: UInt64 = 100_000_000

    /// Path the file was opened from.
    public var path: String { file.path }
    /// The `__metadata__` string map, or nil when the header has none.
    public let metadata: [String: String]?
    /// Every tensor, in data-offset order.
    public let tensors: [SafetensorsTensorInfo]
    private let index: [String: Int]
    private let file: MappedFile
    private let dataStart: Int

    /// Opens and validates the file at `url`.
    public convenience init(url: URL) throws {
        try self.init(path: url.path)
    }

    /// Opens and validates the file at `path`; throws `FileError` or `SafetensorsError`.
    public init(path: String) throws {
        file = try MappedFile(path: path)
        let parsed = try file.withBytes { try Self.parseHeader($0, path: path) }
        metadata = parsed.metadata
        tensors = parsed.tensors
        dataStart = parsed.dataStart
        var index: [String: Int] = [:]
        for (i, t) in tensors.enumerated() { index[t.name] = i }
        self.index = index
    }

    /// Tensor names in data-offset order.
    public var names: [String] { tensors.map(\.name) }

    /// The header entry of `name`, if present.
    public func info(_ name: String) -> SafetensorsTensorInfo? {
        index[name].map { tensors[$0] }
    }

    /// Whether a tensor of this name exists.
    public func contains(_ name: String) -> Bool { index[name] != nil }

    private func requireInfo(_ name: String) throws -> SafetensorsTensorInfo {
        guard let info = info(name) else { throw SafetensorsError.tensorNotFound(path: path, name: name) }
        return info
    }

    /// Calls `body` with the stored little-endian bytes of `name` (no copy, no conversion).
    public func withRawBytes<R>(of name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let info = try requireInfo(name)
        return try file.withBytes { all in
            let start = dataStart + info.dataOffsets.lowerBound
            return try body(UnsafeRawBufferPointer(rebasing: all[start..<(start + info.dataOffsets.count)]))
        }
    }

    /// The tensor `name` converted to Float32 (any float, integer or boolean dtype).
    public func tensor(_ name: String) throws -> Tensor {
        let info = try requireInfo(name)
        guard info.dtype.isConvertibleToFloat else {
            throw SafetensorsError.unsupportedDType(path: path, tensor: name, dtype: info.dtype.rawValue)
        }
        let out = Tensor(uninitializedShape: info.shape)
        let n = info.count
        if n > 0 {
            let destination = out.basePointer
            try withRawBytes(of: name) { raw in
                _ = convertToFloat(info.dtype, raw.baseAddress!, count: n, into: destination)
            }
        }
        return out
    }

    /// Every tensor converted to Float32, by name.
    public func loadAll() throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for t in tensors { out[t.name] = try tensor(t.name) }
        return out
    }

    /// The integer (or boolean) tensor `name` exactly, as `Int64` (e.g. class labels stored as I64).
    public func integers(_ name: String) throws -> [Int64] {
        let info = try requireInfo(name)
        guard info.dtype.isInteger else {
            throw SafetensorsError.unsupportedDType(path: path, tensor: name, dtype: info.dtype.rawValue)
        }
        if info.count == 0 { return [] }
        return try withRawBytes(of: name) { readIntegers(info.dtype, $0.baseAddress!, count: info.count)! }
    }

    // MARK: - Header parsing and validation

    private struct ParsedHeader {
        var metadata: [String: String]?
        var tensors: [SafetensorsTensorInfo]
        var dataStart: Int
    }

    private static func parseHeader(_ bytes: UnsafeRawBufferPointer, path: String) throws -> ParsedHeader {
        func invalid(_ reason: String) -> SafetensorsError { .invalidHeader(path: path, reason: reason) }
        guard bytes.count >= 8 else { throw SafetensorsError.truncated(path: path, fileSize: bytes.count) }
        let headerLength = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
        if headerLength > maxHeaderLength {
            if headerLength > UInt64(bytes.count - 8) {
                throw SafetensorsError.headerBeyondFile(path: path, headerLength: headerLength, fileSize: bytes.count)
            }
            throw SafetensorsError.headerTooLarge(path: path, headerLength: headerLength)
        }
        let n = Int(headerLength)
        guard n <= bytes.count - 8 else {
            throw SafetensorsError.headerBeyondFile(path: path, headerLength: headerLength, fileSize: bytes.count)
        }
        let header = UnsafeRawBufferPointer(rebasing: bytes[8..<(8 + n)])
        guard n > 0, header[0] == UInt8(ascii: "{") else { throw invalid("does not begin with '{'") }
        guard String(decoding: header, as: UTF8.self).utf8.elementsEqual(header) else {
            throw invalid("not valid UTF-8")
        }
        let root: JSONValue
        do {
            root = try JSONParser.parse(header)
        } catch {
            throw invalid("JSON syntax error at header byte \(error.offset): \(error.message)")
        }
        guard case let .object(members) = root else { throw invalid("the top level is not an object") }

        var metadata: [String: String]?
        var infos: [SafetensorsTensorInfo] = []
        infos.reserveCapacity(members.count)
        for member in members {
            if member.key == "__metadata__" {
                metadata = try parseMetadata(member.value, invalid: invalid)
                continue
            }
            infos.append(try parseEntry(member, path: path, invalid: invalid))
        }
        let dataStart = 8 + n
        try validateLayout(&infos, dataSize: bytes.count - dataStart, path: path)
        return ParsedHeader(metadata: metadata, tensors: infos, dataStart: dataStart)
    }

    private static func parseMetadata(_ value: JSONValue, invalid: (String) -> SafetensorsError) throws -> [String: String] {
        guard case let .object(entries) = value else { throw invalid("__metadata__ is a \(value.kindName), not an object") }
        var out: [String: String] = [:]
        for e in entries {
            guard case let .string(s) = e.value else {
                throw invalid("__metadata__ value of \"\(e.key)\" is a \(e.value.kindName), not a string")
            }
            out[e.key] = s
        }
        return out
    }

    private static func parseEntry(_ member: JSONMember, path: String,
                                   invalid: (String) -> SafetensorsError) throws -> SafetensorsTensorInfo {
        let name = member.key
        guard case let .object(fields) = member.value else {
            throw invalid("entry \"\(name)\" is a \(member.value.kindName), not an object")
        }
        func field(_ key: String) throws -> JSONValue {
            guard let f = fields.first(where: { $0.key == key }) else { throw invalid("tensor \"\(name)\" has no \"\(key)\"") }
            return f.value
        }
        guard case let .string(dtypeName) = try field("dtype") else {
            throw invalid("tensor \"\(name)\": dtype is not a string")
        }
        guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
            throw SafetensorsError.unknownDType(path: path, tensor: name, dtype: dtypeName)
        }
        guard case let .array(dims) = try field("shape") else { throw invalid("tensor \"\(name)\": shape is not an array") }
        var shape: [Int] = []
        for d in dims {
            guard let v = d.nonNegativeInt else {
                throw invalid("tensor \"\(name)\": shape entries must be non-negative integers")
            }
            shape.append(v)
        }
        guard case let .array(offsets) = try field("data_offsets"), offsets.count == 2,
              let begin = offsets[0].nonNegativeInt, let end = offsets[1].nonNegativeInt else {
            throw invalid("tensor \"\(name)\": data_offsets must be [begin, end] of non-negative integers")
        }
        guard begin <= end else { throw invalid("tensor \"\(name)\": data_offsets [\(begin), \(end)] end before they begin") }

        var elements = 1
        for d in shape {
            let (p, overflow) = elements.multipliedReportingOverflow(by: d)
            if overflow { throw invalid("tensor \"\(name)\": shape \(shape) overflows") }
            elements = p
        }
        let (bits, overflow) = elements.multipliedReportingOverflow(by: dtype.bitSize)
        if overflow { throw invalid("tensor \"\(name)\": shape \(shape) overflows") }
        guard bits % 8 == 0, bits / 8 == end - begin else {
            throw SafetensorsError.sizeMismatch(path: path, tensor: name, dtype: dtypeName, shape: shape,
                                                expectedBytes: (bits + 7) / 8, actualBytes: end - begin)
        }
        return SafetensorsTensorInfo(name: name, dtype: dtype, shape: shape, dataOffsets: begin..<end)
    }

    /// Sorts by offset and checks that the tensors tile the data section exactly.
    private static func validateLayout(_ infos: inout [SafetensorsTensorInfo], dataSize: Int, path: String) throws {
        infos.sort { ($0.dataOffsets.lowerBound, $0.dataOffsets.upperBound) < ($1.dataOffsets.lowerBound, $1.dataOffsets.upperBound) }
        var covered = 0
        var last: String?
        for t in infos {
            let r = t.dataOffsets
            if r.upperBound > dataSize {
                throw SafetensorsError.offsetsOutOfRange(path: path, tensor: t.name, begin: r.lowerBound,
                                                         end: r.upperBound, dataSize: dataSize)
            }
            if r.isEmpty { continue }
            if r.lowerBound < covered {
                throw SafetensorsError.overlapping(path: path, first: last ?? "", second: t.name)
            }
            if r.lowerBound > covered {
                throw SafetensorsError.unindexedBytes(path: path, begin: covered, end: r.lowerBound)
            }
            covered = r.upperBound
            last = t.name
        }
        if covered != dataSize {
            throw SafetensorsError.unindexedBytes(path: path, begin: covered, end: dataSize)
        }
    }
}
