import Foundation
import SynTensor

/// Which text generator writes the captions, and its connection options (one value from the
/// command line or a pipeline configuration to the generator).
public struct CaptionBackendConfiguration: Codable, Sendable, Hashable {
    /// Text generator kinds.
    public enum Kind: String, Codable, Sendable, Hashable, CaseIterable {
        /// The in-process GGUF language model (SmolLM2-135M-Instruct by default).
        case native
        /// Hand-written templates, no language model.
        case template
        /// An OpenAI-compatible HTTP server (llama.cpp server, vLLM, Ollama, OpenAI).
        case openai
    }

    /// The generator (nil: native when a model is installed, else template).
    public var kind: Kind?
    /// Server root for `openai`.
    public var url: String?
    /// `native`: GGUF model file (nil: `LlamaModelLocation`); `openai`: model name (nil: the first the server lists).
    public var model: String?
    /// `native`: give the prompt as the user turn of the chat template instead of continuing it.
    public var chatPrompt: Bool
    /// `native`: sequences decoded together.
    public var llmBatch: Int
    /// `openai`: which API to call.
    public var endpoint: OpenAIConfiguration.Endpoint
    /// `openai`: environment variable holding the API key.
    public var apiKeyEnvironment: String
    /// `openai`: most requests in flight.
    public var concurrency: Int
    /// `openai`: seconds to wait for one response.
    public var timeout: Double
    /// `openai`: retries per request.
    public var retries: Int

    /// A configuration with the command line's defaults.
    public init(kind: Kind? = nil, url: String? = nil, model: String? = nil, chatPrompt: Bool = false, llmBatch: Int = 32,
                endpoint: OpenAIConfiguration.Endpoint = .completions, apiKeyEnvironment: String = "OPENAI_API_KEY",
                concurrency: Int = 4, timeout: Double = 120, retries: Int = 4) {
        self.kind = kind
        self.url = url
        self.model = model
        self.chatPrompt = chatPrompt
        self.llmBatch = llmBatch
        self.endpoint = endpoint
        self.apiKeyEnvironment = apiKeyEnvironment
        self.concurrency = concurrency
        self.timeout = timeout
        self.retries = retries
    }

    /// The generator to use: the explicit one, else native when a model is installed, else template.
    public var resolvedKind: Kind {
        if let kind { return kind }
        return LlamaModelLocation.isInstalled(model) ? .native : .template
    }

    /// Problems with the options (empty when valid), naming the parameters.
    public var problems: [String] {
        var p: [String] = []
        if llmBatch < 1 { p.append("`llmBatch` must be at least 1") }
        if concurrency < 1 { p.append("`concurrency` must be at least 1") }
        if !(timeout > 0) { p.append("`timeout` must be positive") }
        if retries < 0 { p.append("`retries` must be >= 0") }
        let kind = resolvedKind
        if kind == .openai && url == nil { p.append("the openai `backend` needs a `url` (e.g. http://127.0.0.1:8080)") }
        if kind == .template && (url != nil || model != nil) { p.append("`url` and `model` apply to the openai and native `backend` only") }
        if kind == .native && url != nil { p.append("`url` applies to the openai `backend` only") }
        return p
    }

    /// Builds the generator (checking that a server is reachable first); `note` gets what was chosen.
    public func makeGenerator(note: (String) -> Void) async throws -> any TextGenerator {
        if let p = problems.first { throw CaptionError.invalidArgument(p) }
        switch resolvedKind {
        case .native:
            let path = LlamaModelLocation.resolve(model)
            let generator = try LlamaGenerator(path: path, config: LlamaGeneratorConfig(promptStyle: chatPrompt ? .chat(system: nil) : .completion,
                                                                                       maxBatch: llmBatch))
            note("backend: native — \(generator.name) (\(path)), \(llmBatch) sequences at once")
            return generator
        case .template:
            if kind == nil {
                note("no language model installed at \(LlamaModelLocation.resolve(model)) (run `make setup` or Scripts/setup/install_models.sh)")
            }
            note("backend: template — captions are filled in from fixed templates, NOT written by a language model; "
                 + "records are labeled \"template (no language model)\"")
            return TemplateGenerator()
        case .openai:
            let base = try OpenAIConfiguration.parseBaseURL(url ?? "")
            var config = OpenAIConfiguration(baseURL: base, model: model ?? "", endpoint: endpoint,
                                             apiKey: OpenAIConfiguration.apiKey(fromEnvironment: apiKeyEnvironment),
                                             concurrency: concurrency, timeout: timeout, maxRetries: retries)
            let listed = try await OpenAIGenerator(config).listFirstModel()
            if config.model.isEmpty {
                guard let listed else { throw CaptionError.invalidArgument("\(config.url("models")) lists no models; set `model`") }
                config.model = listed
            }
            note("backend: openai — \(config.generationURL.absoluteString), model \(config.model), \(concurrency) in flight")
            return OpenAIGenerator(config)
        }
    }
}


