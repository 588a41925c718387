import Foundation

/// Why an IDX file (the MNIST format) could not be read; names the file.
public enum IDXError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The first two bytes are not zero (not an IDX file, or a gzip file that failed to inflate).
    case badMagic(path: String, bytes: [UInt8])
    /// The third byte is not a known element type code.
    case unknownDataType(path: String, code: UInt8)
    /// Fewer bytes than the header and dimensions need, or data shorter than the dimensions say.
    case truncated(path: String, expectedBytes: Int, actualBytes: Int)
    /// More bytes than the dimensions say.
    case trailingBytes(path: String, expectedBytes: Int, actualBytes: Int)
    /// The file holds something else than the caller asked for (e.g. labels instead of images).
    case unexpectedContent(path: String, expected: String, found: String)

    /// A readable sentence naming the file.
    public var description: String {
        switch self {
        case let .badMagic(path, bytes):
            let hex = bytes.map { String(format: "%02x", $0) }.joined(separator: " ")
            return "\(path): not an IDX file (magic bytes \(hex); expected 00 00 <type> <rank>)"
        case let .unknownDataType(path, code):
            return "\(path): unknown IDX element type 0x\(String(code, radix: 16))"
        case let .truncated(path, expected, actual):
            return "\(path): truncated IDX data (\(actual) bytes, \(expected) expected)"
        case let .trailingBytes(path, expected, actual):
            return "\(path): IDX data has \(actual - expected) bytes beyond the \(expected) its dimensions describe"
        case let .unexpectedContent(path, expected, found):
            return "\(path): expected \(expected), found \(found)"
        }
    }
}

/// Element type of an IDX file (third magic byte).
public enum IDXDataType: UInt8, Sendable {
    case uint8 = 0x08
    case int8 = 0x09
    case int16 = 0x0B
    case int32 = 0x0C
    case float32 = 0x0D
    case float64 = 0x0E

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .uint8, .int8: return 1
        case .int16: return 2
        case .int32, .float32: return 4
        case .float64: return 8
        }
    }
}

/// A decoded IDX file: element type, dimensions and the raw big-endian payload.
public struct IDXArray: Sendable {
    /// Path the array was read from (for messages).
    public let path: String
    /// Element type.
    public let dataType: IDXDataType
    /// Dimensions, outermost first.
    public let shape: [Int]
    /// The whole (decompressed) file; elements start at `payloadOffset`.
    let storage: [UInt8]
    /// Offset of the first element in `storage`.
    let payloadOffset: Int

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }

    /// Calls `body` with the big-endian element bytes.
    public func withPayload<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try storage.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[payloadOffset...])) }
    }

    /// The elements as a Float32 tensor of `shape`, each divided by `divisor` (255 turns
    /// uint8 pixels into [0, 1] exactly as PyTorch's `x.float() / 255`).
    public func tensor(divisor: Float = 1) -> Tensor {
        tensor(divisor: divisor, shape: shape)
    }

    /// The elements divided by `divisor`, laid out as `shape` (same element count).
    func tensor(divisor: Float, shape outShape: [Int]) -> Tensor {
        precondition(outShape.reduce(1, *) == count, "IDX shape \(shape) cannot be viewed as \(outShape)")
        let out = Tensor(uninitializedShape: outShape)
        let n = count
        let dst = out.basePointer
        withPayload { src in
            guard n > 0, let base = src.baseAddress else { return }
            switch dataType {
            case .uint8:
                // 256-entry table of Float(v) / divisor: exact, and one load per pixel.
                let table: [Float] = (0..<256).map { Float($0) / divisor }
                table.withUnsafeBufferPointer { t in
                    let bytes = base.assumingMemoryBound(to: UInt8.self)
                    for i in 0..<n { dst[i] = t[Int(bytes[i])] }
                }
            case .int8:
                for i in 0..<n { dst[i] = Float(Int8(bitPattern: src[i])) / divisor }
            case .int16:
                for i in 0..<n { dst[i] = Float(Int16(bigEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self))) / divisor }
            case .int32:
                for i in 0..<n { dst[i] = Float(Int32(bigEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))) / divisor }
            case .float32:
                for i in 0..<n {
                    dst[i] = Float(bitPattern: UInt32(bigEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) / divisor
                }
            case .float64:
                for i in 0..<n {
                    let v = Double(bitPattern: UInt64(bigEndian: base.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))
                    dst[i] = Float(v) / divisor
                }
            }
        }
        return out
    }

    /// The elements as integers (integer element types only; nil for float32/float64).
    public func integers() -> [Int]? {
        let n = count
        return withPayload { src -> [Int]? in
            guard let base = src.baseAddress else { return [] }
            switch dataType {
            case .uint8: return (0..<n).map { Int(src[$0]) }
            case .int8: return (0..<n).map { Int(Int8(bitPattern: src[$0])) }
            case .int16: return (0..<n).map { Int(Int16(bigEndian: base.loadUnaligned(fromByteOffset: 2 * $0, as: Int16.self))) }
            case .int32: return (0..<n).map { Int(Int32(bigEndian: base.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self))) }
            case .float32, .float64: return nil
            }
        }
    }
}

