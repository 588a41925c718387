import Foundation
import SynTensor

/// The process that writes a caption job's files (the only process, or rank 0 under MPI): the
/// resumed counters and duplicate sets, and `OUT.partial`, committed one batch at a time.
final class CaptionJobWriter {
    /// `open`'s outcome.
    enum Opened {
        /// The output already holds `count` captions of this job.
        case complete(CaptionJobResult)
        /// Ready to commit batches.
        case writing(CaptionJobWriter)
    }

    let job: CaptionJob
    let config: CaptionJobConfig
    private(set) var stats: CaptionJobStats
    private var dedup: Deduplicator
    private let file: AppendFile
    let resumedFrom: Int
    private let echoes: Set<String>

    private init(job: CaptionJob, config: CaptionJobConfig, stats: CaptionJobStats, dedup: Deduplicator, file: AppendFile) {
        self.job = job
        self.config = config
        self.stats = stats
        self.dedup = dedup
        self.file = file
        resumedFrom = stats.captions
        echoes = job.planner.normalizedExampleCaptions
    }

    /// Starts, resumes or extends the job's output (`overwrite` discards earlier output first).
    static func open(_ job: CaptionJob, overwrite: Bool) throws -> Opened {
        let count = job.count, output = job.output
        if count < 0 { throw CaptionError.invalidArgument("`count` must be >= 0") }
        if job.batchSize < 1 { throw CaptionError.invalidArgument("batch size must be >= 1") }
        let partial = PartialFile.path(for: output)
        let statsPath = CaptionJobSummaryFile.path(for: output)
        let config = job.config
        if overwrite {
            Files.remove(partial)
            Files.remove(output)
            Files.remove(statsPath)
        }
        var stats = CaptionJobStats()
        var dedup = Deduplicator()
        let file: AppendFile
        if Files.exists(partial) {
            let r = try PartialFile.recover(path: partial)
            let diff = config.differences(from: r.config)
            if !diff.isEmpty { throw CaptionError.jobMismatch(path: partial, differences: diff) }
            if r.stats.captions > count {
                throw CaptionError.outputExists(path: partial, reason: "already holds \(r.stats.captions) captions, more than `count` \(count)")
            }
            stats = r.stats
            dedup = r.dedup
            file = try AppendFile(path: partial, truncateTo: r.committedLength)
        } else if Files.exists(output) {
            guard let done = CaptionJobSummaryFile.load(for: output) else {
                throw CaptionError.outputExists(path: output, reason: "exists and has no \(statsPath) from a synclr caption job")
            }
            let diff = config.differences(from: done.config)
            if !diff.isEmpty { throw CaptionError.jobMismatch(path: output, differences: diff) }
            if done.stats.captions == count {
                return .complete(CaptionJobResult(stats: done.stats, resumedFrom: count, alreadyComplete: true, output: output))
            }
            if done.stats.captions > count {
                throw CaptionError.outputExists(path: output, reason: "already holds \(done.stats.captions) captions, more than `count` \(count)")
            }
            // Extend a finished file: rebuild a partial file from it and continue.
            try Files.writeAtomically(PartialFile.header(config), to: partial)
            file = try AppendFile(path: partial)
            var reader = try LineReader(path: output)
            var chunk = ""
            while let (line, complete) = reader.next(), complete {
                let text = String(decoding: line, as: UTF8.self)
                let record = try CaptionRecord.parse(line)
                _ = dedup.check(record.caption)
                chunk += text + "\n"
                if chunk.utf8.count > 1 << 20 { try file.append(chunk); chunk = "" }
            }
            reader.close()
            stats = done.stats
            try file.append(chunk + PartialFile.checkpoint(stats))
        } else {
            try Files.writeAtomically(PartialFile.header(config) + PartialFile.checkpoint(stats), to: partial)
            file = try AppendFile(path: partial)
        }
        return .writing(CaptionJobWriter(job: job, config: config, stats: stats, dedup: dedup, file: file))
    }

    /// Throws when the attempts are used up before `count` captions were accepted.
    func checkLimit(_ limit: Int) throws {
        guard stats.next >= limit else { return }
        let detail = stats.rejected.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        throw CaptionError.tooManyRejections(accepted: stats.captions, wanted: job.count, attempts: stats.next, detail: "rejected: " + detail)
    }

    /// Filters and deduplicates the completions of `plans` (consecutive attempts from `stats.next`)
    /// in attempt order, then appends the accepted captions and a checkpoint in one write.
    func commit(_ plans: [CaptionPlan], _ completions: [String]) throws {
        if completions.count != plans.count {
            throw CaptionError.generatorCountMismatch(name: job.generator.name, expected: plans.count, got: completions.count)
        }
        var chunk = ""
        for (plan, completion) in zip(plans, completions) {
            if stats.captions == job.count { break }
            stats.next = plan.index + 1
            let caption = PromptBuilder.firstLine(of: completion)
            let normalized = Deduplicator.normalize(caption)
            if let reason = job.filter.rejection(caption: caption, normalized: normalized, concept: plan.concept, echoes: echoes)
                ?? dedup.check(caption, normalized: normalized) {
                stats.reject(reason)
                continue
            }
            let record = CaptionRecord(id: .number(stats.captions), caption: caption, concept: plan.concept, source: plan.source,
                                       mode: plan.mode, background: plan.background, relation: plan.relation,
                                       generator: job.generator.name, seed: plan.seed)
            chunk += record.jsonLine + "\n"
            stats.captions += 1
        }
        try file.append(chunk + PartialFile.checkpoint(stats))
    }

