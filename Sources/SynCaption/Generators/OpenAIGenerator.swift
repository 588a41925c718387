import Synchronization
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SynTensor

/// A `TextGenerator` that calls an OpenAI-compatible server, with a concurrency limit, timeouts
/// and retries: exponential backoff with jitter (at least a 429/503's Retry-After seconds, at most
/// `maxBackoff`) on timeouts, lost or reset connections, 429, 5xx and 2xx answers whose body is
/// malformed or truncated. Other 4xx answers fail at once. When every attempt failed the error is
/// `CaptionError.retriesExhausted` holding the last failure; a caption job keeps its finished
/// batches and resumes from them.
public struct OpenAIGenerator: TextGenerator {
    /// Settings.
    public let configuration: OpenAIConfiguration
    /// `openai:MODEL`.
    public var name: String { "openai:\(configuration.model)" }
    private let session: URLSession

    /// Instruction sent as the system message in chat mode.
    static let chatInstruction = "Continue the text. Reply with only the continuation of its last line, on a single line."

    /// A generator for `configuration`.
    public init(_ configuration: OpenAIConfiguration) {
        self.configuration = configuration
        let cfg = URLSessionConfiguration.ephemeral
        // The deadline is enforced by `fetch`; URLSession's own limits (whole seconds, with a
        // margin) only reclaim requests left running after a timeout.
        let backstop = (configuration.timeout + 5).rounded(.up)
        cfg.timeoutIntervalForRequest = backstop
        cfg.timeoutIntervalForResource = backstop
        cfg.httpMaximumConnectionsPerHost = configuration.concurrency
        cfg.requestCachePolicy = .reloadIgnoringLocalCacheData
        session = URLSession(configuration: cfg)
    }

    /// Completions for `requests` (at most `concurrency` in flight), in order.
    public func generate(_ requests: [GenerationRequest], options: GenerationOptions) async throws -> [String] {
        try configuration.validate()
        let limit = configuration.concurrency
        return try await withThrowingTaskGroup(of: (Int, String).self) { group in
            var results = [String](repeating: "", count: requests.count)
            var next = 0
            func add(_ i: Int) {
                let request = requests[i]
                group.addTask { (i, try await self.complete(request, options: options)) }
            }
            while next < min(limit, requests.count) { add(next); next += 1 }
            while let (i, text) = try await group.next() {
                results[i] = text
                if next < requests.count { add(next); next += 1 }
            }
            return results
        }
    }

    /// The request body for one prompt.
    func body(_ request: GenerationRequest, options: GenerationOptions) -> [String: Any] {
        var body: [String: Any] = [
            "model": configuration.model,
            "max_tokens": options.maxTokens,
            "temperature": Double(options.temperature),
            "top_p": Double(options.topP),
            "seed": Int(request.seed % (1 << 31)),
            "n": 1,
            "stream": false,
        ]
        if !options.stop.isEmpty { body["stop"] = Array(options.stop.prefix(4)) }
        if options.topK > 0 { body["top_k"] = options.topK }
        if options.repetitionPenalty != 1 {
            body["repetition_penalty"] = Double(options.repetitionPenalty)
            body["repeat_penalty"] = Double(options.repetitionPenalty)
        }
        switch configuration.endpoint {
        case .completions:
            body["prompt"] = request.prompt
        case .chat:
            body["messages"] = [["role": "system", "content": OpenAIGenerator.chatInstruction],
                                ["role": "user", "content": request.prompt]]
        }
        return body
    }

    /// One completion, retried as configured.
    func complete(_ request: GenerationRequest, options: GenerationOptions) async throws -> String {
        let url = configuration.generationURL
        var urlRequest = URLRequest(url: url)
        urlRequest.httpMethod = "POST"
        urlRequest.timeoutInterval = (configuration.timeout + 5).rounded(.up)
        urlRequest.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let key = configuration.apiKey { urlRequest.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
        urlRequest.httpBody = try JSONSerialization.data(withJSONObject: body(request, options: options), options: [.sortedKeys])
        var jitter = RandomGenerator(seed: request.seed).derived("http-backoff")
        var lastError = CaptionError.unreachable(url: url.absoluteString, reason: "no attempt made")
        for attempt in 0...configuration.maxRetries {
            var retryAfter: Double?
            do {
                let (data, response) = try await fetch(urlRequest, timeout: configuration.timeout)
                guard let http = response as? HTTPURLResponse else {
                    throw CaptionError.badResponse(url: url.absoluteString, reason: "not an HTTP response")
                }
                if (200..<300).contains(http.statusCode) {
                    // A malformed or cut-off body in a success answer comes from an overloaded server or
                    // a proxy dropping the connection: worth another attempt, unlike a 4xx.
                    do { return try parse(data, url: url) } catch let error as CaptionError { lastError = error }
                } else {
                    let text = String(decoding: data.prefix(500), as: UTF8.self).trimmed()
                    lastError = .httpStatus(url: url.absoluteString, status: http.statusCode, body: text)
                    guard http.statusCode == 429 || http.statusCode >= 500 else { throw lastError }
                    retryAfter = (http.value(forHTTPHeaderField: "Retry-After")).flatMap { Double($0.trimmed()) }
                }
            } catch let error as URLError {
                switch error.code {
                case .timedOut:
                    lastError = .timedOut(url: url.absoluteString, seconds: configuration.timeout, attempts: attempt + 1)
                case .cancelled:
                    throw CancellationError()
                default:
                    lastError = .unreachable(url: url.absoluteString, reason: OpenAIGenerator.describe(error))
                }
            }
            try Task.checkCancellation()
            if attempt == configuration.maxRetries { break }
            let exponential = min(configuration.maxBackoff, configuration.backoff * pow(2, Double(attempt)))
            let wanted = (retryAfter ?? 0).isFinite ? max(retryAfter ?? 0, 0) : 0
            let delay = min(configuration.maxBackoff, max(wanted, exponential * (0.5 + 0.5 * jitter.uniformDouble())))
            try await Task.sleep(nanoseconds: UInt64(max(delay, 0) * 1e9))
        }
        throw configuration.maxRetries == 0 ? lastError : CaptionError.retriesExhausted(attempts: configuration.maxRetries + 1, last: lastError)
    }

    /// `session.data(for:)` with a precise deadline (a late answer becomes `URLError(.timedOut)`).
    ///
    /// The deadline is a Dispatch timer that cancels the URLSession task, and the outcome is decided
    /// on URLSession's own queue: it never depends on Swift's cooperative thread pool being free
    /// (CPU-bound work on the pool would otherwise delay a timer task past the answer).
    func fetch(_ request: URLRequest, timeout: Double) async throws -> (Data, URLResponse) {
        let session = self.session
        return try await withCheckedThrowingContinuation { continuation in
            let state = FetchState()
            let task = session.dataTask(with: request) { data, response, error in
                guard state.finish() else { return }
                if state.timedOut { continuation.resume(throwing: URLError(.timedOut)); return }
                if let error { continuation.resume(throwing: error); return }
                guard let data, let response else { continuation.resume(throwing: URLError(.badServerResponse)); return }
                continuation.resume(returning: (data, response))
            }
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout) {
                if state.markTimedOut() { task.cancel() }
            }
            task.resume()
        }
    }

