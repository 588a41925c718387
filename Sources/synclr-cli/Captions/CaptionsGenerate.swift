import ArgumentParser
import Foundation
import SynCaption
import SynMPI
import SynTensor

/// `--require-concept` values.
enum ConceptCheckOption: String, CaseIterable, ExpressibleByArgument {
    case off
    case anyWord = "any-word"
    case allWords = "all-words"

    /// The library's value.
    var value: CaptionFilter.ConceptCheck {
        switch self {
        case .off: return .off
        case .anyWord: return .anyWord
        case .allWords: return .allWords
        }
    }
}

/// `synclr captions [generate]`: the resumable caption job.
struct CaptionsGenerate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write COUNT captions as JSONL (rerun the same command to resume; --overwrite starts over).",
        discussion: """
        --concepts takes comma-separated items NAME_OR_FILE[:KIND][=WEIGHT]: a built-in list \
        (see `synclr captions lists`), `paper` (the paper's mix of lists, the default), or a file \
        with one concept per line or JSON (optionally with per-concept backgrounds). KIND is object \
        (default for files), scene or texture. Without --kind-weights a list is drawn with \
        probability WEIGHT / sum of weights (default weight 1).

        While running, finished batches are in OUT.partial; OUT appears only when the job is complete, \
        together with OUT.stats.json (rejection and duplicate counts). A job killed at any point \
        resumes from its last finished batch and ends with the same file as an uninterrupted run.

        JSONL fields: id, caption, concept, source, mode (concept|background|relation), background, \
        relation, generator, seed, format_version.
        """
    )

    @Option(help: "Concept lists to mix: NAME_OR_FILE[:KIND][=WEIGHT],...")
    var concepts: String = "paper"

    @Option(help: "Number of captions to write.")
    var count: Int = 1000

    @Option(help: "Job seed: the same seed and arguments give the same prompts and (with a deterministic backend) the same file.")
    var seed: UInt64 = 0

    @Option(help: "Backgrounds JSON (from `synclr captions backgrounds`) for the concept+background mode; merged over the built-in ones.")
    var backgrounds: String?

    @Flag(name: .customLong("no-builtin-backgrounds"), help: "Do not use the shipped backgrounds (Fashion-MNIST, ImageNet-1k).")
    var noBuiltinBackgrounds = false

    @Option(help: "JSON file replacing some or all in-context example pools.")
    var examples: String?

    @Option(name: .customLong("kind-weights"), help: "Kind split, e.g. object=0.91,scene=0.088,texture=0.002 (default: from list weights).")
    var kindWeights: String?

    @Option(name: .customLong("mode-weights"), help: "Mode split for objects: concept=W,relation=W,background=W.")
    var modeWeights: String = "concept=0.44,relation=0.11,background=0.45"

    @Option(name: .customLong("min-words"), help: "Reject captions with fewer words.")
    var minWords: Int = 4

    @Option(name: .customLong("max-words"), help: "Reject captions with more words.")
    var maxWords: Int = 70

    @Option(name: .customLong("max-chars"), help: "Reject captions with more characters.")
    var maxChars: Int = 600

    @Option(name: .customLong("require-concept"), help: "Concept presence check: any-word, all-words or off.")
    var requireConcept: ConceptCheckOption = .anyWord

    @Flag(name: .customLong("keep-echoes"), help: "Keep captions containing `=>`, prompt headers or copied examples.")
    var keepEchoes = false

    @Option(name: .customLong("batch-size"), help: "Prompts per generator call and per checkpoint.")
    var batchSize: Int = 64

    @Option(help: "Output JSONL path.")
    var out: String

    @Flag(help: "Discard any earlier output of this path and start over.")
    var overwrite = false

    @Option(help: "Do only part i of n (0-based), e.g. 0/4, or auto: from mpiexec/srun, a Slurm array or a Kubernetes Indexed Job. Under mpiexec rank 0 writes OUT; independent shards write OUT.shards/ and a final run with --shard 0/1 merges them.")
    var shard: String = "0/1"

    @Option(help: "Shard count for --shard auto in a Kubernetes Indexed Job (default: $SYNCLR_SHARD_COUNT).")
    var shardCount: Int?

    @OptionGroup var backend: CaptionsBackendOptions

    func validate() throws {
        if count < 1 { throw ValidationError("--count must be at least 1") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        if minWords < 0 || maxWords < minWords { throw ValidationError("need 0 <= --min-words <= --max-words") }
    }

    /// The library configuration these arguments describe.
    func configuration() throws -> CaptionsJobConfiguration {
        let part = try ShardOption.resolve(shard, count: shardCount)
        return CaptionsJobConfiguration(concepts: concepts, count: count, seed: seed, backgrounds: backgrounds, builtinBackgrounds: !noBuiltinBackgrounds,
                                 examples: examples, kindWeights: kindWeights, modeWeights: modeWeights,
                                 filter: CaptionFilter(minWords: minWords, maxWords: maxWords, maxCharacters: maxChars,
                                                       rejectEchoes: !keepEchoes, conceptCheck: requireConcept.value),
                                 batchSize: batchSize, generation: backend.generationOptions, backend: backend.configuration,
                                 output: out, overwrite: overwrite, shard: CaptionShard(index: part.index, count: part.count))
    }

    func run() async throws {
        let config = try configuration()
        let launch = LaunchEnvironment()
        if config.shard.count == 1, launch.isMPILaunch, let n = try? launch.shard().count, n > 1 {
            // Every rank would write the whole job into the same files.
            throw ValidationError("synclr captions was started as one of \(n) MPI processes with --shard \(shard); pass --shard auto to split the job")
        }
        // Under mpiexec / srun the ranks share the job; alone, a shard of several works independently.
        let comm: (any Communicator)? = config.shard.count > 1 && LaunchEnvironment().isMPILaunch ? try Distributed.communicator() : nil
        try await Self.execute(config, communicator: comm)
        comm?.finalize()
    }

    /// Runs the caption job of `config` with a progress line and Ctrl-C handling (also the pipeline's
    /// caption stage); with a `communicator` of several ranks they share the job and rank 0 alone prints.
    static func execute(_ config: CaptionsJobConfiguration, communicator: (any Communicator)? = nil) async throws {
        let isRoot = communicator?.isRoot ?? true
        let job = try await config.makeJob(note: isRoot ? Terminal.note : { _ in })
        let out = config.output
        if config.shard.count > 1 {
            let how = (communicator?.size ?? 1) > 1 ? "rank \(config.shard.index) of \(config.shard.count)" : "independent shard"
            print("captions: shard \(config.shard) (\(how))")
        }
        let line = JobProgress(label: "captions", unit: "caption", total: config.count)
        let update: @Sendable (CaptionJobProgress) -> Void = { p in
            guard isRoot else { return }
            line.update(completed: p.captions, resumedFrom: p.resumedFrom,
                        detail: p.rejected > 0 ? "(\(Terminal.grouped(p.rejected)) rejected)" : nil)
        }
        let outcome: CaptionRunOutcome
        if let comm = communicator, comm.size > 1 {
            // The launcher forwards Ctrl-C to every rank and ends the job; rank 0's batches are kept.
            outcome = try await config.run(job, communicator: comm, progress: update)
            line.finish()
        } else {
            outcome = try await runInterruptibly(line, whenInterrupted: "finished batches are kept in \(out).partial") {
                try await config.run(job, progress: update)
            }
        }
        let result: CaptionJobResult
        switch outcome {
        case .shard(let r):
            if r.outputComplete {
                print("\(out) is already complete; shard \(config.shard) has nothing to do")
            } else {
                print("shard \(config.shard): \(Terminal.grouped(r.attempts)) completions in \(r.path) "
                      + "(\(Terminal.grouped(r.captions)) captions of its share \(Terminal.grouped(r.target))); "
                      + "when every shard is done, run the same command with --shard 0/1 to merge them into \(out)")
            }
            return
        case .complete(let r): result = r
        }
        guard isRoot else { return }
        let s = result.stats
        if result.alreadyComplete {
            print("\(out) is already complete: \(Terminal.grouped(s.captions)) captions (use --overwrite to start over)")
            return
        }
        var message = "wrote \(Terminal.grouped(s.captions)) captions to \(out)"
        if result.resumedFrom > 0 { message += " (resumed after \(Terminal.grouped(result.resumedFrom)))" }
        if result.fromShards > 0 { message += " (merged \(Terminal.grouped(result.fromShards)) completions from \(out).shards)" }
        message += "; \(Terminal.grouped(s.next)) attempts, \(Terminal.grouped(s.totalRejected)) rejected"
        print(message)
        print("counts in \(CaptionJobSummaryFile.path(for: out)); details: synclr captions summary \(out)")
    }
}
