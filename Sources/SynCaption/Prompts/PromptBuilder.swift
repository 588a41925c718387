/// Lays out prompts exactly as the paper: a header line, three `=>` example lines, the query line.
public enum PromptBuilder {
    /// Header for concept->caption prompts about objects.
    public static let objectHeader = "Generate an image description with an object category:"
    /// Header for concept->caption prompts about scenes.
    public static let sceneHeader = "Generate an image description with an environment category:"
    /// Header for concept->caption prompts about textures.
    public static let textureHeader = "Generate an image description with a texture category:"
    /// Header for concept+background prompts.
    public static let backgroundHeader = "Generate an image description with an object category and an environment category:"
    /// Header for concept+relation prompts.
    public static let relationHeader = "Generate an image description with an object category and a relation:"
    /// Header for the backgrounds command's prompts.
    public static let environmentHeader = "List plausible environments in which an object category is typically seen:"
    /// All caption headers (used by the echo filter).
    public static let allHeaders = [objectHeader, sceneHeader, textureHeader, backgroundHeader, relationHeader, environmentHeader]

    /// The header for a prompt of `mode` about a `kind` concept.
    public static func header(mode: CaptionMode, kind: ConceptKind) -> String {
        switch mode {
        case .background: return backgroundHeader
        case .relation: return relationHeader
        case .concept:
            switch kind {
            case .object: return objectHeader
            case .scene: return sceneHeader
            case .texture: return textureHeader
            }
        }
    }

    /// `{concept} =>` or `{concept}, {extra} =>`.
    public static func queryPrefix(concept: String, extra: String?) -> String {
        if let extra { return "\(concept), \(extra) =>" }
        return "\(concept) =>"
    }

    /// The full prompt: header, one line per example, then the query (no trailing newline).
    public static func prompt(mode: CaptionMode, kind: ConceptKind, concept: String, extra: String?,
                              examples: [CaptionExample]) -> String {
        var lines = [header(mode: mode, kind: kind)]
        lines += examples.map(\.line)
        lines.append(queryPrefix(concept: concept, extra: extra))
        return lines.joined(separator: "\n")
    }

    /// The backgrounds command's prompt for `concept`.
    public static func environmentPrompt(concept: String, examples: [EnvironmentExample]) -> String {
        ([environmentHeader] + examples.map(\.line) + ["\(concept) =>"]).joined(separator: "\n")
    }

    /// A completion cut at its first newline, trimmed (the paper keeps only the first line).
    public static func firstLine(of completion: String) -> String {
        let scalars = completion.unicodeScalars
        let end = scalars.firstIndex(where: TextScan.isNewline) ?? scalars.endIndex
        return String(scalars[..<end]).trimmed()
    }
}
