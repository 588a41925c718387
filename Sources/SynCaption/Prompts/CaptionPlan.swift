/// Everything decided before the generator runs for one caption slot: concept, mode, prompt, seed.
public struct CaptionPlan: Sendable, Hashable {
    /// Position in the job's stream of attempts (a pure function of the job seed and this index).
    public var index: Int
    /// Name of the concept list the concept came from.
    public var source: String
    /// The concept's kind.
    public var kind: ConceptKind
    /// The concept.
    public var concept: String
    /// The caption mode.
    public var mode: CaptionMode
    /// The background, in background mode.
    public var background: String?
    /// The relation word, in relation mode.
    public var relation: String?
    /// The three in-context examples.
    public var examples: [CaptionExample]
    /// The full prompt text.
    public var prompt: String
    /// This caption's sampling seed (53 bits, safe as a JSON number).
    public var seed: UInt64

    /// The generator request, carrying the structured fields for model-free generators.
    public var request: GenerationRequest {
        var context = ["task": "caption", "kind": kind.rawValue, "mode": mode.rawValue, "concept": concept]
        if let background { context["background"] = background }
        if let relation { context["relation"] = relation }
        return GenerationRequest(prompt: prompt, seed: seed, context: context)
    }
}
