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
    /// Attempts whose completions came from independent shards' files (`CaptionJob.runShard`).
    public var fromShards: Int = 0
}

/// What an independent shard (`CaptionJob.runShard`) did.
public struct CaptionShardResult: Sendable {
    /// The shard's completions file, `OUT.shards/I-of-N.jsonl`.
    public var path: String
    /// Attempts whose completions the file holds.
    public var attempts: Int
    /// Captions among them that pass the filters and are unique within the shard.
    public var captions: Int
    /// The shard stops when `captions` reaches this share of the job.
    public var target: Int
    /// The job's output was already complete, so the shard did nothing.
    public var outputComplete: Bool
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

    /// The attempt limit: `maxAttempts`, else max(10000, 50 x count).
    var attemptLimit: Int {
        maxAttempts ?? max(10_000, count.multipliedReportingOverflow(by: 50).overflow ? Int.max : count * 50)
    }

    /// Runs or resumes the job. `overwrite` discards earlier output; `stopAfterBatches` ends the run
    /// early without finishing (for tests that simulate an interruption).
    ///
    /// Completions that independent shards left in `OUT.shards/` (`runShard`) are used instead of
    /// generating their attempts again, so this run merges the shards into the file one process
    /// writes; the folder is removed once the output is complete.
    public func run(overwrite: Bool = false, stopAfterBatches: Int? = nil,
                    progress: (@Sendable (CaptionJobProgress) -> Void)? = nil) async throws -> CaptionJobResult {
        // One writer per output: a second job on this file is refused, not interleaved.
        let lock = try OutputLock.file(URL(fileURLWithPath: output), job: "caption job")
        defer { lock.release() }
        let writer: CaptionJobWriter
        switch try CaptionJobWriter.open(self, overwrite: overwrite) {
        case .complete(let result): return result
        case .writing(let w): writer = w
        }
        let cache = try ShardCompletions.load(output: output, config: config)
        var fromShards = 0
        let limit = attemptLimit
        let start = Date()
        var batches = 0
        writer.report(progress, start: start)
        while writer.stats.captions < count {
            try writer.checkLimit(limit)
            try Task.checkCancellation()
            let first = writer.stats.next
            let plans = (first..<min(first + batchSize, limit)).map { planner.plan(index: $0) }
            let completions: [String]
            if let cached = cache.batch(plans.map(\.index)) {
                completions = cached
                fromShards += cached.count
            } else {
                completions = try await generator.generate(plans.map(\.request), options: options)
            }
            try writer.commit(plans, completions)
            batches += 1
            writer.report(progress, start: start)
            if let stop = stopAfterBatches, batches >= stop, writer.stats.captions < count {
                return writer.result(fromShards: fromShards)
            }
        }
        var result = try writer.finish()
        result.fromShards = fromShards
        if cache.files > 0 { Files.remove(ShardCompletions.directory(for: output)) }
        return result
    }

    /// Runs or resumes the job on every process of `communicator` at once (all must call it with the
    /// same job): in each round rank r generates batch r of the next `size` batches, the completions
    /// are gathered, and rank 0 alone filters them in attempt order and writes `OUT.partial` and
    /// `OUT`, so the files are byte-identical to one process's (given a deterministic generator).
    /// Only rank 0 reads or writes files; `progress` is called on rank 0.
    public func run(communicator comm: any Communicator, overwrite: Bool = false,
                    progress: (@Sendable (CaptionJobProgress) -> Void)? = nil) async throws -> CaptionJobResult {
        var fingerprint = Fingerprint()
        fingerprint.combine(config.json)
        fingerprint.combine(Int64(count))
        fingerprint.combine(Int64(batchSize))
        fingerprint.combine(Int64(attemptLimit))
        try comm.requireIdentical(fingerprint.value, what: "caption job configuration")
        let limit = attemptLimit
        // Rank 0 decides each round and broadcasts [status, next attempt]; the others follow.
        let proceed: Int64 = 0, finished: Int64 = 1, failed: Int64 = 2
        var writer: CaptionJobWriter?
        var completeResult: CaptionJobResult?
        var failure: Error?
        var lock: OutputLock? = nil
        defer { lock?.release() }
        if comm.isRoot {
            do {
                // Rank 0 alone writes the file, so it alone holds the file's lock.
                lock = try OutputLock.file(URL(fileURLWithPath: output), job: "caption job")
                switch try CaptionJobWriter.open(self, overwrite: overwrite) {
                case .complete(let r): completeResult = r
                case .writing(let w): writer = w
                }
            } catch { failure = error }
        }
        let start = Date()
        writer?.report(progress, start: start)
        while true {
            var state: [Int64] = [proceed, 0]
            if comm.isRoot {
                if failure == nil, let w = writer, w.stats.captions < count {
                    do { try w.checkLimit(limit) } catch { failure = error }
                }
                state = [failure != nil ? failed : (writer.map { $0.stats.captions >= count } ?? true) ? finished : proceed,
                         Int64(writer?.stats.next ?? 0)]
            }
            state.withUnsafeMutableBytes { comm.broadcast($0, root: 0) }
            if state[0] == failed {
                throw failure ?? DistributedError.rootFailed("the caption job stopped on rank 0 (see its message)")
            }
            if state[0] == finished { break }
            let next = Int(state[1])
            let batches = (0..<comm.size).map { r -> Range<Int> in
                let lo = min(limit, next + r * batchSize)
                return lo..<min(limit, lo + batchSize)
            }
            let mine = batches[comm.rank].map { planner.plan(index: $0) }
            let completions = mine.isEmpty ? [] : try await generator.generate(mine.map(\.request), options: options)
            if completions.count != mine.count {
                throw CaptionError.generatorCountMismatch(name: generator.name, expected: mine.count, got: completions.count)
            }
            let gathered = comm.allGather(Array(try JSONEncoder().encode(completions)))
            guard comm.isRoot, let w = writer else { continue }
            do {
                for (range, bytes) in zip(batches, gathered) where !range.isEmpty && w.stats.captions < count {
                    let batch = try JSONDecoder().decode([String].self, from: Data(bytes))
                    try w.commit(range.map { planner.plan(index: $0) }, batch)
                }
                w.report(progress, start: start)
            } catch { failure = error }
        }
        // Rank 0 finishes the files, then every rank returns rank 0's result.
        var result = try completeResult ?? writer.map { try $0.finish() }
        let shared = comm.broadcast(comm.isRoot ? Array(try JSONEncoder().encode(result.map(SharedResult.init))) : [])
        if result == nil { result = try JSONDecoder().decode(SharedResult.self, from: Data(shared)).result(output: output) }
        guard let result else { throw DistributedError.rootFailed("the caption job ended without a result") }
        return result
    }

