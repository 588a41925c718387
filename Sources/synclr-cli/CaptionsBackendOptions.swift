import ArgumentParser
import Foundation
import SynCaption

/// Text generator backends selectable with `--backend`.
enum CaptionBackend: String, CaseIterable, ExpressibleByArgument {
    /// The in-process GGUF language model (SmolLM2-135M-Instruct by default).
    case native
    /// Hand-written templates, no language model.
    case template
    /// An OpenAI-compatible HTTP server (llama.cpp server, vLLM, Ollama, OpenAI).
    case openai
}

/// How `--backend native` gives prompts to the model.
enum NativePromptStyle: String, CaseIterable, ExpressibleByArgument {
    /// The raw few-shot prompt, continued.
    case completion
    /// The prompt as the user turn of the chat template.
    case chat
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
    @Option(help: """
        Text generator: native (the in-process GGUF language model), template (no language model) or openai \
        (an OpenAI-compatible server). Default: native when a model is installed, else template.
        """)
    var backend: CaptionBackend?

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

    /// Prompts per generator call for jobs: enough to keep the native model's batch full.
    var jobChunk: Int { resolvedBackend == .native ? max(8, llmBatch * 2) : max(8, concurrency * 4) }

    /// The backend to use: the explicit one, else native when a model is installed, else template.
    var resolvedBackend: CaptionBackend {
        if let backend { return backend }
        return LlamaModelLocation.isInstalled(model) ? .native : .template
    }

    func validate() throws {
        if llmBatch < 1 { throw ValidationError("--llm-batch must be at least 1") }
        let backend = resolvedBackend
        if concurrency < 1 { throw ValidationError("--concurrency must be at least 1") }
        if timeout <= 0 { throw ValidationError("--timeout must be positive") }
        if retries < 0 { throw ValidationError("--retries must be >= 0") }
        if maxTokens < 1 { throw ValidationError("--max-tokens must be at least 1") }
        if backend == .openai && url == nil { throw ValidationError("--backend openai needs --url (e.g. http://127.0.0.1:8080)") }
        if backend == .template && (url != nil || model != nil) {
            throw ValidationError("--url and --model apply to --backend openai and native only")
        }
        if backend == .native && url != nil { throw ValidationError("--url applies to --backend openai only") }
    }

    /// Builds the generator, checking that a server is reachable first.
    func makeGenerator() async throws -> any TextGenerator {
        switch resolvedBackend {
        case .native:
            let path = LlamaModelLocation.resolve(model)
            let style: PromptStyle = promptStyle == .chat ? .chat(system: nil) : .completion
            let generator: LlamaGenerator
            do {
                generator = try LlamaGenerator(path: path, config: LlamaGeneratorConfig(promptStyle: style, maxBatch: llmBatch))
            } catch let error as LlamaError {
                throw ValidationError(error.description)
            }
            Terminal.note("backend: native — \(generator.name) (\(path)), \(llmBatch) sequences at once")
            return generator
        case .template:
            if backend == nil {
                Terminal.note("no language model installed at \(LlamaModelLocation.resolve(model)) (run `make setup` or Scripts/install_models.sh)")
            }
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
