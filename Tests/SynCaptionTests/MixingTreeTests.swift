import SynTensor
import Testing
@testable import SynCaption

@Suite struct MixingTreeTests {
    @Test func paperTreeFrequencies() throws {
        let tree = try MixingTree.paper()
        let draws = 200_000
        var counts = [Int](repeating: 0, count: tree.sources.count)
        var rng = RandomGenerator(seed: 1)
        let sampler = tree.sampler()
        for _ in 0..<draws { counts[sampler.drawSource(&rng)] += 1 }
        let expected: [String: Double] = [
            "food-101": 0.91 * 0.05, "stanford-cars": 0.91 * 0.06, "fgvc-aircraft": 0.91 * 0.06, "flowers-102": 0.91 * 0.03,
            "imagenet-1k": 0.91 * 0.504, "imagenet-21k": 0.91 * 0.296, "scenes": 0.088, "dtd": 0.002,
        ]
        #expect(Set(tree.sources.map(\.list.name)) == Set(expected.keys))
        for (i, s) in tree.sources.enumerated() {
            let p = expected[s.list.name]!
            let observed = Double(counts[i]) / Double(draws)
            let sigma = (p * (1 - p) / Double(draws)).squareRoot()
            #expect(abs(observed - p) < 5 * sigma + 1e-4, "\(s.list.name): \(observed) vs \(p)")
            #expect(abs(tree.sourceProbabilities()[i] - p) < 1e-12)
        }
    }

    @Test func objectModeSplit() {
        let tree = smallTree()
        var rng = RandomGenerator(seed: 2)
        var counts: [CaptionMode: Int] = [:]
        let draws = 100_000
        for _ in 0..<draws { counts[tree.drawMode(kind: .object, hasBackgrounds: true, &rng), default: 0] += 1 }
        for (mode, p) in [(CaptionMode.concept, 0.44), (.relation, 0.11), (.background, 0.45)] {
            let observed = Double(counts[mode] ?? 0) / Double(draws)
            #expect(abs(observed - p) < 0.01, "\(mode): \(observed)")
        }
        for _ in 0..<1000 {
            #expect(tree.drawMode(kind: .scene, hasBackgrounds: true, &rng) == .concept)
            #expect(tree.drawMode(kind: .object, hasBackgrounds: false, &rng) != .background)
        }
    }

    @Test func backgroundModeSkippedWithoutBackgrounds() {
        let planner = CaptionPlanner(tree: smallTree(backgrounds: false), seed: 0)
        #expect(planner.backgroundModeUnavailable)
        #expect((0..<500).allSatisfy { planner.plan(index: $0).mode != .background })
        let relationShare = Double((0..<2000).filter { planner.plan(index: $0).mode == .relation }.count) / 2000
        #expect(relationShare > 0.12)  // 0.11 / (0.44 + 0.11) of objects = 0.2 of objects
    }

    @Test func flatWeightsAndConfigurableKinds() throws {
        let a = ConceptList(name: "a", kind: .object, concepts: ["x"])
        let b = ConceptList(name: "b", kind: .object, concepts: ["y"])
        let c = ConceptList(name: "c", kind: .scene, concepts: ["z"])
        let flat = MixingTree(sources: [.init(list: a, weight: 3), .init(list: b, weight: 1), .init(list: c, weight: 4)],
                              kindWeights: [.object: 4, .scene: 4])
        #expect(flat.sourceProbabilities() == [0.375, 0.125, 0.5])
        let skewed = MixingTree(sources: flat.sources, kindWeights: [.object: 0.9, .scene: 0.1])
        let probs = skewed.sourceProbabilities()
        #expect(abs(probs[0] - 0.675) < 1e-12 && abs(probs[2] - 0.1) < 1e-12)
        let paperSpec = try MixingTree.from(specs: [ConceptSourceSpec(reference: "paper")])
        let paper = try MixingTree.paper()
        for (x, y) in zip(paperSpec.sourceProbabilities(), paper.sourceProbabilities()) { #expect(abs(x - y) < 1e-12) }
        #expect(throws: CaptionError.self) { try MixingTree.from(specs: [ConceptSourceSpec(reference: "dtd", weight: 0)]) }
        #expect(try ModeWeights.parse("concept=1,relation=0") == ModeWeights(concept: 1, relation: 0, background: 0))
        #expect(throws: CaptionError.self) { try ModeWeights.parse("concept=-1") }
    }
}
