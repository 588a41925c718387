/// One in-context example line: `{concept} => {caption}` or `{concept}, {extra} => {caption}`.
public struct CaptionExample: Sendable, Hashable, Codable {
    /// The concept on the left of `=>`.
    public var concept: String
    /// Background or relation after the comma (nil for concept->caption examples).
    public var extra: String?
    /// The caption on the right of `=>`.
    public var caption: String

    /// A concept->caption example.
    public init(_ concept: String, _ caption: String) {
        self.concept = concept
        self.extra = nil
        self.caption = caption
    }

    /// A concept+background or concept+relation example.
    public init(_ concept: String, _ extra: String, _ caption: String) {
        self.concept = concept
        self.extra = extra
        self.caption = caption
    }

    /// The example as a prompt line.
    public var line: String { "\(PromptBuilder.queryPrefix(concept: concept, extra: extra)) \(caption)" }
}

/// One in-context example for the backgrounds command: a concept and places it is seen in.
public struct EnvironmentExample: Sendable, Hashable, Codable {
    /// The object.
    public var concept: String
    /// Plausible environments for it.
    public var environments: [String]

    /// An example for `concept`.
    public init(_ concept: String, _ environments: [String]) {
        self.concept = concept
        self.environments = environments
    }

    /// The example as a prompt line: `{concept} => env1; env2; ...`.
    public var line: String { "\(concept) => " + environments.joined(separator: "; ") }
}
