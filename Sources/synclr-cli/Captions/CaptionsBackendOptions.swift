import ArgumentParser
import Foundation
import SynCaption

/// `--backend` values (the library's generator kinds).
extension CaptionBackendConfiguration.Kind: ExpressibleByArgument {}

/// `--endpoint` values (the library's API shapes).
extension OpenAIConfiguration.Endpoint: ExpressibleByArgument {}

/// How `--backend native` gives prompts to the model.
enum NativePromptStyle: String, CaseIterable, ExpressibleByArgument {
    /// The raw few-shot prompt, continued.
    case completion
    /// The prompt as the user turn of the chat template.
    case chat
}

/// Generator choice and sampling options shared by `captions` and `captions backgrounds`.
struct CaptionsBackendOptions: ParsableArguments {
    @Option(help: """
        Text generator: native (the in-process GGUF language model), template (no language model) or openai \
        (an OpenAI-compatible server). Default: native when a model is installed, else template.
        """)
    var backend: CaptionBackendConfiguration.Kind?

    @Option(help: "Server root for --backend openai, e.g. http://127.0.0.1:8080 (with or without /v1).")
    var url: String?

    @Option(help: """
        --backend native: GGUF model file (default: $\(LlamaModelLocation.environmentVariable), else the installed \
        SmolLM2-135M-Instruct). --backend openai: model name (default: the first model the server lists).
        """)
    var model: String?

    @Option(name: .customLong("prompt-style"), help: "--backend native: completion (the raw few-shot prompt) or chat (as the user turn of the model's chat template).")
    var promptStyle: NativePromptStyle = .completion

    @Option(name: .customLong("llm-batch"), help: "--backend native: sequences decoded together.")
    var llmBatch: Int = 32

    @Option(help: "OpenAI API to call: completions or chat.")
    var endpoint: OpenAIConfiguration.Endpoint = .completions

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

    /// The library configuration these options describe.
    var configuration: CaptionBackendConfiguration {
        CaptionBackendConfiguration(kind: backend, url: url, model: model, chatPrompt: promptStyle == .chat, llmBatch: llmBatch,
                                    endpoint: endpoint, apiKeyEnvironment: apiKeyEnv, concurrency: concurrency, timeout: timeout,
                                    retries: retries)
    }

    /// Prompts per generator call for jobs: enough to keep the native model's batch full.
    var jobChunk: Int { configuration.resolvedKind == .native ? max(8, llmBatch * 2) : max(8, concurrency * 4) }

    func validate() throws {
        if maxTokens < 1 { throw ValidationError("--max-tokens must be at least 1") }
        if let p = configuration.problems.first { throw ValidationError(FlagNames.cli(p)) }
    }

    /// Builds the generator, checking that a server is reachable first.
    func makeGenerator() async throws -> any TextGenerator {
        try await configuration.makeGenerator(note: Terminal.note)
    }
}
