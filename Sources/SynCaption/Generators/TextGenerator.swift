/// Sampling settings shared by every text generator.
public struct GenerationOptions: Sendable, Hashable, Codable {
    /// Most new tokens per completion.
    public var maxTokens: Int
    /// Softmax temperature; 0 means greedy.
    public var temperature: Float
    /// Nucleus sampling mass (1 disables).
    public var topP: Float
    /// Keep only the k most likely tokens (0 disables).
    public var topK: Int
    /// Penalty > 1 discourages tokens already in the context (1 disables).
    public var repetitionPenalty: Float
    /// Generation stops before the first occurrence of any of these strings.
    public var stop: [String]

    /// The paper's caption settings: temperature 0.8, top-p 0.9, at most 100 tokens, stop at newline.
    public init(maxTokens: Int = 100, temperature: Float = 0.8, topP: Float = 0.9, topK: Int = 0,
                repetitionPenalty: Float = 1, stop: [String] = ["\n"]) {
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.topP = topP
        self.topK = topK
        self.repetitionPenalty = repetitionPenalty
        self.stop = stop
    }
}

/// One prompt with its own seed, so a completion does not depend on how prompts are batched.
public struct GenerationRequest: Sendable, Hashable, Codable {
    /// Full prompt text (completion style: header, in-context examples, query).
    public var prompt: String
    /// Seed for this request's sampling.
    public var seed: UInt64
    /// Structured fields behind the prompt (`task`, `kind`, `mode`, `concept`, `background`,
    /// `relation`) for generators that do not read prompts, such as the template backend.
    public var context: [String: String]

    /// A request for `prompt` sampled with `seed`.
    public init(prompt: String, seed: UInt64, context: [String: String] = [:]) {
        self.prompt = prompt
        self.seed = seed
        self.context = context
    }

    private enum CodingKeys: String, CodingKey { case prompt, seed, context }

    /// Decodes a request; `context` may be absent.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        prompt = try c.decode(String.self, forKey: .prompt)
        seed = try c.decode(UInt64.self, forKey: .seed)
        context = try c.decodeIfPresent([String: String].self, forKey: .context) ?? [:]
    }
}

/// Anything that turns prompts into completions: a local model, an HTTP server, templates.
public protocol TextGenerator: Sendable {
    /// Identifier recorded with every caption (e.g. `native:SmolLM2-135M-Instruct.Q4_1`).
    var name: String { get }
    /// Completions for `requests`, in order.
    func generate(_ requests: [GenerationRequest], options: GenerationOptions) async throws -> [String]
}
