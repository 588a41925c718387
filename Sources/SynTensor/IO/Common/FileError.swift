#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file that could not be opened, read, written or renamed; names the file and the OS reason.
public enum FileError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file could not be opened or mapped for reading.
    case cannotOpen(path: String, reason: String)
    /// The file exists but is not a regular file (a directory, a pipe).
    case notRegularFile(path: String)
    /// Creating, writing, syncing or renaming the file failed.
    case cannotWrite(path: String, reason: String)

    /// A readable sentence naming the file.
    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): return "\(path): cannot open for reading: \(reason)"
        case let .notRegularFile(path): return "\(path): not a regular file"
        case let .cannotWrite(path, reason): return "\(path): cannot write: \(reason)"
        }
    }
}

/// The message of the current `errno`.
func errnoMessage(_ code: Int32 = errno) -> String {
    String(cString: strerror(code))
}
