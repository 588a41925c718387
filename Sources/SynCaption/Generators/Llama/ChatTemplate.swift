/// One chat turn.
public struct ChatMessage: Sendable, Hashable {
    /// `system`, `user` or `assistant`.
    public var role: String
    /// The turn's text.
    public var content: String

    /// A message of `role` with `content`.
    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

/// The chat format of an instruct model, recognized from its `tokenizer.chat_template` (a Jinja
/// template, which is not executed: the known formats are rendered natively).
public enum ChatTemplate: Sendable, Hashable {
    /// ChatML: `<|im_start|>{role}\n{content}<|im_end|>\n`; `defaultSystem` is inserted when the
    /// conversation does not start with a system turn (SmolLM2's template does this).
    case chatML(defaultSystem: String?)

    /// The format described by `template`, or nil when it is not a known one.
    public init?(jinja template: String) {
        guard template.contains("<|im_start|>") else { return nil }
        // SmolLM2: {% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\n...<|im_end|>\n' }}
        var system: String?
        let marker = "'<|im_start|>system\n"
        if template.contains("messages[0]['role'] != 'system'"), let start = template.range(of: marker),
           let end = template[start.upperBound...].range(of: "<|im_end|>") {
            system = String(template[start.upperBound..<end.lowerBound])
        }
        self = .chatML(defaultSystem: system)
    }

    /// The prompt text for `messages`, ending with the assistant header when `addGenerationPrompt`.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool = true) -> String {
        switch self {
        case let .chatML(defaultSystem):
            var out = ""
            if let defaultSystem, messages.first?.role != "system" {
                out += "<|im_start|>system\n\(defaultSystem)<|im_end|>\n"
            }
            for m in messages { out += "<|im_start|>\(m.role)\n\(m.content)<|im_end|>\n" }
            if addGenerationPrompt { out += "<|im_start|>assistant\n" }
            return out
        }
    }
}