    /// The part of a result rank 0 sends the other ranks.
    private struct SharedResult: Codable {
        var stats: CaptionJobStats
        var resumedFrom: Int
        var alreadyComplete: Bool
        init(_ r: CaptionJobResult) { stats = r.stats; resumedFrom = r.resumedFrom; alreadyComplete = r.alreadyComplete }
        func result(output: String) -> CaptionJobResult {
            CaptionJobResult(stats: stats, resumedFrom: resumedFrom, alreadyComplete: alreadyComplete, output: output)
        }
    }

    /// Independent shard `index` of `shardCount` (a Slurm array task, a Kubernetes Indexed Job pod,
    /// or `--shard i/n` without MPI): generates the batches `b` with `b % shardCount == index`
    /// into `OUT.shards/I-of-N.jsonl`, resumably, until its own captions (filtered and deduplicated
    /// within the shard) reach its share of `count` plus a tenth. The shards cannot see each other,
    /// so a final `run` (one process) merges them: it takes the shards' completions in attempt
    /// order, generates any attempt they did not cover, and writes the file one process writes.
    public func runShard(index: Int, of shardCount: Int, overwrite: Bool = false,
                         progress: (@Sendable (CaptionJobProgress) -> Void)? = nil) async throws -> CaptionShardResult {
        guard shardCount >= 1, index >= 0, index < shardCount else {
            throw CaptionError.invalidArgument("shard \(index)/\(shardCount) is not a valid shard (need 0 <= i < n)")
        }
        if count < 0 { throw CaptionError.invalidArgument("`count` must be >= 0") }
        if batchSize < 1 { throw CaptionError.invalidArgument("batch size must be >= 1") }
        let config = self.config
        let path = ShardCompletions.path(for: output, index: index, count: shardCount)
        if overwrite { Files.remove(path) }
        if !overwrite, let done = CaptionJobSummaryFile.load(for: output), Files.exists(output),
           config.differences(from: done.config).isEmpty, done.stats.captions == count {
            return CaptionShardResult(path: path, attempts: 0, captions: 0, target: 0, outputComplete: true)
        }
        // The shard's share plus a margin for captions other shards also wrote (dropped in the merge).
        let target = (count + shardCount - 1) / shardCount + (count + 9 * shardCount) / (10 * shardCount)
        let limit = attemptLimit
        let echoes = planner.normalizedExampleCaptions
        var dedup = Deduplicator()
        var accepted = 0
        var attempts = 0
        func tally(_ indices: [Int], _ completions: [String]) {
            for (i, completion) in zip(indices, completions) where accepted < target {
                let caption = PromptBuilder.firstLine(of: completion)
                let normalized = Deduplicator.normalize(caption)
                if filter.rejection(caption: caption, normalized: normalized, concept: planner.plan(index: i).concept, echoes: echoes) == nil,
                   dedup.check(caption, normalized: normalized) == nil {
                    accepted += 1
                }
            }
        }
        var nextBatch = index
        let file: AppendFile
        if Files.exists(path) {
            let existing = try ShardCompletions.read(path: path, config: config)
            for batch in existing.batches {
                tally(Array(batch.first..<batch.first + batch.completions.count), batch.completions)
                attempts += batch.completions.count
                nextBatch = batch.first / batchSize + shardCount
            }
            file = try AppendFile(path: path, truncateTo: existing.committedLength)
        } else {
            try FileManager.default.createDirectory(atPath: ShardCompletions.directory(for: output), withIntermediateDirectories: true)
            try Files.writeAtomically(PartialFile.header(config), to: path)
            file = try AppendFile(path: path)
        }
        let resumedFrom = accepted
        let start = Date()
        while accepted < target && nextBatch * batchSize < limit {
            try Task.checkCancellation()
            let first = nextBatch * batchSize
            let plans = (first..<min(first + batchSize, limit)).map { planner.plan(index: $0) }
            let completions = try await generator.generate(plans.map(\.request), options: options)
            if completions.count != plans.count {
                throw CaptionError.generatorCountMismatch(name: generator.name, expected: plans.count, got: completions.count)
            }
            try file.append(ShardCompletions.line(first: first, completions: completions))
            tally(plans.map(\.index), completions)
            attempts += plans.count
            nextBatch += shardCount
            progress?(CaptionJobProgress(captions: accepted, target: target, resumedFrom: resumedFrom, attempts: attempts,
                                         rejected: 0, elapsed: Date().timeIntervalSince(start)))
        }
        file.sync()
        return CaptionShardResult(path: path, attempts: attempts, captions: accepted, target: target, outputComplete: false)
    }
}