    /// Calls `progress` with the current counters.
    func report(_ progress: (@Sendable (CaptionJobProgress) -> Void)?, start: Date) {
        progress?(CaptionJobProgress(captions: stats.captions, target: job.count, resumedFrom: resumedFrom, attempts: stats.next,
                                     rejected: stats.totalRejected, elapsed: Date().timeIntervalSince(start)))
    }

    /// The result of a run stopped before the end.
    func result(fromShards: Int) -> CaptionJobResult {
        var r = CaptionJobResult(stats: stats, resumedFrom: resumedFrom, alreadyComplete: false, output: job.output)
        r.fromShards = fromShards
        return r
    }

    /// Writes `OUT` and `OUT.stats.json` from the partial file and removes it.
    func finish() throws -> CaptionJobResult {
        let output = job.output
        file.sync()
        try PartialFile.finalize(path: PartialFile.path(for: output), output: output + ".writing", expectedCaptions: stats.captions)
        try Files.writeAtomically(CaptionJobSummaryFile(config: config, stats: stats, blas: BLAS.runtime).jsonText,
                                  to: CaptionJobSummaryFile.path(for: output))
        try Files.rename(output + ".writing", to: output)
        Files.remove(PartialFile.path(for: output))
        return CaptionJobResult(stats: stats, resumedFrom: resumedFrom, alreadyComplete: false, output: output)
    }
}

/// Completions written by independent shards (`CaptionJob.runShard`), one file per shard:
/// `OUT.shards/I-of-N.jsonl` holds the job header line, then one line per generated batch,
/// `{"first":F,"completions":[...]}` for attempts F, F+1, ... Each line is one write, so a torn
/// last line (a killed shard) is dropped on reading.
struct ShardCompletions {
    /// Attempt index -> completion.
    private(set) var completions: [Int: String] = [:]
    /// Shard files read.
    private(set) var files = 0

    /// One batch line of a shard file.
    struct Batch: Codable {
        var first: Int
        var completions: [String]
    }

    /// The folder of `output`'s shard files.
    static func directory(for output: String) -> String { output + ".shards" }

    /// Shard `index` of `count`'s file.
    static func path(for output: String, index: Int, count: Int) -> String {
        directory(for: output) + "/\(index)-of-\(count).jsonl"
    }

    /// The line recording one batch.
    static func line(first: Int, completions: [String]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(Batch(first: first, completions: completions)), as: UTF8.self) + "\n"
    }

    /// The batches of the shard file at `path`, checked against `config`, and the byte length of
    /// its complete lines.
    static func read(path: String, config: CaptionJobConfig) throws -> (batches: [Batch], committedLength: Int64) {
        var reader = try LineReader(path: path)
        defer { reader.close() }
        guard let first = reader.next(), first.complete,
              let recorded = PartialFile.decodeWrapped(first.line, prefix: PartialFile.headerPrefix, as: CaptionJobConfig.self) else {
            throw CaptionError.malformedLine(path: path, line: 1, reason: "not a synclr caption shard file (bad header)")
        }
        let diff = config.differences(from: recorded)
        if !diff.isEmpty { throw CaptionError.jobMismatch(path: path, differences: diff) }
        var batches: [Batch] = []
        var committed = reader.consumed
        var lineNumber = 1
        while let (line, complete) = reader.next(), complete {
            lineNumber += 1
            guard let batch = try? JSONDecoder().decode(Batch.self, from: line), batch.first >= 0 else {
                throw CaptionError.malformedLine(path: path, line: lineNumber, reason: "not a batch of completions")
            }
            batches.append(batch)
            committed = reader.consumed
        }
        return (batches, committed)
    }

    /// Every shard file of `output` (none when the folder does not exist), checked against `config`.
    static func load(output: String, config: CaptionJobConfig) throws -> ShardCompletions {
        var out = ShardCompletions()
        let dir = directory(for: output)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return out }
        for name in names.sorted() where name.hasSuffix(".jsonl") {
            for batch in try read(path: dir + "/" + name, config: config).batches {
                for (k, c) in batch.completions.enumerated() { out.completions[batch.first + k] = c }
            }
            out.files += 1
        }
        return out
    }

    /// The completions of attempts `indices` when the shards hold all of them, else nil (the
    /// batch is then generated whole, as one process would).
    func batch(_ indices: [Int]) -> [String]? {
        if completions.isEmpty || indices.isEmpty { return nil }
        var out: [String] = []
        out.reserveCapacity(indices.count)
        for i in indices {
            guard let c = completions[i] else { return nil }
            out.append(c)
        }
        return out
    }
}
