import ArgumentParser
import Foundation
import SynCaption

/// `synclr llm`: one completion from the native language model, for trying a model by hand.
struct LLM: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "llm",
        abstract: "Complete a prompt with the native GGUF language model; prints only the completion.",
        discussion: """
        The model is --model, else $\(LlamaModelLocation.environmentVariable), else the installed default \
        (\(LlamaModelLocation.defaultPath); `make setup` or Scripts/setup/install_models.sh installs it).
        """
    )

    @Option(help: "Prompt text (completion style unless --chat).")
    var prompt: String

    @Option(help: "GGUF model file.")
    var model: String?

    @Option(name: .customLong("max-tokens"), help: "Most new tokens.")
    var maxTokens: Int = 64

    @Option(help: "Sampling temperature (0: greedy).")
    var temperature: Float = 0.8

    @Option(name: .customLong("top-p"), help: "Nucleus sampling mass (1 disables).")
    var topP: Float = 0.9

    @Option(name: .customLong("top-k"), help: "Keep the k most likely tokens (0 disables).")
    var topK: Int = 0

    @Option(name: .customLong("repetition-penalty"), help: "Penalty for tokens already in the context (1 disables).")
    var repetitionPenalty: Float = 1

    @Option(help: "Stop before this string (repeatable).")
    var stop: [String] = []

    @Option(help: "Seed for sampling.")
    var seed: UInt64 = 0

    @Flag(help: "Wrap the prompt in the model's chat template as the user turn.")
    var chat = false

    @Option(help: "System turn for --chat (default: the template's own).")
    var system: String?

    @Flag(help: "Print token counts and speed on standard error.")
    var verbose = false

    func validate() throws {
        if maxTokens < 0 { throw ValidationError("--max-tokens must be >= 0") }
        if temperature < 0 { throw ValidationError("--temperature must be >= 0") }
        if !(topP > 0 && topP <= 1) { throw ValidationError("--top-p must be in (0, 1]") }
        if topK < 0 { throw ValidationError("--top-k must be >= 0") }
        if repetitionPenalty <= 0 { throw ValidationError("--repetition-penalty must be positive") }
        if system != nil && !chat { throw ValidationError("--system needs --chat") }
    }

    func run() async throws {
        let path = LlamaModelLocation.resolve(model)
        let generator: LlamaGenerator
        do {
            let style: PromptStyle = chat ? .chat(system: system) : .completion
            generator = try LlamaGenerator(path: path, config: LlamaGeneratorConfig(promptStyle: style, maxBatch: 1))
        } catch let error as LlamaError {
            Output.note("error: \(error)")
            throw ExitCode.failure
        }
        let options = GenerationOptions(maxTokens: maxTokens, temperature: temperature, topP: topP, topK: topK,
                                        repetitionPenalty: repetitionPenalty, stop: stop)
        let ids = try generator.promptTokens(prompt)
        let result = try generator.complete(prompts: [ids], seeds: [seed], options: options)
        print(result.texts[0])
        if verbose {
            let s = result.stats
            let line = String(format: "llm: %d prompt tokens (%.0f tok/s), %d new tokens (%.1f tok/s)\n",
                              s.promptTokens, Double(s.promptTokens) / max(s.prefillSeconds, 1e-9),
                              s.generatedTokens, Double(max(s.generatedTokens - 1, 0)) / max(s.decodeSeconds, 1e-9))
            FileHandle.standardError.write(Data(line.utf8))
        }
    }
}