/// The caption stage as one call (`synclr captions` and the pipeline build this value): concept
/// lists, prompts, generator, filters and the resumable JSONL output.
public struct CaptionsJobConfiguration: Codable, Sendable, Hashable {
    /// Concept lists to mix: NAME_OR_FILE[:KIND][=WEIGHT],... (`ConceptSourceSpec.parseList`).
    public var concepts: String
    /// Captions to write.
    public var count: Int
    /// Job seed.
    public var seed: UInt64
    /// Backgrounds JSON merged over the built-in ones.
    public var backgrounds: String?
    /// Use the shipped backgrounds (Fashion-MNIST, ImageNet-1k).
    public var builtinBackgrounds: Bool
    /// JSON file replacing some or all in-context example pools.
    public var examples: String?
    /// Kind split, e.g. object=0.91,scene=0.088,texture=0.002 (nil: from list weights).
    public var kindWeights: String?
    /// Mode split for objects: concept=W,relation=W,background=W.
    public var modeWeights: String
    /// Quality filters.
    public var filter: CaptionFilter
    /// Prompts per generator call and per checkpoint.
    public var batchSize: Int
    /// Sampling options (the completion is always cut at its first newline).
    public var generation: GenerationOptions
    /// The text generator.
    public var backend: CaptionBackendConfiguration
    /// Output JSONL path.
    public var output: String
    /// Discard any earlier output of this path and start over.
    public var overwrite: Bool
    /// This process's part of the job (`CaptionShard.whole` by default). Not encoded: how the job
    /// is split does not change its output, so the pipeline's stage hash leaves it out.
    public var shard: CaptionShard = .whole

    private enum CodingKeys: String, CodingKey {
        case concepts, count, seed, backgrounds, builtinBackgrounds, examples, kindWeights, modeWeights, filter, batchSize,
             generation, backend, output, overwrite
    }

    /// A configuration with the command line's defaults.
    public init(concepts: String = "paper", count: Int = 1000, seed: UInt64 = 0, backgrounds: String? = nil, builtinBackgrounds: Bool = true,
                examples: String? = nil, kindWeights: String? = nil, modeWeights: String = "concept=0.44,relation=0.11,background=0.45",
                filter: CaptionFilter = CaptionFilter(), batchSize: Int = 64,
                generation: GenerationOptions = GenerationOptions(maxTokens: 100, temperature: 0.8, topP: 0.9, stop: ["\n"]),
                backend: CaptionBackendConfiguration = CaptionBackendConfiguration(), output: String, overwrite: Bool = false,
                shard: CaptionShard = .whole) {
        self.concepts = concepts
        self.count = count
        self.seed = seed
        self.backgrounds = backgrounds
        self.builtinBackgrounds = builtinBackgrounds
        self.examples = examples
        self.kindWeights = kindWeights
        self.modeWeights = modeWeights
        self.filter = filter
        self.batchSize = batchSize
        self.generation = generation
        self.backend = backend
        self.output = output
        self.overwrite = overwrite
        self.shard = shard
    }