    /// The completion text in a 200 response body (`text`, or a chat reply's cleaned first line).
    public func parse(_ data: Data, url: URL) throws -> String {
        let snippet = String(decoding: data.prefix(200), as: UTF8.self)
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw CaptionError.badResponse(url: url.absoluteString, reason: "body is not a JSON object: \(snippet)")
        }
        guard let choices = object["choices"] as? [Any], let first = choices.first as? [String: Any] else {
            throw CaptionError.badResponse(url: url.absoluteString, reason: "no \"choices\" array: \(snippet)")
        }
        if let text = first["text"] as? String { return text }
        if let message = first["message"] as? [String: Any], let content = message["content"] as? String {
            return OpenAIGenerator.cleanChatReply(content)
        }
        throw CaptionError.badResponse(url: url.absoluteString, reason: "choice has neither \"text\" nor \"message.content\": \(snippet)")
    }

    /// A chat reply's first line with any echoed `query =>` prefix removed.
    static func cleanChatReply(_ content: String) -> String {
        let line = PromptBuilder.firstLine(of: content.trimmed())
        if let arrow = line.range(of: "=>", options: .backwards) { return String(line[arrow.upperBound...]).trimmed() }
        return line
    }

    /// A readable reason for a transport error.
    static func describe(_ error: URLError) -> String {
        switch error.code {
        case .cannotConnectToHost: return "connection refused"
        case .cannotFindHost, .dnsLookupFailed: return "host not found"
        case .networkConnectionLost: return "connection lost"
        case .notConnectedToInternet: return "no network"
        case .badServerResponse: return "bad server response"
        default: return error.localizedDescription
        }
    }

    /// Checks the server answers `GET /v1/models` and returns the first model id it lists
    /// (nil when the server has no such endpoint). Fails fast: one attempt, no retries.
    public func listFirstModel() async throws -> String? {
        let url = configuration.url("models")
        var request = URLRequest(url: url)
        let limit = min(configuration.timeout, 30)
        if let key = configuration.apiKey { request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
        let data: Data
        let response: URLResponse
        do { (data, response) = try await fetch(request, timeout: limit) } catch let error as URLError {
            if error.code == .timedOut { throw CaptionError.timedOut(url: url.absoluteString, seconds: limit, attempts: 1) }
            throw CaptionError.unreachable(url: url.absoluteString, reason: OpenAIGenerator.describe(error))
        }
        guard let http = response as? HTTPURLResponse else { return nil }
        if http.statusCode == 401 || http.statusCode == 403 {
            throw CaptionError.httpStatus(url: url.absoluteString, status: http.statusCode, body: "check the API key variable")
        }
        guard http.statusCode == 200,
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let list = object["data"] as? [Any], let first = list.first as? [String: Any] else { return nil }
        return first["id"] as? String
    }
}

/// Who won between a response and the deadline (set once, from any thread).
final class FetchState: Sendable {
    private let flags = Mutex<(done: Bool, timedOut: Bool)>((false, false))

    /// Marks the request finished; false if it already was.
    func finish() -> Bool {
        flags.withLock { f in
            if f.done { return false }
            f.done = true
            return true
        }
    }

    /// Marks the deadline passed unless the answer already arrived; true when the task must be cancelled.
    func markTimedOut() -> Bool {
        flags.withLock { f in
            if f.done { return false }
            f.timedOut = true
            return true
        }
    }

    /// Whether the deadline passed first.
    var timedOut: Bool { flags.withLock { $0.timedOut } }
}
