/// Why a language model could not be loaded or run.
public enum LlamaError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No model file at the expected place.
    case modelMissing(path: String)
    /// The GGUF file describes something this runtime does not implement.
    case unsupportedModel(path: String, reason: String)
    /// A required tensor or setting is missing or has the wrong shape.
    case invalidModel(path: String, reason: String)
    /// The tokenizer metadata is missing or inconsistent.
    case invalidTokenizer(path: String, reason: String)
    /// A prompt plus its completion do not fit the model's context.
    case contextOverflow(promptTokens: Int, maxTokens: Int, contextLength: Int)
    /// An argument out of range.
    case invalidArgument(String)

    /// A readable sentence saying what is wrong and what to do.
    public var description: String {
        switch self {
        case let .modelMissing(path):
            return "no language model at \(path): run `make setup` (or Scripts/setup/install_models.sh) to install SmolLM2-135M-Instruct, "
                + "or set `model` (or SYNCLR_LLM_MODEL) to a GGUF file"
        case let .unsupportedModel(path, reason): return "\(path): unsupported model: \(reason)"
        case let .invalidModel(path, reason): return "\(path): invalid model: \(reason)"
        case let .invalidTokenizer(path, reason): return "\(path): invalid tokenizer: \(reason)"
        case let .contextOverflow(prompt, maxTokens, context):
            return "prompt of \(prompt) tokens plus \(maxTokens) new tokens exceeds the model's context of \(context) tokens"
        case let .invalidArgument(message): return message
        }
    }
}
