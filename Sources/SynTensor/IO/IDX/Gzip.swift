import CSynImage
import Foundation

/// Compressed data that could not be inflated; names the source file.
public enum GzipError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The data is truncated, corrupt or not gzip/zlib at all.
    case corrupt(path: String, reason: String)

    /// A readable sentence naming the file.
    public var description: String {
        switch self {
        case let .corrupt(path, reason): return "\(path): cannot decompress gzip data: \(reason)"
        }
    }
}

/// gzip / zlib decompression through zlib (csyn_gunzip).
public enum Gzip {
    /// Whether `bytes` begin with the gzip magic number 1f 8b.
    public static func hasMagic(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B
    }

    /// Default cap on decompressed output: 1 GiB (Fashion-MNIST's largest file inflates to 47 MB;
    /// a few kilobytes of gzip can claim gigabytes).
    public static let defaultMaxOutputBytes = 1 << 30

    /// Inflates gzip (also concatenated members) or zlib data; `path` names the source in errors;
    /// output beyond `maxOutputBytes` is an error (never allocated).
    public static func decompress(_ bytes: UnsafeRawBufferPointer, path: String = "<memory>",
                                  maxOutputBytes: Int = defaultMaxOutputBytes) throws -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        var outSize = 0
        var message = [CChar](repeating: 0, count: 256)
        let rc = csyn_gunzip(bytes.baseAddress, bytes.count, max(maxOutputBytes, 0), &out, &outSize, &message, message.count)
        defer { csyn_free(out) }
        if rc != 0 {
            let reason = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw GzipError.corrupt(path: path, reason: reason)
        }
        return Array(UnsafeBufferPointer(start: out, count: outSize))
    }

    /// Inflates a byte array of gzip or zlib data (at most `maxOutputBytes`).
    public static func decompress(_ bytes: [UInt8], path: String = "<memory>", maxOutputBytes: Int = defaultMaxOutputBytes) throws -> [UInt8] {
        try bytes.withUnsafeBytes { try decompress($0, path: path, maxOutputBytes: maxOutputBytes) }
    }

    /// Reads and inflates the gzip file at `url` (at most `maxOutputBytes`).
    public static func decompress(contentsOf url: URL, maxOutputBytes: Int = defaultMaxOutputBytes) throws -> [UInt8] {
        let file = try MappedFile(path: url.path)
        return try file.withBytes { try decompress($0, path: url.path, maxOutputBytes: maxOutputBytes) }
    }
}
