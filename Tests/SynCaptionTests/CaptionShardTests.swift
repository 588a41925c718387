import Foundation
import Testing
import SynTensor
@testable import SynCaption

/// Counts the prompts it is asked for, answering as `TemplateGenerator` does.
final class CountingGenerator: TextGenerator, @unchecked Sendable {
    let name = TemplateGenerator().name
    private let lock = NSLock()
    private var prompts = 0
    /// Prompts generated so far.
    var generated: Int { lock.withLock { prompts } }

    func generate(_ requests: [GenerationRequest], options: GenerationOptions) async throws -> [String] {
        lock.withLock { prompts += requests.count }
        return try await TemplateGenerator().generate(requests, options: options)
    }
}

@Suite struct CaptionShardTests {
    func job(_ out: String, count: Int = 150, batch: Int = 8, seed: UInt64 = 5, generator: any TextGenerator = TemplateGenerator()) -> CaptionJob {
        CaptionJob(planner: CaptionPlanner(tree: smallTree(), seed: seed), generator: generator, count: count, output: out, batchSize: batch)
    }

    /// Shards 0 and 1 of 3 write their completions (shard 1 killed mid-write, then resumed), shard 2
    /// never runs: the one-process merge takes the shards' completions, generates exactly shard 2's
    /// batches itself, and writes the file one process writes.
    @Test func independentShardsMergeIntoTheOneProcessFile() async throws {
        let dir = temporaryDirectory()
        let reference = try await job(dir + "/ref.jsonl").run()
        #expect(reference.stats.totalRejected > 0, "the small concept list should produce duplicates")

        let out = dir + "/c.jsonl"
        let s0 = try await job(out).runShard(index: 0, of: 3)
        #expect(s0.captions == s0.target && s0.attempts % 8 == 0)
        let s1 = try await job(out).runShard(index: 1, of: 3)
        let shardFile = ShardCompletions.path(for: out, index: 1, count: 3)
        write(contents(shardFile) + #"{"first":9999,"completions":["torn"#, to: shardFile)
        let again = try await job(out).runShard(index: 1, of: 3)
        #expect(again.attempts == s1.attempts && again.captions == s1.captions)
        #expect(!contents(shardFile).contains("torn"))

        let counting = CountingGenerator()
        let merged = try await job(out, generator: counting).run()
        #expect(contents(out) == contents(dir + "/ref.jsonl"))
        #expect(merged.stats == reference.stats)
        let missing = (0..<(reference.stats.next + 7) / 8).filter { $0 % 3 == 2 }.count * 8
        #expect(counting.generated == missing, "the merge should generate only shard 2's batches")
        #expect(merged.fromShards > 0)
        #expect(!Files.exists(ShardCompletions.directory(for: out)))
    }

    /// A shard file of another job (here another seed) is refused by name, not mixed in.
    @Test func shardFileOfAnotherJobIsRefused() async throws {
        let out = temporaryDirectory() + "/c.jsonl"
        _ = try await job(out, seed: 5).runShard(index: 0, of: 2)
        do {
            _ = try await job(out, seed: 6).run()
            Issue.record("expected a job mismatch")
        } catch let error as CaptionError {
            #expect("\(error)".contains("0-of-2.jsonl") && "\(error)".contains("seed"), "\(error)")
        }
    }

    /// The collective run over a one-process communicator is the plain run.
    @Test func collectiveRunOfOneProcessIsThePlainRun() async throws {
        let dir = temporaryDirectory()
        let a = try await job(dir + "/a.jsonl").run()
        let b = try await job(dir + "/b.jsonl").run(communicator: SingleProcessCommunicator())
        #expect(contents(dir + "/a.jsonl") == contents(dir + "/b.jsonl"))
        #expect(a.stats == b.stats)
    }

    /// `CaptionsJobConfiguration.run` refuses a shard that is not i/n with 0 <= i < n.
    @Test func invalidShardIsRefused() async throws {
        var config = CaptionsJobConfiguration(output: temporaryDirectory() + "/c.jsonl")
        config.shard = CaptionShard(index: 2, count: 2)
        await #expect(throws: CaptionError.self) { _ = try await config.run(job(config.output)) }
    }
}
