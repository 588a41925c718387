/// Builds a GGUF v3 file: metadata of any value type and tensors given as raw (possibly
/// quantized) bytes or Float32 values. Used for tests and small exported models.
public struct GGUFWriter: Sendable {
    /// One tensor to write.
    struct Entry: Sendable {
        var name: String
        var type: GGMLType
        var dims: [Int]
        var data: [UInt8]
    }

    /// Data alignment; a value other than 32 is recorded as `general.alignment`.
    public var alignment: Int
    private var keys: [String] = []
    private var values: [String: GGUFValue] = [:]
    private var entries: [Entry] = []

    /// An empty file with the given data alignment (a power of two).
    public init(alignment: Int = GGUFFile.defaultAlignment) {
        self.alignment = alignment
    }

    /// Sets metadata `key` (a key set twice keeps its first position and the last value).
    public mutating func set(_ key: String, _ value: GGUFValue) {
        if values[key] == nil { keys.append(key) }
        values[key] = value
    }

    /// Adds a tensor of `type` with ggml-order `dims` (innermost first) from its stored bytes.
    public mutating func addTensor(_ name: String, type: GGMLType, dims: [Int], bytes: [UInt8]) throws {
        let count = dims.reduce(1, *)
        if dims.count > GGUFFile.maxDims || dims.contains(where: { $0 < 0 }) {
            throw GGUFError.invalidEntry(path: "<memory>", reason: "tensor \"\(name)\" has invalid dims \(dims)")
        }
        if (dims.first ?? 1) % type.blockSize != 0 {
            throw GGUFError.invalidEntry(path: "<memory>", reason: "tensor \"\(name)\": innermost dim is not a multiple of \(type.blockSize)")
        }
        if bytes.count != type.byteCount(forValues: count) {
            throw GGUFError.invalidEntry(path: "<memory>", reason: "tensor \"\(name)\" needs \(type.byteCount(forValues: count)) bytes, got \(bytes.count)")
        }
        if entries.contains(where: { $0.name == name }) {
            throw GGUFError.invalidEntry(path: "<memory>", reason: "tensor \"\(name)\" added twice")
        }
        entries.append(Entry(name: name, type: type, dims: dims, data: bytes))
    }

    /// Adds a Float32 tensor with ggml-order `dims`.
    public mutating func addTensor(_ name: String, dims: [Int], floats: [Float]) throws {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(floats.count * 4)
        for f in floats { withUnsafeBytes(of: f.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        try addTensor(name, type: .f32, dims: dims, bytes: bytes)
    }

    /// The whole file as bytes.
    public func serialized() throws -> [UInt8] {
        if alignment <= 0 || alignment & (alignment - 1) != 0 {
            throw GGUFError.invalidEntry(path: "<memory>", reason: "alignment \(alignment) is not a power of two")
        }
        var keys = self.keys, values = self.values
        if alignment != GGUFFile.defaultAlignment && values["general.alignment"] == nil {
            keys.append("general.alignment")
            values["general.alignment"] = .uint32(UInt32(alignment))
        }
        var out: [UInt8] = Array("GGUF".utf8)
        Self.append(UInt32(3), to: &out)
        Self.append(UInt64(entries.count), to: &out)
        Self.append(UInt64(keys.count), to: &out)
        for key in keys {
            Self.appendString(key, to: &out)
            let v = values[key]!
            Self.append(v.type.rawValue, to: &out)
            try Self.appendValue(v, to: &out)
        }
        var offsets: [Int] = []
        var running = 0
        for e in entries {
            offsets.append(running)
            running += (e.data.count + alignment - 1) / alignment * alignment
        }
        for (e, off) in zip(entries, offsets) {
            Self.appendString(e.name, to: &out)
            Self.append(UInt32(e.dims.count), to: &out)
            for d in e.dims { Self.append(UInt64(d), to: &out) }
            Self.append(e.type.rawValue, to: &out)
            Self.append(UInt64(off), to: &out)
        }
        while out.count % alignment != 0 { out.append(0) }
        for e in entries {
            out.append(contentsOf: e.data)
            while out.count % alignment != 0 { out.append(0) }
        }
        return out
    }

    /// Writes the file to `path` atomically.
    public func write(to path: String) throws {
        let bytes = try serialized()
        try writeAtomically(to: path) { temporary in
            let sink = try FileSink(path: temporary, displayPath: path)
            try bytes.withUnsafeBytes { try sink.write($0) }
            try sink.close()
        }
    }

    static func append<T: FixedWidthInteger>(_ v: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
    }

    static func appendString(_ s: String, to out: inout [UInt8]) {
        append(UInt64(s.utf8.count), to: &out)
        out.append(contentsOf: s.utf8)
    }

    static func appendValue(_ v: GGUFValue, to out: inout [UInt8]) throws {
        switch v {
        case let .uint8(x): append(x, to: &out)
        case let .int8(x): append(x, to: &out)
        case let .uint16(x): append(x, to: &out)
        case let .int16(x): append(x, to: &out)
        case let .uint32(x): append(x, to: &out)
        case let .int32(x): append(x, to: &out)
        case let .uint64(x): append(x, to: &out)
        case let .int64(x): append(x, to: &out)
        case let .float32(x): append(x.bitPattern, to: &out)
        case let .float64(x): append(x.bitPattern, to: &out)
        case let .bool(b): out.append(b ? 1 : 0)
        case let .string(s): appendString(s, to: &out)
        case let .array(t, items):
            append(t.rawValue, to: &out)
            append(UInt64(items.count), to: &out)
            for item in items {
                if item.type != t {
                    throw GGUFError.invalidEntry(path: "<memory>", reason: "array of \(t) holds a \(item.type)")
                }
                try appendValue(item, to: &out)
            }
        }
    }
}
