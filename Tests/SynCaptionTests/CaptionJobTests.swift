import Foundation
import Testing
@testable import SynCaption

@Suite struct CaptionJobTests {
    func job(_ out: String, count: Int, batch: Int = 16, seed: UInt64 = 5, generator: any TextGenerator = TemplateGenerator(),
             maxAttempts: Int? = nil) -> CaptionJob {
        CaptionJob(planner: CaptionPlanner(tree: smallTree(), seed: seed), generator: generator, count: count, output: out,
                   batchSize: batch, maxAttempts: maxAttempts)
    }

    @Test func writesCountLinesWithAllFields() async throws {
        let out = temporaryDirectory() + "/c.jsonl"
        let result = try await job(out, count: 60).run()
        #expect(result.stats.captions == 60)
        let lines = contents(out).split(separator: "\n")
        #expect(lines.count == 60)
        #expect(!Files.exists(out + ".partial"))
        let records = try lines.map { try CaptionRecord.parse(Data($0.utf8)) }
        #expect(records.map(\.id) == (0..<60).map { CaptionID.number($0) })
        #expect(records.allSatisfy { $0.generator == "template (no language model)" })
        #expect(Set(records.map(\.caption)).count == 60)
        for r in records {
            #expect((r.mode == .background) == (r.background != nil))
            #expect((r.mode == .relation) == (r.relation != nil))
        }
        let stats = try #require(CaptionJobSummaryFile.load(for: out))
        #expect(stats.stats.captions == 60)
        #expect(stats.stats.next == 60 + stats.stats.totalRejected)
        let again = try await job(out, count: 60).run()
        #expect(again.alreadyComplete)
    }

    @Test func outputIndependentOfBatchSize() async throws {
        let dir = temporaryDirectory()
        _ = try await job(dir + "/a.jsonl", count: 50, batch: 1).run()
        _ = try await job(dir + "/b.jsonl", count: 50, batch: 64).run()
        #expect(contents(dir + "/a.jsonl") == contents(dir + "/b.jsonl"))
        _ = try await job(dir + "/c.jsonl", count: 50, seed: 6).run()
        #expect(contents(dir + "/a.jsonl") != contents(dir + "/c.jsonl"))
    }

    @Test func resumeAfterSimulatedCrashGivesTheSameFile() async throws {
        let dir = temporaryDirectory()
        let reference = dir + "/ref.jsonl"
        _ = try await job(reference, count: 80).run()

        let out = dir + "/crash.jsonl"
        let first = try await job(out, count: 80).run(stopAfterBatches: 2)
        #expect(first.stats.captions > 0 && first.stats.captions < 80)
        let partial = out + ".partial"
        let committed = contents(partial)
        // A kill during the next batch's write: some complete lines and a torn one, no checkpoint.
        let torn = #"{"id":99,"caption":"a complete line of an uncommitted batch","concept":"owl","source":"small","mode":"concept","background":null,"relation":null,"generator":"template (no language model)","seed":1}"#
            + "\n" + #"{"id":100,"caption":"garbled"# + "\n" + #"{"id":101,"capt"#
        write(committed + torn, to: partial)
        #expect(!Files.exists(out))
        let second = try await job(out, count: 80).run()
        #expect(second.resumedFrom == first.stats.captions)
        #expect(contents(out) == contents(reference))
        #expect(CaptionJobSummaryFile.load(for: out)?.stats == CaptionJobSummaryFile.load(for: reference)?.stats)
    }

    @Test func extendingACountMatchesOneLongRun() async throws {
        let dir = temporaryDirectory()
        _ = try await job(dir + "/long.jsonl", count: 70).run()
        _ = try await job(dir + "/grow.jsonl", count: 30).run()
        let grown = try await job(dir + "/grow.jsonl", count: 70).run()
        #expect(grown.resumedFrom == 30)
        #expect(contents(dir + "/grow.jsonl") == contents(dir + "/long.jsonl"))
        await #expect(throws: CaptionError.self) { try await job(dir + "/grow.jsonl", count: 10).run() }
    }

