import Foundation
import Testing
import SynTensor
@testable import SynCaption

/// The reference outputs written by Scripts/fixtures/fixtures_llm.py (transformers on the same GGUF file).
struct LLMReference {
    struct CorpusEntry {
        var text: String
        var parseSpecial: Bool
        var ids: [Int32]
        var decoded: String
    }

    struct Prompt {
        var text: String
        var ids: [Int32]
        var topIDs: [Int]
        var topLogits: [Float]
        var fixedIDs: [Int]
        var fixedLogits: [Float]
        var greedy: [Int32]
    }

    var corpus: [CorpusEntry] = []
    var prompts: [Prompt] = []

    static func load() throws -> LLMReference {
        guard let url = Bundle.module.url(forResource: "llm_reference", withExtension: "json", subdirectory: "Fixtures") else {
            throw LLMTestError("fixture llm_reference.json not found in Bundle.module/Fixtures")
        }
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        var ref = LLMReference()
        func ints(_ v: Any?) -> [Int] { (v as? [NSNumber] ?? []).map(\.intValue) }
        func floats(_ v: Any?) -> [Float] { (v as? [NSNumber] ?? []).map(\.floatValue) }
        for e in json["corpus"] as? [[String: Any]] ?? [] {
            ref.corpus.append(CorpusEntry(text: e["text"] as? String ?? "", parseSpecial: e["parse_special"] as? Bool ?? false,
                                          ids: ints(e["ids"]).map(Int32.init), decoded: e["decoded"] as? String ?? ""))
        }
        for p in json["prompts"] as? [[String: Any]] ?? [] {
            ref.prompts.append(Prompt(text: p["text"] as? String ?? "", ids: ints(p["ids"]).map(Int32.init),
                                      topIDs: ints(p["top_ids"]), topLogits: floats(p["top_logits"]),
                                      fixedIDs: ints(p["fixed_ids"]), fixedLogits: floats(p["fixed_logits"]),
                                      greedy: ints(p["greedy"]).map(Int32.init)))
        }
        return ref
    }
}

struct LLMTestError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// The installed SmolLM2 model, loaded once; a clear failure when it is not installed.
enum InstalledModel {
    static let generator: Result<LlamaGenerator, any Error> = Result {
        let path = LlamaModelLocation.resolve()
        if !FileManager.default.fileExists(atPath: path) {
            throw LLMTestError("the SmolLM2 model is not installed at \(path): run `make setup` (Scripts/setup/setup.sh --models) "
                               + "or Scripts/setup/install_models.sh, or set SYNCLR_LLM_MODEL")
        }
        return try LlamaGenerator(path: path)
    }

    static func get() throws -> LlamaGenerator { try generator.get() }

    /// The same file with every weight converted to Float32: the matrix products run in Float32
    /// (no quantized activations), the arithmetic transformers uses on the dequantized weights.
    static let float32Model: Result<LlamaModel, any Error> = Result {
        try LlamaModel(file: generator.get().model.file, weightFormat: .float32)
    }
}

@Suite struct PreTokenizerTests {
    @Test func gpt2PatternSplits() {
        let p = PreTokenizer.gpt2
        #expect(p.split("Hello world") == ["Hello", " world"])
        #expect(p.split("a  b") == ["a", " ", " b"])
        #expect(p.split("don't STOP we're") == ["don", "'t", " STOP", " we", "'re"])
        #expect(p.split("x\n\n  y") == ["x", "\n\n ", " y"])
        #expect(p.split("end   ") == ["end", "   "])
        #expect(p.split("a 123, b!!") == ["a", " 123", ",", " b", "!!"])
        #expect(p.split("café 東京") == ["café", " 東京"])
        #expect(p.split("") == [])
    }

    @Test func digitsAreIsolatedFirst() {
        let p = PreTokenizer.digits
        #expect(p.split("a 123") == ["a", " ", "1", "2", "3"])
        #expect(p.split("x²+½") == ["x", "²", "+", "½"])
        #expect(p.split("🙂  1") == ["🙂", "  ", "1"])
        #expect(PreTokenizer(ggmlName: "smollm") == .digits && PreTokenizer(ggmlName: "gpt2") == .gpt2)
        #expect(PreTokenizer(ggmlName: "llama-bpe") == nil)
    }