    /// Parses `object=0.91,scene=0.088,texture=0.002`.
    public static func parseKindWeights(_ text: String) throws -> [ConceptKind: Double] {
        var out: [ConceptKind: Double] = [:]
        for item in text.split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, let kind = ConceptKind(rawValue: parts[0].lowercased()), let w = Double(parts[1]), w >= 0 else {
                throw CaptionError.invalidArgument("bad `kindWeights` item '\(item)': expected object=W, scene=W or texture=W")
            }
            out[kind] = w
        }
        return out
    }

    /// Builds the job: planner (with its warnings through `note`), filter and generator.
    public func makeJob(note: (String) -> Void) async throws -> CaptionJob {
        let specs = try ConceptSourceSpec.parseList(concepts)
        var modes = MixingTree.paperModeWeights
        modes[.object] = try ModeWeights.parse(modeWeights)
        let tree = try MixingTree.from(specs: specs, kindWeights: try kindWeights.map(Self.parseKindWeights), modeWeights: modes)
        // Built-in backgrounds (written with the native model) cover the shipped lists; `backgrounds` entries win.
        var table = builtinBackgrounds ? try BackgroundTable.builtin() : BackgroundTable()
        if let backgrounds { table = table.merging(try BackgroundTable.load(path: backgrounds)) }
        let pools = try examples.map { try ExamplePools.load(path: $0) } ?? .builtin
        let planner = CaptionPlanner(tree: tree, pools: pools, backgrounds: table, seed: seed)

        let mix = zip(tree.sources, tree.sourceProbabilities()).map { "\($0.0.list.name) \(String(format: "%.1f%%", 100 * $0.1))" }
        note("concepts: " + mix.joined(separator: ", "))
        let (missing, total) = planner.conceptsWithoutBackgrounds()
        if total > 0 && missing == total {
            note("warning: no backgrounds for any concept, so the concept+background mode is skipped "
                 + "(its share goes to the other modes); create some with `synclr captions backgrounds` and pass them as `backgrounds`")
        } else if missing > 0 {
            note("warning: \(missing) of \(total) concepts have no backgrounds; the concept+background mode is skipped for them")
        }
        let generator = try await backend.makeGenerator(note: note)
        return CaptionJob(planner: planner, generator: generator, options: generation, filter: filter,
                          count: count, output: output, batchSize: batchSize)
    }
}

/// Which part of a caption job this process does: all of it (`0/1`), or part `index` of `count`
/// processes (Docs/scaling.md): together with the other ranks under MPI, or as an independent
/// shard (a Slurm array task, a Kubernetes Indexed Job pod) whose completions a final one-process
/// run merges.
public struct CaptionShard: Codable, Sendable, Hashable, CustomStringConvertible {
    /// This process's part, 0..<count.
    public var index: Int
    /// Number of parts.
    public var count: Int

    /// The whole job in one process.
    public static let whole = CaptionShard(index: 0, count: 1)

    /// Part `index` of `count`.
    public init(index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    /// `i/n`.
    public var description: String { "\(index)/\(count)" }
}

/// What `CaptionsJobConfiguration.run` did.
public enum CaptionRunOutcome: Sendable {
    /// The job ran (one process, or all ranks together): the output is complete.
    case complete(CaptionJobResult)
    /// An independent shard wrote its completions; a one-process run merges the shards.
    case shard(CaptionShardResult)
}

extension CaptionsJobConfiguration {
    /// Runs `job` (from `makeJob`) as `shard` says. With a `communicator` of several processes
    /// (mpiexec, srun) every rank generates its share of each round and rank 0 writes the output;
    /// without one, a shard of several writes its completions into `OUTPUT.shards/`, and a
    /// one-process run (`shard` 0/1) merges whatever shards left there. Every way ends with the
    /// same output bytes as one process (given a deterministic generator).
    public func run(_ job: CaptionJob, communicator: (any Communicator)? = nil,
                    progress: (@Sendable (CaptionJobProgress) -> Void)? = nil) async throws -> CaptionRunOutcome {
        guard shard.count >= 1, shard.index >= 0, shard.index < shard.count else {
            throw CaptionError.invalidArgument("shard \(shard) is not valid (need i/n with 0 <= i < n)")
        }
        if shard.count == 1 { return .complete(try await job.run(overwrite: overwrite, progress: progress)) }
        if let comm = communicator, comm.size > 1 {
            guard comm.size == shard.count, comm.rank == shard.index else {
                throw DistributedError.badLayout("caption shard \(shard) does not match MPI rank \(comm.rank) of \(comm.size)")
            }
            return .complete(try await job.run(communicator: comm, overwrite: overwrite, progress: comm.isRoot ? progress : nil))
        }
        return .shard(try await job.runShard(index: shard.index, of: shard.count, overwrite: overwrite, progress: progress))
    }
}
