/// Why a GGUF file could not be read or written; every case names the file and what is wrong.
public enum GGUFError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The first four bytes are not "GGUF".
    case notGGUF(path: String, magic: [UInt8])
    /// The version is not 2 or 3 (or the file is big-endian).
    case unsupportedVersion(path: String, version: UInt32)
    /// The file ends inside `what` (at byte `offset`, `needed` more bytes were expected).
    case truncated(path: String, what: String, offset: Int, needed: Int, fileSize: Int)
    /// A metadata value or array element has a type tag outside the GGUF set.
    case invalidValueType(path: String, key: String, raw: UInt32)
    /// A metadata value is malformed (bad bool, absurd array length, wrong type for a known key).
    case invalidMetadata(path: String, key: String, reason: String)
    /// The same metadata key appears twice.
    case duplicateKey(path: String, key: String)
    /// A tensor's type tag is not a ggml type this reader knows.
    case unknownTensorType(path: String, tensor: String, raw: UInt32)
    /// A tensor's dimensions are invalid (too many, negative, overflowing, not whole blocks).
    case invalidShape(path: String, tensor: String, shape: [Int64], reason: String)
    /// The same tensor name appears twice.
    case duplicateTensor(path: String, tensor: String)
    /// A tensor's data offset is not a multiple of the file's alignment.
    case misalignedTensor(path: String, tensor: String, offset: UInt64, alignment: Int)
    /// A tensor's bytes run past the end of the file.
    case tensorOutOfBounds(path: String, tensor: String, begin: Int, end: Int, fileSize: Int)
    /// Two tensors share bytes.
    case overlappingTensors(path: String, first: String, second: String)
    /// No tensor of this name.
    case tensorNotFound(path: String, name: String)
    /// The tensor's type cannot be converted to Float32 by this reader.
    case unsupportedTensorType(path: String, tensor: String, type: GGMLType)
    /// A required metadata key is absent or has the wrong type.
    case missingKey(path: String, key: String, expected: String)
    /// A writer input that cannot be encoded.
    case invalidEntry(path: String, reason: String)

    /// A readable sentence naming the file and the problem.
    public var description: String {
        switch self {
        case let .notGGUF(path, magic):
            let shown = magic.map { String($0, radix: 16) }.joined(separator: " ")
            return "\(path): not a GGUF file (magic bytes \(shown), expected 47 47 55 46 \"GGUF\")"
        case let .unsupportedVersion(path, version):
            if version > 0xFFFF && version.byteSwapped <= 3 {
                return "\(path): big-endian GGUF (version \(version.byteSwapped)) is not supported"
            }
            return "\(path): unsupported GGUF version \(version) (this reader handles versions 2 and 3)"
        case let .truncated(path, what, offset, needed, size):
            return "\(path): truncated GGUF file: \(what) needs \(needed) bytes at offset \(offset) but the file has \(size) bytes"
        case let .invalidValueType(path, key, raw):
            return "\(path): metadata \"\(key)\" has invalid value type \(raw)"
        case let .invalidMetadata(path, key, reason):
            return "\(path): metadata \"\(key)\": \(reason)"
        case let .duplicateKey(path, key):
            return "\(path): metadata key \"\(key)\" appears twice"
        case let .unknownTensorType(path, tensor, raw):
            return "\(path): tensor \"\(tensor)\" has unknown ggml type \(raw)"
        case let .invalidShape(path, tensor, shape, reason):
            return "\(path): tensor \"\(tensor)\" has invalid shape \(shape): \(reason)"
        case let .duplicateTensor(path, tensor):
            return "\(path): tensor \"\(tensor)\" appears twice"
        case let .misalignedTensor(path, tensor, offset, alignment):
            return "\(path): tensor \"\(tensor)\" data offset \(offset) is not a multiple of the alignment \(alignment)"
        case let .tensorOutOfBounds(path, tensor, begin, end, size):
            return "\(path): tensor \"\(tensor)\" bytes [\(begin), \(end)) run past the end of the \(size)-byte file (truncated file?)"
        case let .overlappingTensors(path, first, second):
            return "\(path): tensors \"\(first)\" and \"\(second)\" overlap"
        case let .tensorNotFound(path, name):
            return "\(path): no tensor named \"\(name)\""
        case let .unsupportedTensorType(path, tensor, type):
            return "\(path): tensor \"\(tensor)\" has type \(type), which this reader cannot dequantize"
        case let .missingKey(path, key, expected):
            return "\(path): metadata \"\(key)\" (\(expected)) is missing or has another type"
        case let .invalidEntry(path, reason):
            return "\(path): cannot write GGUF: \(reason)"
        }
    }
}
