import Foundation
import SynTensor

/// Settings of the OpenAI-compatible HTTP backend (llama.cpp server, vLLM, Ollama, OpenAI).
public struct OpenAIConfiguration: Sendable, Hashable {
    /// Which OpenAI API shape to call.
    public enum Endpoint: String, Sendable, Hashable, CaseIterable, Codable {
        /// `POST /v1/completions` with the raw few-shot prompt (best for base models, as in the paper).
        case completions
        /// `POST /v1/chat/completions` with the prompt as one user message (for chat-only servers).
        case chat
    }

    /// Server root, with or without a trailing `/v1` (e.g. `http://127.0.0.1:8080`).
    public var baseURL: URL
    /// Model name sent with each request.
    public var model: String
    /// API shape.
    public var endpoint: Endpoint
    /// Bearer token, if the server wants one.
    public var apiKey: String?
    /// Most requests in flight at once.
    public var concurrency: Int
    /// Seconds to wait for one response.
    public var timeout: Double
    /// Retries after the first attempt on timeouts, connection errors, 429 and 5xx.
    public var maxRetries: Int
    /// First backoff delay in seconds (doubled per retry, with jitter).
    public var backoff: Double
    /// Longest backoff delay in seconds (also caps a server's Retry-After).
    public var maxBackoff: Double

    /// Settings with sensible defaults: 4 in flight, 120 s timeout, 4 retries from 0.5 s up to 30 s.
    public init(baseURL: URL, model: String, endpoint: Endpoint = .completions, apiKey: String? = nil, concurrency: Int = 4,
                timeout: Double = 120, maxRetries: Int = 4, backoff: Double = 0.5, maxBackoff: Double = 30) {
        self.baseURL = baseURL
        self.model = model
        self.endpoint = endpoint
        self.apiKey = apiKey
        self.concurrency = max(1, concurrency)
        self.timeout = timeout
        self.maxRetries = max(0, maxRetries)
        self.backoff = backoff
        self.maxBackoff = maxBackoff
    }

    /// Throws a `ParameterError` for a value the retry loop cannot use (the generator checks before
    /// its first request: a NaN or negative delay would otherwise trap when converted to nanoseconds).
    public func validate() throws {
        try ParameterError.require(concurrency >= 1, "concurrency", concurrency, allowed: ">= 1")
        try ParameterError.require(timeout > 0 && timeout <= 86_400, "timeout", timeout, allowed: "seconds in (0, 86400]")
        try ParameterError.require(maxRetries >= 0, "maxRetries", maxRetries, allowed: ">= 0")
        try ParameterError.require(backoff >= 0 && backoff <= 3_600, "backoff", backoff, allowed: "seconds in [0, 3600]")
        try ParameterError.require(maxBackoff >= backoff && maxBackoff <= 3_600, "maxBackoff", maxBackoff,
                                   allowed: "seconds in [backoff (\(backoff)), 3600]")
    }

    /// The API key in environment variable `name`, if set and non-empty.
    public static func apiKey(fromEnvironment name: String) -> String? {
        guard let v = ProcessInfo.processInfo.environment[name], !v.isEmpty else { return nil }
        return v
    }

    /// Parses and checks a base URL string (http or https with a host).
    public static func parseBaseURL(_ text: String) throws -> URL {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              url.host != nil else {
            throw CaptionError.invalidArgument("`url` '\(text)' is not an http(s) URL such as http://127.0.0.1:8080")
        }
        return url
    }

    /// `{base}/v1/{path}` (no doubled `/v1`).
    public func url(_ path: String) -> URL {
        var base = baseURL.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        if !base.hasSuffix("/v1") { base += "/v1" }
        return URL(string: base + "/" + path)!
    }

    /// The URL generation requests go to.
    public var generationURL: URL { url(endpoint == .completions ? "completions" : "chat/completions") }
}
