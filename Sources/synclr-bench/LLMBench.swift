import Foundation
import SynCaption
import SynTensor

/// The caption prompts of the LLM benchmark (Scripts/bench/llm_bench_prompts.py builds the same).
enum LLMBenchPrompts {
    static let header = "Generate an image description with an object category:"
    static let examples = [
        "red fox => a red fox trotting across a snowy meadow at dawn",
        "teapot => a porcelain teapot on a wooden table next to a cup of tea",
        "lighthouse => a white lighthouse on a rocky cliff under a stormy sky",
        "bicycle => a green bicycle leaning against a brick wall in a narrow alley",
        "owl => a barn owl perched on a fence post at dusk",
        "sailboat => a small sailboat gliding across a calm blue bay",
    ]
    static let concepts = [
        "goldfish", "tabby cat", "sneaker", "hot air balloon", "espresso machine", "zebra", "umbrella", "violin",
        "pizza", "tractor", "jellyfish", "backpack", "castle", "sunflower", "school bus", "penguin",
        "desk lamp", "strawberry", "canoe", "golden retriever", "wristwatch", "cactus", "fire truck", "butterfly",
        "grand piano", "lemon", "tent", "koala", "typewriter", "submarine", "pretzel", "snowman",
    ]

    /// `n` prompts: header, three rotating examples, `concept =>`.
    static func prompts(_ n: Int) -> [String] {
        (0..<n).map { i in
            let ex = (0..<3).map { examples[(i + $0) % examples.count] }
            return ([header] + ex + ["\(concepts[i % concepts.count]) =>"]).joined(separator: "\n")
        }
    }
}

/// Native LLM throughput beside transformers (Scripts/bench/bench_llm_torch.py), interleaved, medians:
/// prefill and decode tokens/s at batch 1 and 8, and captions/s for 32 caption prompts.
func llmBenchmarks(modelPath: String, repeats: Int, torchScript: String?, threads: Int, quick: Bool,
                   report: (BenchResult) -> Void) throws -> [BenchResult] {
    let generator = try LlamaGenerator(path: modelPath)
    let model = generator.model
    let promptLength = 128, decodeSteps = quick ? 8 : 32
    let peer = torchScript.flatMap { TorchPeer(script: $0, threads: threads) }
    let row = (0..<promptLength).map { Int32(($0 * 7919) % 40000 + 100) }

    /// A fresh cache per sequence and a prefill of `batch` copies of the prompt; returns caches and last-row logits.
    func prefill(_ batch: Int) -> ([LlamaKVCache], [Float]) {
        let caches = (0..<batch).map { _ in LlamaKVCache(config: model.config, capacity: promptLength + decodeSteps + 1) }
        var tokens: [Int32] = [], positions: [Int] = [], index: [Int] = [], logitRows: [Int] = []
        for b in 0..<batch {
            tokens += row
            positions += Array(0..<promptLength)
            index += [Int](repeating: b, count: promptLength)
            logitRows.append(tokens.count - 1)
        }
        return (caches, model.forward(tokens: tokens, positions: positions, caches: caches, cacheIndex: index, logitRows: logitRows))
    }

    struct Job {
        var name: String, unit: String, work: Double
        var run: () throws -> Double
    }
    var jobs: [Job] = []
    for batch in [1, 8] {
        jobs.append(Job(name: "llm_prefill_b\(batch)", unit: "tok/s", work: Double(batch * promptLength)) {
            let t = Date()
            _ = prefill(batch)
            return Date().timeIntervalSince(t)
        })
        jobs.append(Job(name: "llm_decode_b\(batch)", unit: "tok/s", work: Double(batch * decodeSteps)) {
            var (caches, logits) = prefill(batch)
            let vocab = model.config.vocabSize
            let t = Date()
            for step in 0..<decodeSteps {
                let next = (0..<batch).map { b in
                    Int32(logits[(b * vocab)..<((b + 1) * vocab)].withUnsafeBufferPointer { Sampler.argmax($0) })
                }
                logits = model.forward(tokens: next, positions: [Int](repeating: promptLength + step, count: batch),
                                       caches: caches, cacheIndex: Array(0..<batch), logitRows: Array(0..<batch))
            }
            caches.removeAll()
            return Date().timeIntervalSince(t)
        })
    }
    let captionPrompts = LLMBenchPrompts.prompts(32)
    jobs.append(Job(name: "llm_captions_b32", unit: "captions/s", work: 32) {
        let ids = try captionPrompts.map { try generator.promptTokens($0) }
        let t = Date()
        _ = try generator.complete(prompts: ids, seeds: (0..<32).map(UInt64.init), options: GenerationOptions())
        return Date().timeIntervalSince(t)
    })

    var results: [BenchResult] = []
    for job in jobs {
        _ = try job.run()
        let torchReady = peer?.setup(job.name) ?? false
        var ours: [Double] = [], theirs: [Double] = []
        for _ in 0..<repeats {
            ours.append(try job.run())
            if torchReady, let t = peer?.run(job.name) { theirs.append(t) }
        }
        let r = BenchResult(name: job.name, unit: job.unit, synclr: job.work / median(ours),
                            pytorch: theirs.isEmpty ? nil : job.work / median(theirs), higherIsBetter: true)
        report(r)
        results.append(r)
    }
    return results
}
