import Foundation
import SynCaption

/// Caption synthesis throughput: prompts built per second (paper mixing tree over the built-in
/// lists) and captions per second end to end (template backend, filters, dedup, JSONL + checkpoints).
func captionBenchmarks() async throws -> [BenchResult] {
    let tree = try MixingTree.paper()
    let planner = CaptionPlanner(tree: tree, seed: 0)
    let promptCount = 50_000
    var checksum = 0
    var start = Date()
    for i in 0..<promptCount { checksum &+= planner.plan(index: i).prompt.utf8.count }
    let promptRate = Double(promptCount) / Date().timeIntervalSince(start)
    if checksum == 0 { print("unexpected empty prompts") }

    let dir = NSTemporaryDirectory() + "synclr-caption-bench-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let captionCount = 20_000
    let job = CaptionJob(planner: planner, generator: TemplateGenerator(), count: captionCount,
                         output: dir + "/captions.jsonl", batchSize: 256)
    start = Date()
    let result = try await job.run()
    let captionRate = Double(result.stats.captions) / Date().timeIntervalSince(start)
    return [
        BenchResult(name: "caption_prompts_built", unit: "prompts/s", synclr: promptRate, pytorch: nil,
                    higherIsBetter: true),
        BenchResult(name: "captions_template_e2e", unit: "captions/s", synclr: captionRate, pytorch: nil,
                    higherIsBetter: true),
    ]
}