    @Test func chatTemplateIsRecognized() {
        let jinja = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nBe brief.<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
        let t = ChatTemplate(jinja: jinja)
        #expect(t == .chatML(defaultSystem: "Be brief."))
        #expect(t?.render([ChatMessage(role: "user", content: "Hi")])
                == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
        #expect(t?.render([ChatMessage(role: "system", content: "S"), ChatMessage(role: "user", content: "Hi")], addGenerationPrompt: false)
                == "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n")
        #expect(ChatTemplate(jinja: "{{ bos_token }}[INST]") == nil)
    }
}

@Suite struct SamplerTests {
    @Test func greedyAndDegenerateSettingsPickTheArgmax() {
        var logits: [Float] = [0.1, 2.5, -1, 2.5, 0.3]
        var rng = RandomGenerator(seed: 1)
        let greedy = logits.withUnsafeMutableBufferPointer { Sampler(temperature: 0).sample($0, context: [], generator: &rng) }
        #expect(greedy == 1)
        for s in [Sampler(temperature: 1, topK: 1), Sampler(temperature: 0.7, topP: 1e-6)] {
            for seed in 0..<20 {
                logits = [0.1, 2.5, -1, 2.4, 0.3]
                var r = RandomGenerator(seed: UInt64(seed))
                #expect(logits.withUnsafeMutableBufferPointer { s.sample($0, context: [], generator: &r) } == 1)
            }
        }
    }

    @Test func repetitionPenaltyAndDeterminism() {
        var logits: [Float] = [2, 1.9, 0]
        var rng = RandomGenerator(seed: 3)
        let t = logits.withUnsafeMutableBufferPointer { Sampler(temperature: 0, repetitionPenalty: 1.5).sample($0, context: [0], generator: &rng) }
        #expect(t == 1)
        #expect(logits[0] == 2 / 1.5)
        func draws(_ seed: UInt64) -> [Int32] {
            var r = RandomGenerator(seed: seed)
            return (0..<200).map { _ in
                var l: [Float] = [1, 1, 1, 1, 0.5, 3]
                return l.withUnsafeMutableBufferPointer { Sampler(temperature: 1, topP: 0.95).sample($0, context: [], generator: &r) }
            }
        }
        #expect(draws(7) == draws(7))
        #expect(draws(7) != draws(8))
        // With top-p 0.5 only token 5 (p ~ 0.7) is in the nucleus.
        var r = RandomGenerator(seed: 0)
        for _ in 0..<50 {
            var l: [Float] = [1, 1, 1, 1, 0.5, 3]
            #expect(l.withUnsafeMutableBufferPointer { Sampler(temperature: 1, topP: 0.5).sample($0, context: [], generator: &r) } == 5)
        }
    }
}

/// Parity with transformers and behaviour of the real SmolLM2-135M-Instruct file.
@Suite(.serialized) struct SmolLM2Tests {
    @Test func missingModelIsAClearError() {
        let text = String(describing: LlamaError.modelMissing(path: "/nowhere/model.gguf"))
        #expect(text.contains("/nowhere/model.gguf") && text.contains("make setup") && text.contains("SYNCLR_LLM_MODEL"))
        #expect(throws: LlamaError.modelMissing(path: "/nowhere/model.gguf")) { _ = try LlamaGenerator(path: "/nowhere/model.gguf") }
    }

    @Test func tokenizerMatchesReference() throws {
        let g = try InstalledModel.get()
        let ref = try LLMReference.load()
        #expect(ref.corpus.count >= 15)
        for e in ref.corpus {
            #expect(g.tokenizer.encode(e.text, parseSpecial: e.parseSpecial) == e.ids, "\(e.text.debugDescription)")
            #expect(g.tokenizer.decode(e.ids) == e.decoded, "\(e.text.debugDescription)")
        }
    }