    @Test func refusesToMixArguments() async throws {
        let dir = temporaryDirectory()
        let out = dir + "/c.jsonl"
        _ = try await job(out, count: 40).run(stopAfterBatches: 1)
        do {
            _ = try await job(out, count: 40, seed: 99).run()
            Issue.record("expected a mismatch")
        } catch let CaptionError.jobMismatch(path, differences) {
            #expect(path == out + ".partial")
            #expect(differences.contains { $0.hasPrefix("seed") })
        }
        await #expect(throws: CaptionError.self) { try await job(out, count: 5).run() }
        let fresh = try await job(out, count: 40, seed: 99).run(overwrite: true)
        #expect(fresh.resumedFrom == 0 && fresh.stats.captions == 40)

        write("{\"some\":\"thing\"}\n", to: dir + "/foreign.jsonl")
        await #expect(throws: CaptionError.self) { try await job(dir + "/foreign.jsonl", count: 5).run() }
        #expect(contents(dir + "/foreign.jsonl") == "{\"some\":\"thing\"}\n")
    }

    @Test func filtersAndDedupAreCountedAndGiveUpIsClean() async throws {
        let dir = temporaryDirectory()
        let gen = ClosureGenerator(name: "fixed") { request in
            switch request.seed % 4 {
            case 0: return " ok"  // too short
            case 1: return "\n"  // empty after the cut
            default: return " the very same caption every time with \(request.context["concept"] ?? "")"
            }
        }
        do {
            _ = try await job(dir + "/f.jsonl", count: 20, generator: gen, maxAttempts: 300).run()
            Issue.record("expected to give up")
        } catch let CaptionError.tooManyRejections(accepted, wanted, attempts, _) {
            #expect(accepted > 0 && accepted < 20 && wanted == 20 && attempts == 300)
        }
        let summary = try CaptionSummary.load(path: dir + "/f.jsonl")
        #expect(summary.inProgress)
        let stats = try #require(summary.stats)
        #expect(stats.count(.tooShort) > 0 && stats.count(.empty) > 0 && stats.count(.duplicate) > 0)
        #expect(stats.captions + stats.totalRejected == 300)
    }

    @Test func summaryCountsAndBadLines() async throws {
        let dir = temporaryDirectory()
        let out = dir + "/s.jsonl"
        _ = try await job(out, count: 40).run()
        let s = try CaptionSummary.load(path: out)
        #expect(s.captions == 40 && !s.inProgress)
        #expect(s.perSource.values.reduce(0, +) == 40)
        #expect(s.perMode.values.reduce(0, +) == 40)
        #expect(s.stats?.captions == 40)
        let report = s.report()
        #expect(report.contains("per source:") && report.contains("duplicates removed:") && report.contains("filter rejections:"))

        write(contents(out) + "{not json}\n", to: dir + "/bad.jsonl")
        #expect(throws: CaptionError.malformedLine(path: dir + "/bad.jsonl", line: 41, reason: "not valid JSON")) {
            try CaptionSummary.load(path: dir + "/bad.jsonl")
        }
        #expect(throws: CaptionError.fileNotFound(path: dir + "/missing.jsonl", what: "caption file")) {
            try CaptionSummary.load(path: dir + "/missing.jsonl")
        }
    }

    @Test func backgroundsJobIsResumableAndDeterministic() async throws {
        let dir = temporaryDirectory()
        let concepts = ["golden retriever", "sea turtle", "Boeing 737 aircraft", "pizza", "stapler"]
        let job = BackgroundJob(concepts: concepts, generator: TemplateGenerator(), seed: 1, perConcept: 4,
                                output: dir + "/bg.json", chunkSize: 2)
        let table = try await job.run()
        #expect(concepts.allSatisfy { (table.backgrounds(for: $0)?.count ?? 0) == 4 })
        #expect(table.backgrounds(for: "sea turtle")!.allSatisfy { TemplatePhrases.environmentFamilies[0].environments.contains($0) })
        let first = contents(dir + "/bg.json")
        _ = try await job.run()
        #expect(contents(dir + "/bg.json") == first)
        let loaded = try BackgroundTable.load(path: dir + "/bg.json")
        #expect(loaded == table)
        #expect(BackgroundJob.parseEnvironments(" harbor; open sea ; dock.\nignored; line", concept: "x") == ["harbor", "open sea", "dock"])
        #expect(BackgroundJob.parseEnvironments("field, barn, x", concept: "x") == ["field", "barn"])
        let other = BackgroundJob(concepts: concepts, generator: TemplateGenerator(), seed: 2, perConcept: 4, output: dir + "/bg.json")
        await #expect(throws: CaptionError.self) { try await other.run() }
    }
}
