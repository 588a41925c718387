/// Failures reading the files between stages; every case names the file (and line).
public enum RecordError: Error, CustomStringConvertible, Sendable {
    /// The file does not exist.
    case missingFile(path: String, what: String)
    /// The file exists but cannot be read.
    case unreadable(path: String, reason: String)
    /// One line cannot be used.
    case malformedLine(path: String, line: Int, reason: String)
    /// A field-level problem found while decoding one line (the reader adds file and line).
    case field(String)

    /// A message naming the file and the problem.
    public var description: String {
        switch self {
        case let .missingFile(path, what): return "\(path): no such file (\(what))."
        case let .unreadable(path, reason): return "\(path): cannot read: \(reason)"
        case let .malformedLine(path, line, reason): return "\(path):\(line): \(reason)"
        case let .field(reason): return reason
        }
    }
}
