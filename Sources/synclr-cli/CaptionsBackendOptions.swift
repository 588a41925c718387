import ArgumentParser
import Foundation
import SynCaption

/// Text generator backends selectable with `--backend` (`native` joins when the GGUF runtime lands).
enum CaptionBackend: String, CaseIterable, ExpressibleByArgument {
    /// Hand-written templates, no language model.
    case template
    /// An OpenAI-compatible HTTP server (llama.cpp server, vLLM, Ollama, OpenAI).
    case openai
}

/// OpenAI API shapes selectable with `--endpoint`.
enum CaptionEndpoint: String, CaseIterable, ExpressibleByArgument {
    /// POST /v1/completions (raw few-shot prompt; best for base models).
    case completions
    /// POST /v1/chat/completions (prompt as a user message).
    case chat

    /// The library's value.
    var value: OpenAIConfiguration.Endpoint { self == .completions ? .completions : .chat }
}

/// Generator choice and sampling options shared by `captions` and `captions backgrounds`.
struct CaptionsBackendOptions: ParsableArguments {
    @Option(help: "Text generator: template (no language model) or openai (an OpenAI-compatible server).")
    var backend: CaptionBackend = .template

    @Option(help: "Server root for --backend openai, e.g. http://127.0.0.1:8080 (with or without /v1).")
    var url: String?

    @Option(help: "Model name for --backend openai (default: the first model the server lists).")
    var model: String?

    @Option(help: "OpenAI API to call: completions or chat.")
    var endpoint: CaptionEndpoint = .completions

    @Option(name: .customLong("api-key-env"), help: "Environment variable holding the API key (sent as a Bearer token if set).")
    var apiKeyEnv: String = "OPENAI_API_KEY"

    @Option(help: "Most HTTP requests in flight at once.")
    var concurrency: Int = 4

    @Option(help: "Seconds to wait for one HTTP response.")
    var timeout: Double = 120

    @Option(help: "Retries per request on timeouts, connection errors, HTTP 429 and 5xx (exponential backoff).")
    var retries: Int = 4

    @Option(help: "Sampling temperature (paper: 0.8).")
    var temperature: Float = 0.8

    @Option(name: .customLong("top-p"), help: "Nucleus sampling mass (paper: 0.9).")
    var topP: Float = 0.9

    @Option(name: .customLong("max-tokens"), help: "Most new tokens per completion.")
    var maxTokens: Int = 100

    /// Sampling options for the generator (the completion is always cut at its first newline).
    var generationOptions: GenerationOptions {
        GenerationOptions(maxTokens: maxTokens, temperature: temperature, topP: topP, stop: ["\n"])
    }

    func validate() throws {
        if concurrency < 1 { throw ValidationError("--concurrency must be at least 1") }
        if timeout <= 0 { throw ValidationError("--timeout must be positive") }
        if retries < 0 { throw ValidationError("--retries must be >= 0") }
        if maxTokens < 1 { throw ValidationError("--max-tokens must be at least 1") }
        if backend == .openai && url == nil { throw ValidationError("--backend openai needs --url (e.g. http://127.0.0.1:8080)") }
        if backend == .template && (url != nil || model != nil) {
            throw ValidationError("--url and --model apply to --backend openai only")
        }
    }

    /// Builds the generator, checking that a server is reachable first.
    func makeGenerator() async throws -> any TextGenerator {
        switch backend {
        case .template:
            Terminal.note("backend: template — captions are filled in from fixed templates, NOT written by a language model; "
                          + "records are labeled \"template (no language model)\"")
            return TemplateGenerator()
        case .openai:
            let base = try OpenAIConfiguration.parseBaseURL(url ?? "")
            var config = OpenAIConfiguration(baseURL: base, model: model ?? "", endpoint: endpoint.value,
                                             apiKey: OpenAIConfiguration.apiKey(fromEnvironment: apiKeyEnv),
                                             concurrency: concurrency, timeout: timeout, maxRetries: retries)
            let probe = OpenAIGenerator(config)
            let listed = try await probe.listFirstModel()
            if config.model.isEmpty {
                guard let listed else {
                    throw ValidationError("\(config.url("models")) lists no models; pass --model NAME")
                }
                config.model = listed
            }
            Terminal.note("backend: openai — \(config.generationURL.absoluteString), model \(config.model), \(concurrency) in flight")
            return OpenAIGenerator(config)
        }
    }
}
