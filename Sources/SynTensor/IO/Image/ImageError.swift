/// Why an image could not be read or written; every case names the file.
public enum ImageError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file has no bytes.
    case empty(path: String)
    /// The first bytes are neither a PNG nor a JPEG signature.
    case unrecognizedFormat(path: String, magic: [UInt8])
    /// The decoder rejected the data (corrupt or truncated file); `reason` is libpng's or libjpeg's message.
    case corrupt(path: String, format: ImageFormat, reason: String)
    /// The image cannot be stored as asked (e.g. alpha in a JPEG, a format not given or inferable).
    case unsupported(path: String, reason: String)
    /// The encoder failed while writing.
    case encodingFailed(path: String, format: ImageFormat, reason: String)

    /// A readable sentence naming the file.
    public var description: String {
        switch self {
        case let .empty(path):
            return "\(path): empty file, not an image"
        case let .unrecognizedFormat(path, magic):
            let hex = magic.map { String($0, radix: 16).leftPadded(to: 2) }.joined(separator: " ")
            return "\(path): not a PNG or JPEG file (first bytes: \(hex))"
        case let .corrupt(path, format, reason):
            return "\(path): corrupt or truncated \(format.name) image: \(reason)"
        case let .unsupported(path, reason):
            return "\(path): \(reason)"
        case let .encodingFailed(path, format, reason):
            return "\(path): cannot write \(format.name) image: \(reason)"
        }
    }
}

extension String {
    /// `self` preceded by zeros up to `width` characters.
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
