import SynTensor

/// A model-free backend: fills hand-written templates with the concept, background and relation.
/// Deterministic in the request seed; its captions are plausible but formulaic, and every record it
/// produces is labeled `template (no language model)`.
public struct TemplateGenerator: TextGenerator {
    /// Recorded as the captions' `generator`.
    public let name = "template (no language model)"

    /// A template generator.
    public init() {}

    /// One completion per request (a leading space, like a model continuing after `=>`).
    public func generate(_ requests: [GenerationRequest], options: GenerationOptions) async throws -> [String] {
        requests.map { complete($0) }
    }

    /// The completion for one request (synchronous; used by `generate`).
    public func complete(_ request: GenerationRequest) -> String {
        var rng = RandomGenerator(seed: request.seed).derived("template")
        let fields = request.context.isEmpty ? TemplateGenerator.parse(prompt: request.prompt) : request.context
        let concept = fields["concept"] ?? "object"
        if fields["task"] == "backgrounds" { return " " + environments(for: concept, &rng).joined(separator: "; ") }
        let kind = fields["kind"].flatMap(ConceptKind.init(rawValue:)) ?? .object
        let mode = fields["mode"].flatMap(CaptionMode.init(rawValue:)) ?? .concept
        switch (mode, kind) {
        case (.background, _): return " " + backgroundCaption(concept, fields["background"] ?? "garden", &rng)
        case (.relation, _): return " " + relationCaption(concept, fields["relation"] ?? "next to", &rng)
        case (.concept, .scene): return " " + sceneCaption(concept, &rng)
        case (.concept, .texture): return " " + textureCaption(concept, &rng)
        case (.concept, .object): return " " + objectCaption(concept, &rng)
        }
    }

    /// Recovers task, mode, kind, concept and extra from a prompt's header and query line.
    static func parse(prompt: String) -> [String: String] {
        let lines = prompt.split(separator: "\n").map(String.init)
        guard let header = lines.first, var query = lines.last else { return [:] }
        if query.hasSuffix("=>") { query = String(query.dropLast(2)).trimmed() }
        var fields: [String: String] = ["task": "caption", "kind": "object", "mode": "concept", "concept": query]
        switch header {
        case PromptBuilder.environmentHeader: fields["task"] = "backgrounds"
        case PromptBuilder.sceneHeader: fields["kind"] = "scene"
        case PromptBuilder.textureHeader: fields["kind"] = "texture"
        case PromptBuilder.backgroundHeader, PromptBuilder.relationHeader:
            let isBackground = header == PromptBuilder.backgroundHeader
            fields["mode"] = isBackground ? "background" : "relation"
            if let comma = query.range(of: ", ", options: .backwards) {
                fields["concept"] = String(query[..<comma.lowerBound])
                fields[isBackground ? "background" : "relation"] = String(query[comma.upperBound...])
            }
        default: break
        }
        return fields
    }

    private func pick(_ items: [String], _ rng: inout RandomGenerator) -> String { items[rng.int(below: items.count)] }

    private func a(_ phrase: String) -> String { "\(indefiniteArticle(for: phrase)) \(phrase)" }

    func objectCaption(_ c: String, _ rng: inout RandomGenerator) -> String {
        let P = TemplatePhrases.self
        switch rng.int(below: 6) {
        case 0: return "\(a(pick(P.adjectives, &rng) + " " + c)) \(pick(P.poses, &rng)) \(pick(P.places, &rng)), \(pick(P.lights, &rng))"
        case 1: return "\(pick(P.shots, &rng)) of \(a(c)) \(pick(P.places, &rng))"
        case 2: return "\(a(c)) \(pick(P.poses, &rng)) \(pick(P.places, &rng)) \(pick(P.sceneTimes, &rng))"
        case 3: return "\(a(c)) and \(pick(P.companions, &rng)) \(pick(P.places, &rng)), \(pick(P.lights, &rng))"
        case 4: return "\(pick(P.shots, &rng)) of \(a(pick(P.adjectives, &rng) + " " + c)), \(pick(P.lights, &rng))"
        default: return "\(a(c)) \(pick(P.places, &rng)), \(pick(P.companions, &rng)) nearby, \(pick(P.lights, &rng))"
        }
    }

