import ArgumentParser
import Foundation
import SynCaption

/// `synclr captions backgrounds`: plausible environments per concept, for the background mode.
struct CaptionsBackgrounds: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backgrounds",
        abstract: "Ask the text generator for plausible environments of each object concept; write JSON for --backgrounds.",
        discussion: """
        The output maps each concept to a list of places it is typically seen in. Rerunning keeps \
        the concepts already done (the file is rewritten atomically after every chunk). Only object \
        lists are covered: scenes and textures use the concept->caption mode only.
        """
    )

    @Option(help: "Concept lists (same syntax as `synclr captions --concepts`).")
    var concepts: String = "paper"

    @Option(name: .customLong("per-concept"), help: "Backgrounds wanted per concept.")
    var perConcept: Int = 20

    @Option(help: "Seed for example selection and sampling.")
    var seed: UInt64 = 0

    @Option(help: "JSON file replacing the in-context example pools (its `environments` member is used).")
    var examples: String?

    @Option(help: "Output JSON path.")
    var out: String

    @Flag(help: "Start over instead of keeping concepts already in the output.")
    var overwrite = false

    @OptionGroup var backend: CaptionsBackendOptions

    func validate() throws {
        if perConcept < 1 { throw ValidationError("--per-concept must be at least 1") }
    }

    func run() async throws {
        try await runJob()
    }

    private func runJob() async throws {
        let tree = try MixingTree.from(specs: try ConceptSourceSpec.parseList(concepts))
        let skipped = tree.sources.filter { $0.list.kind != .object }.map(\.list.name)
        if !skipped.isEmpty { Terminal.note("skipping non-object lists: \(skipped.joined(separator: ", "))") }
        let names = tree.sources.filter { $0.list.kind == .object && $0.weight > 0 }.flatMap(\.list.concepts)
        if names.isEmpty { throw ValidationError("no object concepts in --concepts \(concepts)") }
        let pools = try examples.map { try ExamplePools.load(path: $0) } ?? .builtin
        let generator = try await backend.makeGenerator()
        let job = BackgroundJob(concepts: names, generator: generator, options: backend.generationOptions, pools: pools,
                                seed: seed, perConcept: perConcept, output: out, chunkSize: backend.jobChunk)
        let line = JobProgress(label: "backgrounds", unit: "concept", total: job.concepts.count)
        let table = try await runInterruptibly(line, whenInterrupted: "finished concepts are kept in \(out)") {
            try await job.run(overwrite: overwrite) { p in line.update(completed: p.done, resumedFrom: p.resumedFrom) }
        }
        let covered = job.concepts.filter { table.backgrounds(for: $0) != nil }.count
        print("wrote backgrounds for \(Terminal.grouped(covered)) of \(Terminal.grouped(job.concepts.count)) concepts to \(out)")
        if covered < job.concepts.count {
            print("\(job.concepts.count - covered) concepts got no usable answer; rerun to retry them")
        }
    }
}
