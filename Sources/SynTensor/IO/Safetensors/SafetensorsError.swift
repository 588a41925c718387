/// Why a safetensors file could not be read or written; every case names the file.
public enum SafetensorsError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file is shorter than the 8-byte header length.
    case truncated(path: String, fileSize: Int)
    /// The header length exceeds the reference limit of 100 MB.
    case headerTooLarge(path: String, headerLength: UInt64)
    /// The header length points past the end of the file.
    case headerBeyondFile(path: String, headerLength: UInt64, fileSize: Int)
    /// The header is not UTF-8, not JSON, or not shaped like a safetensors header.
    case invalidHeader(path: String, reason: String)
    /// A tensor's `dtype` is not a safetensors dtype.
    case unknownDType(path: String, tensor: String, dtype: String)
    /// A tensor's byte range does not hold `shape` elements of `dtype`.
    case sizeMismatch(path: String, tensor: String, dtype: String, shape: [Int], expectedBytes: Int, actualBytes: Int)
    /// A tensor's byte range ends past the data section.
    case offsetsOutOfRange(path: String, tensor: String, begin: Int, end: Int, dataSize: Int)
    /// Two tensors share bytes.
    case overlapping(path: String, first: String, second: String)
    /// Bytes of the data section that no tensor indexes (the format forbids holes).
    case unindexedBytes(path: String, begin: Int, end: Int)
    /// No tensor of this name in the file.
    case tensorNotFound(path: String, name: String)
    /// The dtype is valid but cannot be converted (reading) or produced (writing).
    case unsupportedDType(path: String, tensor: String, dtype: String)
    /// A tensor name or metadata entry that cannot be written.
    case invalidEntry(path: String, reason: String)

    /// A readable sentence naming the file and the problem.
    public var description: String {
        switch self {
        case let .truncated(path, size):
            return "\(path): truncated safetensors file (\(size) bytes; the 8-byte header length is missing)"
        case let .headerTooLarge(path, n):
            return "\(path): safetensors header length \(n) exceeds the 100000000-byte limit"
        case let .headerBeyondFile(path, n, size):
            return "\(path): safetensors header length \(n) runs past the end of the \(size)-byte file (truncated or not a safetensors file)"
        case let .invalidHeader(path, reason):
            return "\(path): invalid safetensors header: \(reason)"
        case let .unknownDType(path, tensor, dtype):
            return "\(path): tensor \"\(tensor)\" has unknown dtype \"\(dtype)\""
        case let .sizeMismatch(path, tensor, dtype, shape, expected, actual):
            return "\(path): tensor \"\(tensor)\" (\(dtype) \(shape)) needs \(expected) bytes but its data_offsets span \(actual)"
        case let .offsetsOutOfRange(path, tensor, begin, end, dataSize):
            return "\(path): tensor \"\(tensor)\" data_offsets [\(begin), \(end)] exceed the \(dataSize)-byte data section (truncated file?)"
        case let .overlapping(path, first, second):
            return "\(path): tensors \"\(first)\" and \"\(second)\" overlap"
        case let .unindexedBytes(path, begin, end):
            return "\(path): data bytes [\(begin), \(end)) belong to no tensor"
        case let .tensorNotFound(path, name):
            return "\(path): no tensor named \"\(name)\""
        case let .unsupportedDType(path, tensor, dtype):
            return "\(path): tensor \"\(tensor)\": dtype \(dtype) is not supported here"
        case let .invalidEntry(path, reason):
            return "\(path): cannot write: \(reason)"
        }
    }
}