    func backgroundCaption(_ c: String, _ bg: String, _ rng: inout RandomGenerator) -> String {
        let P = TemplatePhrases.self
        let at = TemplateGenerator.preposition(for: bg)
        switch rng.int(below: 4) {
        case 0: return "\(a(c)) \(pick(P.poses, &rng)) \(at) the \(bg), \(pick(P.lights, &rng))"
        case 1: return "\(pick(P.shots, &rng)) of \(a(c)) \(at) the \(bg)"
        case 2: return "\(a(pick(P.adjectives, &rng) + " " + c)) seen \(at) the \(bg) \(pick(P.sceneTimes, &rng))"
        default: return "\(a(c)) with the \(bg) behind it, \(pick(P.lights, &rng))"
        }
    }

    /// `on` for backgrounds that are surfaces (tables, lawns, roads...), else `in`.
    static func preposition(for background: String) -> String {
        let surfaces: Set<String> = ["table", "counter", "desk", "bench", "shelf", "sofa", "windowsill", "floor", "rug", "lawn",
                                     "beach", "blanket", "porch", "step", "rack", "dock", "deck", "roof", "rooftop", "quilt",
                                     "leaf", "bark", "wall", "street", "sidewalk", "road", "path", "trail", "runway", "driveway",
                                     "highway", "boardwalk", "platform", "plate", "stall", "top", "rock", "sand", "shore",
                                     "shoreline", "ice", "iceberg", "branch", "trunk", "fence", "hook", "apron", "lane"]
        let last = background.lowercased().split(separator: " ").last.map(String.init) ?? ""
        return surfaces.contains(last) ? "on" : "in"
    }

    func relationCaption(_ c: String, _ relation: String, _ rng: inout RandomGenerator) -> String {
        let P = TemplatePhrases.self
        let others = P.relationCompanions[relation] ?? P.companions
        switch rng.int(below: 3) {
        case 0: return "\(a(c)) \(relation) \(pick(others, &rng)) \(pick(P.places, &rng))"
        case 1: return "\(pick(P.shots, &rng)) of \(a(pick(P.adjectives, &rng) + " " + c)) \(relation) \(pick(others, &rng))"
        default: return "\(a(c)) \(relation) \(pick(others, &rng)), \(pick(P.lights, &rng))"
        }
    }

    func sceneCaption(_ s: String, _ rng: inout RandomGenerator) -> String {
        let P = TemplatePhrases.self
        switch rng.int(below: 4) {
        case 0: return "\(pick(P.shots, &rng)) of \(a(pick(P.sceneAdjectives, &rng) + " " + s)) \(pick(P.sceneTimes, &rng))"
        case 1: return "\(a(pick(P.sceneAdjectives, &rng) + " " + s)) \(pick(P.sceneDetails, &rng)), \(pick(P.lights, &rng))"
        case 2: return "\(a(s)) \(pick(P.sceneTimes, &rng)), \(pick(P.sceneDetails, &rng))"
        default: return "\(pick(P.shots, &rng)) of \(a(s)), \(pick(P.sceneDetails, &rng))"
        }
    }

    func textureCaption(_ t: String, _ rng: inout RandomGenerator) -> String {
        let P = TemplatePhrases.self
        switch rng.int(below: 3) {
        case 0: return "a close-up of \(a(t + " " + pick(P.materials, &rng))) surface, \(pick(P.lights, &rng))"
        case 1: return "\(a(t)) pattern on \(a(pick(P.materials, &rng) + " " + pick(P.textureThings, &rng)))"
        default: return "\(a(pick(P.textureThings, &rng))) with \(a(t)) texture, seen up close \(pick(P.lights, &rng))"
        }
    }

    func environments(for concept: String, _ rng: inout RandomGenerator) -> [String] {
        let tokens = Set(concept.lowercased().split(whereSeparator: { !$0.isLetter && $0 != "-" }).map(String.init))
        let lower = concept.lowercased()
        func matches(_ k: String) -> Bool {
            if k.contains(" ") { return lower.contains(k) }
            return tokens.contains { $0 == k || $0 == k + "s" || $0 == k + "es" || (k.count >= 5 && $0.hasSuffix(k)) }
        }
        var pool = TemplatePhrases.defaultEnvironments
        for family in TemplatePhrases.environmentFamilies where family.keywords.contains(where: matches) {
            pool = family.environments
            break
        }
        let k = min(5, pool.count)
        return rng.sample(pool.count, count: k).map { pool[$0] }
    }
}