    @Test func utf8RoundTrips() throws {
        let t = try InstalledModel.get().tokenizer
        var samples = ["", " ", "\n\n\t ", "Ünïcödé façade", "日本語のテキスト", "👩‍👩‍👧‍👦🇫🇷 ok", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟙𝟚𝟛", "a\u{0301}\u{0308}",
                       "<|im_start|> is plain text here", "mixed 12345 and ٣٤٥ and ²"]
        var rng = RandomGenerator(seed: 11)
        for _ in 0..<200 {
            var s = String.UnicodeScalarView()
            for _ in 0..<rng.int(below: 12) {
                // Code points from ASCII (no C0 controls) up to the emoji planes (the vocabulary has no tokens
                // for a few control bytes and for lead bytes of planes above 3).
                let ranges: [ClosedRange<UInt32>] = [0x20...0x7E, 0xA0...0x2FF, 0x370...0x52F, 0x3040...0x30FF, 0x4E00...0x9FFF, 0x1F300...0x1FAFF]
                let r = ranges[rng.int(below: ranges.count)]
                if let u = Unicode.Scalar(r.lowerBound + UInt32(rng.int(below: Int(r.upperBound - r.lowerBound + 1)))) { s.append(u) }
                if rng.int(below: 4) == 0 { s.append(" ") }
            }
            samples.append(String(s))
        }
        for s in samples {
            #expect(t.decode(t.encode(s)) == s, "\(s.debugDescription)")
        }
    }

    /// The largest |logit difference| from transformers over the fixture's listed tokens, checking
    /// on the way that the argmax and the reference's top 10 agree.
    func logitDeviation(_ model: LlamaModel, _ ref: LLMReference) -> Float {
        var worst: Float = 0
        for p in ref.prompts {
            let cache = LlamaKVCache(config: model.config, capacity: p.ids.count)
            let logits = model.forward(tokens: p.ids, positions: Array(0..<p.ids.count), caches: [cache],
                                       cacheIndex: [Int](repeating: 0, count: p.ids.count), logitRows: [p.ids.count - 1])
            var ours = logits.enumerated().map { ($0.element, $0.offset) }
            ours.sort { $0.0 > $1.0 }
            #expect(ours[0].1 == p.topIDs[0], "argmax differs for \(p.text.prefix(30).debugDescription)")
            for (id, value) in zip(p.topIDs + p.fixedIDs, p.topLogits + p.fixedLogits) {
                worst = max(worst, abs(logits[id] - value))
            }
            // The reference's top 10 are our top 10 (allowing near-ties at the edge).
            let ourTop = Set(ours.prefix(12).map(\.1))
            #expect(p.topIDs.prefix(10).allSatisfy(ourTop.contains), "top tokens differ for \(p.text.prefix(30).debugDescription)")
        }
        return worst
    }

    /// 32 argmax steps through `model` (no stop token), as the reference script does.
    func greedy(_ model: LlamaModel, _ p: LLMReference.Prompt) -> [Int32] {
        let cache = LlamaKVCache(config: model.config, capacity: p.ids.count + 32)
        var logits = model.forward(tokens: p.ids, positions: Array(0..<p.ids.count), caches: [cache],
                                   cacheIndex: [Int](repeating: 0, count: p.ids.count), logitRows: [p.ids.count - 1])
        var out: [Int32] = []
        for step in 0..<32 {
            let t = Int32(logits.withUnsafeBufferPointer { Sampler.argmax($0) })
            out.append(t)
            if step < 31 {
                logits = model.forward(tokens: [t], positions: [p.ids.count + step], caches: [cache], cacheIndex: [0], logitRows: [0])
            }
        }
        return out
    }

    /// Float32 weights: the products are Float32 as in transformers, so the logits agree closely.
    @Test func float32LogitsMatchTransformers() throws {
        let worst = logitDeviation(try InstalledModel.float32Model.get(), try LLMReference.load())
        print("llm parity (float32 weights): largest |logit difference| vs transformers = \(worst)")
        #expect(worst < LLMTolerance.logits, "largest logit difference \(worst)")
    }

