import Foundation
import Testing
@testable import SynCaption

/// The native backend behind the caption job, on the real SmolLM2 file (installed by `make setup`).
@Suite(.serialized) struct NativeCaptionTests {
    @Test func builtinBackgroundsCoverTheShippedLists() throws {
        let fashion = try BuiltinConcepts.load("fashion-mnist")
        let table = try BackgroundTable.builtin()
        #expect(fashion.concepts.allSatisfy { (table.backgrounds(for: $0)?.count ?? 0) > 0 })
        // Each shipped file is named after its list and holds only that list's concepts.
        let dir = try ResourceLocator.resourceDirectory().appendingPathComponent("Backgrounds")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".json") }
        #expect(files.contains("fashion-mnist.json") && files.contains("imagenet-1k.json"))
        for file in files {
            let list = try BuiltinConcepts.load(String(file.dropLast(5)))
            let shipped = try BackgroundTable.load(path: dir.appendingPathComponent(file).path)
            let known = Set(list.concepts.map { $0.lowercased() })
            #expect(shipped.entries.keys.allSatisfy { known.contains($0.lowercased()) }, "\(file)")
            #expect(shipped.entries.values.allSatisfy { !$0.isEmpty && $0.count <= 20 }, "\(file)")
            #expect(shipped.count == list.concepts.count, "\(file) covers \(shipped.count) of \(list.concepts.count) concepts")
        }
    }

    @Test func writesCaptionsInAllThreeModes() async throws {
        let generator = try InstalledModel.get()
        let list = try BuiltinConcepts.load("fashion-mnist")
        let tree = MixingTree(sources: [.init(list: list, weight: 1)], kindWeights: MixingTree.paperKindWeights,
                              modeWeights: [.object: ModeWeights(concept: 1, relation: 1, background: 1)])
        let planner = CaptionPlanner(tree: tree, backgrounds: try BackgroundTable.builtin(), seed: 3)
        let out = temporaryDirectory() + "/native.jsonl"
        let result = try await CaptionJob(planner: planner, generator: generator, count: 15, output: out, batchSize: 32).run()
        #expect(result.stats.captions == 15)
        let records = try contents(out).split(separator: "\n").map { try CaptionRecord.parse(Data($0.utf8)) }
        #expect(records.count == 15)
        #expect(Set(records.compactMap(\.mode)) == [.concept, .background, .relation])
        #expect(records.allSatisfy { $0.generator == "native:SmolLM2-135M-Instruct.Q4_1" && !$0.caption.isEmpty && !$0.caption.contains("\n") })
        for r in records { print("native caption [\(r.mode?.rawValue ?? "-")] \(r.concept ?? "-")\(r.background.map { ", " + $0 } ?? "")\(r.relation.map { ", " + $0 } ?? ""): \(r.caption)") }
    }
}
