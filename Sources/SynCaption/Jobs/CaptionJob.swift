import Foundation
import SynTensor

/// Progress of a running caption job.
public struct CaptionJobProgress: Sendable {
    /// Captions accepted so far (including those of earlier runs).
    public var captions: Int
    /// Captions wanted.
    public var target: Int
    /// Captions already present when this run started.
    public var resumedFrom: Int
    /// Attempts consumed so far.
    public var attempts: Int
    /// Rejections so far.
    public var rejected: Int
    /// Seconds since this run started.
    public var elapsed: Double

    /// Captions per second in this run.
    public var rate: Double { elapsed > 0 ? Double(captions - resumedFrom) / elapsed : 0 }
    /// Estimated seconds left, if a rate is known.
    public var eta: Double? { rate > 0 ? Double(target - captions) / rate : nil }
}

/// What a finished `CaptionJob.run` reports.
public struct CaptionJobResult: Sendable {
    /// Final counters.
    public var stats: CaptionJobStats
    /// Captions that were already there when this run started.
    public var resumedFrom: Int
    /// The output was already complete; nothing was generated.
    public var alreadyComplete: Bool
    /// The output JSONL path.
    public var output: String
}

/// Generates `count` filtered, deduplicated captions into a JSONL file, resumably.
///
/// Attempt i is planned from (seed, i) alone and completions are processed in attempt order, so
/// the output depends only on the arguments (given a deterministic generator): not on batch size,
/// concurrency, or where earlier runs were interrupted. Rerunning with a larger count extends a
/// finished file with exactly the lines a single longer run would have produced.
public struct CaptionJob: Sendable {
    /// Plans prompts.
    public var planner: CaptionPlanner
    /// Writes completions.
    public var generator: any TextGenerator
    /// Sampling options passed to the generator.
    public var options: GenerationOptions
    /// Quality filters.
    public var filter: CaptionFilter
    /// Captions wanted.
    public var count: Int
    /// Output JSONL path.
    public var output: String
    /// Attempts per generator call and per checkpoint.
    public var batchSize: Int
    /// Give up when this many attempts did not yield `count` captions (nil: max(10000, 50 x count)).
    public var maxAttempts: Int?

    /// A job writing `count` captions to `output`.
    public init(planner: CaptionPlanner, generator: any TextGenerator, options: GenerationOptions = GenerationOptions(),
                filter: CaptionFilter = CaptionFilter(), count: Int, output: String, batchSize: Int = 64, maxAttempts: Int? = nil) {
        self.planner = planner
        self.generator = generator
        self.options = options
        self.filter = filter
        self.count = count
        self.output = output
        self.batchSize = batchSize
        self.maxAttempts = maxAttempts
    }

    /// The configuration recorded in (and compared against) the job files.
    public var config: CaptionJobConfig {
        CaptionJobConfig(planner: planner, generator: generator.name, options: options, filter: filter)
    }

    /// Runs or resumes the job. `overwrite` discards earlier output; `stopAfterBatches` ends the run
    /// early without finishing (for tests that simulate an interruption).
    public func run(overwrite: Bool = false, stopAfterBatches: Int? = nil,
                    progress: (@Sendable (CaptionJobProgress) -> Void)? = nil) async throws -> CaptionJobResult {
        if count < 0 { throw CaptionError.invalidArgument("`count` must be >= 0") }
        if batchSize < 1 { throw CaptionError.invalidArgument("batch size must be >= 1") }
        // One writer per output: a second job on this file is refused, not interleaved.
        let lock = try OutputLock.file(URL(fileURLWithPath: output), job: "caption job")
        defer { lock.release() }
        let partial = PartialFile.path(for: output)
        let statsPath = CaptionJobSummaryFile.path(for: output)
        let config = self.config
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
                return CaptionJobResult(stats: done.stats, resumedFrom: count, alreadyComplete: true, output: output)
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

        let echoes = planner.normalizedExampleCaptions
        let resumedFrom = stats.captions
        let limit = maxAttempts ?? max(10_000, count.multipliedReportingOverflow(by: 50).overflow ? Int.max : count * 50)
        let start = Date()
        var batches = 0
        progress?(CaptionJobProgress(captions: stats.captions, target: count, resumedFrom: resumedFrom, attempts: stats.next,
                                     rejected: stats.totalRejected, elapsed: 0))
        while stats.captions < count {
            if stats.next >= limit {
                let detail = stats.rejected.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                throw CaptionError.tooManyRejections(accepted: stats.captions, wanted: count, attempts: stats.next, detail: "rejected: " + detail)
            }
            try Task.checkCancellation()
            let first = stats.next
            let plans = (first..<min(first + batchSize, limit)).map { planner.plan(index: $0) }
            let completions = try await generator.generate(plans.map(\.request), options: options)
            if completions.count != plans.count {
                throw CaptionError.generatorCountMismatch(name: generator.name, expected: plans.count, got: completions.count)
            }
            var chunk = ""
            for (plan, completion) in zip(plans, completions) {
                if stats.captions == count { break }
                stats.next = plan.index + 1
                let caption = PromptBuilder.firstLine(of: completion)
                let normalized = Deduplicator.normalize(caption)
                if let reason = filter.rejection(caption: caption, normalized: normalized, concept: plan.concept, echoes: echoes)
                    ?? dedup.check(caption, normalized: normalized) {
                    stats.reject(reason)
                    continue
                }
                let record = CaptionRecord(id: .number(stats.captions), caption: caption, concept: plan.concept, source: plan.source,
                                           mode: plan.mode, background: plan.background, relation: plan.relation,
                                           generator: generator.name, seed: plan.seed)
                chunk += record.jsonLine + "\n"
                stats.captions += 1
            }
            try file.append(chunk + PartialFile.checkpoint(stats))
            batches += 1
            progress?(CaptionJobProgress(captions: stats.captions, target: count, resumedFrom: resumedFrom, attempts: stats.next,
                                         rejected: stats.totalRejected, elapsed: Date().timeIntervalSince(start)))
            if let stop = stopAfterBatches, batches >= stop, stats.captions < count {
                return CaptionJobResult(stats: stats, resumedFrom: resumedFrom, alreadyComplete: false, output: output)
            }
        }
        file.sync()
        try PartialFile.finalize(path: partial, output: output + ".writing", expectedCaptions: stats.captions)
        try Files.writeAtomically(CaptionJobSummaryFile(config: config, stats: stats, blas: BLAS.runtime).jsonText, to: statsPath)
        try Files.rename(output + ".writing", to: output)
        Files.remove(partial)
        return CaptionJobResult(stats: stats, resumedFrom: resumedFrom, alreadyComplete: false, output: output)
    }
}