/// Reader of IDX files (MNIST, Fashion-MNIST), plain or gzip-compressed (detected by magic).
///
/// Layout: bytes 0-1 zero, byte 2 element type, byte 3 rank r, then r big-endian UInt32
/// dimensions, then the elements in row-major order, big-endian.
public enum IDX {
    /// Reads the IDX file at `url`, inflating it first when it is gzip-compressed.
    public static func read(_ url: URL) throws -> IDXArray {
        let path = url.path
        let file = try MappedFile(path: path)
        let bytes: [UInt8] = try file.withBytes { raw in
            Gzip.hasMagic(raw) ? try Gzip.decompress(raw, path: path) : Array(raw)
        }
        return try parse(bytes, path: path)
    }

    /// Parses IDX bytes (already decompressed); `path` names the source in errors.
    public static func parse(_ bytes: [UInt8], path: String = "<memory>") throws -> IDXArray {
        guard bytes.count >= 4 else { throw IDXError.truncated(path: path, expectedBytes: 4, actualBytes: bytes.count) }
        guard bytes[0] == 0, bytes[1] == 0 else { throw IDXError.badMagic(path: path, bytes: Array(bytes[0..<4])) }
        guard let type = IDXDataType(rawValue: bytes[2]) else { throw IDXError.unknownDataType(path: path, code: bytes[2]) }
        let rank = Int(bytes[3])
        let headerSize = 4 + 4 * rank
        guard bytes.count >= headerSize else {
            throw IDXError.truncated(path: path, expectedBytes: headerSize, actualBytes: bytes.count)
        }
        var shape: [Int] = []
        var total = type.size
        var overflow = false
        for d in 0..<rank {
            let o = 4 + 4 * d
            let dim = Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3])
            shape.append(dim)
            let (p, o1) = total.multipliedReportingOverflow(by: dim)
            overflow = overflow || o1
            total = p
        }
        // An empty array (a zero dimension) must still have a shape whose other dimensions multiply
        // without overflow: tensor strides are products of trailing dimensions (synclr-fuzz finding).
        var nonZero = 1
        for dim in shape where dim > 0 {
            let (p, o) = nonZero.multipliedReportingOverflow(by: dim)
            if o || p > Int(Int32.max) * 1024 {
                throw IDXError.unexpectedContent(path: path, expected: "dimensions whose product fits in memory", found: "\(shape)")
            }
            nonZero = p
        }
        let (expected, o2) = total.addingReportingOverflow(headerSize)
        if overflow || o2 {
            throw IDXError.truncated(path: path, expectedBytes: Int.max, actualBytes: bytes.count)
        }
        if bytes.count < expected { throw IDXError.truncated(path: path, expectedBytes: expected, actualBytes: bytes.count) }
        if bytes.count > expected { throw IDXError.trailingBytes(path: path, expectedBytes: expected, actualBytes: bytes.count) }
        return IDXArray(path: path, dataType: type, shape: shape, storage: bytes, payloadOffset: headerSize)
    }

    /// Reads an images file (uint8, [N, H, W]) as a tensor [N, 1, H, W] with values in [0, 1].
    public static func readImages(_ url: URL) throws -> Tensor {
        let array = try read(url)
        guard array.dataType == .uint8, array.shape.count == 3 else {
            throw IDXError.unexpectedContent(path: url.path, expected: "uint8 images [N, H, W]",
                                             found: "\(array.dataType) \(array.shape)")
        }
        let s = array.shape
        return array.tensor(divisor: 255, shape: [s[0], 1, s[1], s[2]])
    }

    /// Reads a labels file (uint8, [N]) as integers.
    public static func readLabels(_ url: URL) throws -> [Int] {
        let array = try read(url)
        guard array.dataType == .uint8, array.shape.count == 1 else {
            throw IDXError.unexpectedContent(path: url.path, expected: "uint8 labels [N]",
                                             found: "\(array.dataType) \(array.shape)")
        }
        return array.integers()!
    }
}
