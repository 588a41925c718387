// The few protobuf wire-format pieces TensorBoard's `Event` / `Summary` messages need. Fields are
// written in field-number order and proto3 scalars equal to their default are omitted, as the
// reference (Python) protobuf serializer does, so our records are byte-identical to its records.

/// Appends protobuf fields to a byte buffer.
struct ProtobufWriter {
    private(set) var bytes: [UInt8] = []

    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    private mutating func key(_ field: Int, _ wireType: UInt64) { varint(UInt64(field) << 3 | wireType) }

    /// A `double` field (wire type 1), omitted when zero unless `always`.
    mutating func double(_ field: Int, _ value: Double, always: Bool = false) {
        guard always || value != 0 else { return }
        key(field, 1)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// A `float` field (wire type 5), omitted when zero unless `always` (oneof members always count).
    mutating func float(_ field: Int, _ value: Float, always: Bool = false) {
        guard always || value != 0 else { return }
        key(field, 5)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// An `int32`/`int64`/enum field (wire type 0), omitted when zero.
    mutating func int(_ field: Int, _ value: Int64) {
        guard value != 0 else { return }
        key(field, 0)
        varint(UInt64(bitPattern: value))
    }

    /// A `bytes`/`string` field, omitted when empty unless `always`.
    mutating func bytes(_ field: Int, _ value: [UInt8], always: Bool = false) {
        guard always || !value.isEmpty else { return }
        key(field, 2)
        varint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    /// A `string` field.
    mutating func string(_ field: Int, _ value: String, always: Bool = false) {
        bytes(field, Array(value.utf8), always: always)
    }

    /// An embedded message (always written: a set message field has presence).
    mutating func message(_ field: Int, _ build: (inout ProtobufWriter) -> Void) {
        var inner = ProtobufWriter()
        build(&inner)
        bytes(field, inner.bytes, always: true)
    }
}

/// One decoded protobuf field: its number and raw payload.
struct ProtobufField {
    enum Payload {
        case varint(UInt64)
        case fixed64(UInt64)
        case fixed32(UInt32)
        case bytes(ArraySlice<UInt8>)
    }
    let number: Int
    let payload: Payload

    var varint: UInt64? { if case .varint(let v) = payload { return v } else { return nil } }
    var bytes: ArraySlice<UInt8>? { if case .bytes(let b) = payload { return b } else { return nil } }
    var double: Double? { if case .fixed64(let v) = payload { return Double(bitPattern: v) } else { return nil } }
    var float: Float? { if case .fixed32(let v) = payload { return Float(bitPattern: v) } else { return nil } }
    var string: String? { bytes.map { String(decoding: $0, as: UTF8.self) } }
}

/// Malformed protobuf bytes.
struct ProtobufError: Error, CustomStringConvertible {
    let description: String
}

/// Splits a message into its fields (unknown wire types and overruns are errors, never traps).
func protobufFields(_ data: ArraySlice<UInt8>) throws -> [ProtobufField] {
    var fields: [ProtobufField] = []
    var i = data.startIndex
    func readVarint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard i < data.endIndex else { throw ProtobufError(description: "varint runs past the end") }
            guard shift < 64 else { throw ProtobufError(description: "varint longer than 10 bytes") }
            let b = data[i]
            i += 1
            result |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return result }
            shift += 7
        }
    }
    func readFixed(_ n: Int) throws -> UInt64 {
        guard data.endIndex - i >= n else { throw ProtobufError(description: "fixed field runs past the end") }
        var v: UInt64 = 0
        for k in 0..<n { v |= UInt64(data[i + k]) << (8 * UInt64(k)) }
        i += n
        return v
    }
    while i < data.endIndex {
        let key = try readVarint()
        let number = Int(truncatingIfNeeded: key >> 3)
        switch key & 7 {
        case 0: fields.append(ProtobufField(number: number, payload: .varint(try readVarint())))
        case 1: fields.append(ProtobufField(number: number, payload: .fixed64(try readFixed(8))))
        case 5: fields.append(ProtobufField(number: number, payload: .fixed32(UInt32(try readFixed(4)))))
        case 2:
            let length = try readVarint()
            guard length <= UInt64(data.endIndex - i) else { throw ProtobufError(description: "length-delimited field runs past the end") }
            let end = i + Int(length)
            fields.append(ProtobufField(number: number, payload: .bytes(data[i..<end])))
            i = end
        default:
            throw ProtobufError(description: "unsupported wire type \(key & 7)")
        }
    }
    return fields
}
