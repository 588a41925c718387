/// Recoverable failures of the diffusion model, its training and generation jobs; every case
/// names the file involved.
public enum DiffusionError: Error, CustomStringConvertible, Sendable {
    /// A required file does not exist.
    case missingFile(path: String, hint: String)
    /// A JSONL line could not be used.
    case malformedLine(path: String, line: Int, reason: String)
    /// A model or checkpoint file is not what it should be.
    case badCheckpoint(path: String, reason: String)
    /// Job options conflict with what an output folder already holds, or are invalid.
    case invalidJob(path: String, reason: String)
    /// Training data cannot be used.
    case badData(path: String, reason: String)
    /// A parameter of a library call is out of range (the message names it in backticks).
    case invalidParameter(String)

    /// A message naming the file and the problem.
    public var description: String {
        switch self {
        case let .missingFile(path, hint): return "\(path): no such file. \(hint)"
        case let .malformedLine(path, line, reason): return "\(path):\(line): \(reason)"
        case let .badCheckpoint(path, reason): return "\(path): \(reason)"
        case let .invalidJob(path, reason): return "\(path): \(reason)"
        case let .badData(path, reason): return "\(path): \(reason)"
        case let .invalidParameter(message): return message
        }
    }
}