    /// Native (quantized) weights multiply 8-bit quantized activations, as llama.cpp does: the
    /// logits move by about as much as llama.cpp's do (LLMTolerance.quantizedLogits).
    @Test func logitsMatchTransformers() throws {
        let worst = logitDeviation(try InstalledModel.get().model, try LLMReference.load())
        print("llm parity (native weights): largest |logit difference| vs transformers = \(worst)")
        #expect(worst < LLMTolerance.quantizedLogits, "largest logit difference \(worst)")
    }

    @Test func greedyDecodingMatchesTransformers() throws {
        let model = try InstalledModel.float32Model.get()
        for p in try LLMReference.load().prompts {
            #expect(greedy(model, p) == p.greedy, "\(p.text.prefix(30).debugDescription)")
        }
    }

    /// With quantized activations greedy decoding leaves transformers' path after a few tokens, as
    /// llama.cpp's does (LLMTolerance.quantizedGreedyPrefix); the generator at temperature 0 follows
    /// the model's own greedy path up to the first stop token.
    @Test func quantizedGreedyDecoding() throws {
        let g = try InstalledModel.get()
        for p in try LLMReference.load().prompts {
            let out = greedy(g.model, p)
            let agree = zip(out, p.greedy).prefix { $0 == $1 }.count
            #expect(agree >= LLMTolerance.quantizedGreedyPrefix, "\(p.text.prefix(30).debugDescription): \(g.tokenizer.decode(out).debugDescription)")
            let r = try g.complete(prompts: [p.ids], seeds: [0], options: GenerationOptions(maxTokens: 32, temperature: 0, stop: []))
            let stopAt = out.firstIndex { g.tokenizer.stopTokens.contains($0) } ?? out.count
            #expect(r.tokens[0] == Array(out[..<stopAt]))
        }
    }

    @Test func completionsDoNotDependOnBatching() throws {
        let g = try InstalledModel.get()
        let prompts = ["Generate an image description with an object category:\nred fox => a red fox in the snow\nteapot => a teapot on a table\nlighthouse => a lighthouse on a cliff\ngoldfish =>",
                       "The best way to cook rice is", "Once upon a time", "A list of fruits: apple, banana,"]
        let ids = try prompts.map { try g.promptTokens($0) }
        let options = GenerationOptions(maxTokens: 24, temperature: 0.8, topP: 0.9, stop: ["\n"])
        let seeds: [UInt64] = [5, 6, 7, 8]
        let together = try g.complete(prompts: ids, seeds: seeds, options: options)
        for i in 0..<prompts.count {
            let alone = try g.complete(prompts: [ids[i]], seeds: [seeds[i]], options: options)
            #expect(alone.texts[0] == together.texts[i])
            #expect(alone.tokens[0] == together.tokens[i])
        }
        let again = try g.complete(prompts: ids.reversed(), seeds: seeds.reversed(), options: options)
        #expect(again.texts == together.texts.reversed())
        #expect(!together.texts[0].contains("\n"))
        let other = try g.complete(prompts: ids, seeds: seeds.map { $0 + 100 }, options: options)
        #expect(other.texts != together.texts)
    }
}

/// Tolerances of the parity tests.
enum LLMTolerance {
    /// Largest absolute difference of next-token logits with Float32 weights (values span about
    /// -10...30; measured: 3.1e-5).
    static let logits: Float = 1e-3
    /// The same with the file's quantized weights and 8-bit activations. llama.cpp (the build vendored
    /// by llama-cpp-python 0.3.36) on the same file and prompts deviates by 0.50 (Docs/benchmarks.md);
    /// measured here: 0.64.
    static let quantizedLogits: Float = 1.0
    /// Greedy tokens that agree with transformers' before the paths part. llama.cpp's agree for 5, 13
    /// and 4 tokens of the three prompts; ours too (and with llama.cpp's own for 14, 27 and 32).
    static let quantizedGreedyPrefix = 4
}
