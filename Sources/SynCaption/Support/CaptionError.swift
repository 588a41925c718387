import Foundation

/// Everything that can go wrong in SynCaption, each case with a message naming the file or server.
public enum CaptionError: Error, Sendable, Equatable, LocalizedError, CustomStringConvertible {
    /// A file that should exist does not.
    case fileNotFound(path: String, what: String)
    /// A file exists but could not be read.
    case unreadable(path: String, reason: String)
    /// A file could not be created, written or renamed (a full disk, a read-only folder).
    case cannotWrite(path: String, reason: String)
    /// A concept list has no concepts.
    case emptyList(name: String)
    /// A JSON file does not have the expected shape.
    case malformedJSON(path: String, reason: String)
    /// One line of a JSONL file is not a valid record.
    case malformedLine(path: String, line: Int, reason: String)
    /// A built-in list name that does not exist.
    case unknownList(name: String, known: [String])
    /// An invalid option or specification string.
    case invalidArgument(String)
    /// The built-in resources (concept lists) could not be located.
    case resourcesMissing(searched: [String])
    /// The server could not be reached at all.
    case unreachable(url: String, reason: String)
    /// The server answered with an HTTP error that retries did not fix.
    case httpStatus(url: String, status: Int, body: String)
    /// The server answered 200 with a body that is not a completion.
    case badResponse(url: String, reason: String)
    /// A request took longer than the configured timeout on every attempt.
    case timedOut(url: String, seconds: Double, attempts: Int)
    /// An existing output file belongs to a job with different arguments.
    case jobMismatch(path: String, differences: [String])
    /// An output file exists and is not a resumable job of this kind.
    case outputExists(path: String, reason: String)
    /// The job rejected too many completions to reach the requested count.
    case tooManyRejections(accepted: Int, wanted: Int, attempts: Int, detail: String)
    /// A generator returned a different number of completions than prompts.
    case generatorCountMismatch(name: String, expected: Int, got: Int)
    /// A server kept failing (5xx, 429, timeouts, lost connections, malformed answers) through every retry; `last` is the final failure.
    indirect case retriesExhausted(attempts: Int, last: CaptionError)

    /// A one-line human-readable explanation.
    public var description: String {
        switch self {
        case let .fileNotFound(path, what): return "\(what) not found: \(path)"
        case let .unreadable(path, reason): return "cannot read \(path): \(reason)"
        case let .cannotWrite(path, reason): return "cannot write \(path): \(reason)"
        case let .emptyList(name): return "concept list \(name) is empty"
        case let .malformedJSON(path, reason): return "malformed JSON in \(path): \(reason)"
        case let .malformedLine(path, line, reason): return "\(path):\(line): malformed line: \(reason)"
        case let .unknownList(name, known):
            return "unknown concept list '\(name)' (not a built-in list and no such file); built-in lists: \(known.joined(separator: ", "))"
        case let .invalidArgument(message): return message
        case let .resourcesMissing(searched):
            return "built-in concept lists not found (searched \(searched.joined(separator: ", "))); set SYNCLR_RESOURCES to the SynCaption resources folder"
        case let .unreachable(url, reason): return "cannot reach \(url): \(reason) (is the server running?)"
        case let .httpStatus(url, status, body):
            return "\(url) answered HTTP \(status)" + (body.isEmpty ? "" : ": \(body.prefix(300))")
        case let .badResponse(url, reason): return "unexpected response from \(url): \(reason)"
        case let .timedOut(url, seconds, attempts):
            return "\(url) did not answer within \(seconds)s (\(attempts) attempt\(attempts == 1 ? "" : "s"))"
        case let .jobMismatch(path, differences):
            return "\(path) was started with different arguments (\(differences.joined(separator: "; "))); rerun with the original arguments to resume, or set `overwrite` to start over"
        case let .outputExists(path, reason): return "\(path) \(reason); set `overwrite` to replace it"
        case let .tooManyRejections(accepted, wanted, attempts, detail):
            return "gave up after \(attempts) attempts with \(accepted) of \(wanted) captions accepted (\(detail)); use larger concept lists, a smaller `count`, or looser filters"
        case let .generatorCountMismatch(name, expected, got):
            return "generator \(name) returned \(got) completions for \(expected) prompts"
        case let .retriesExhausted(attempts, last):
            return "gave up after \(attempts) attempt\(attempts == 1 ? "" : "s") with back-off; last error: \(last)"
        }
    }

    /// Same as `description` (used by Foundation's `localizedDescription`).
    public var errorDescription: String? { description }
}
