import Testing
@testable import SynCaption

@Suite struct PromptTests {
    @Test func examplePoolsMeetThePaperSizes() {
        let p = ExamplePools.builtin
        #expect(p.object.count >= 52)
        #expect(p.scene.count >= 33)
        #expect(p.texture.count >= 21)
        #expect(p.object.count + p.scene.count + p.texture.count >= 106)
        #expect(p.background.count >= 50)
        #expect(p.relation.count >= 20)
        #expect(p.background.allSatisfy { $0.extra != nil })
        #expect(Set(p.relation.compactMap(\.extra)) == Set(Relations.all))
        let all = p.object + p.scene + p.texture + p.background + p.relation
        #expect(Set(all.map(\.caption)).count == all.count, "captions must be distinct")
        #expect(all.allSatisfy { !$0.caption.contains("=>") && !$0.caption.contains("\n") })
    }

    @Test func relationsAreThePapersTen() {
        #expect(Relations.all == ["in", "on", "next to", "behind", "in front of", "over", "under", "above", "below", "besides"])
    }

    @Test func goldenPromptForFixedSeed() {
        let planner = CaptionPlanner(tree: smallTree(), seed: 42)
        let background = planner.plan(index: 3)
        #expect(background.prompt == """
        Generate an image description with an object category and an environment category:
        fox, city alley at night => a red fox slipping past trash bins in a city alley at night
        penguin, icy shoreline => a king penguin waddling along an icy shoreline as waves wash over the pebbles
        camel, sand dunes at sunset => a camel walking along the crest of sand dunes at sunset, its long shadow stretching behind
        bicycle, quiet garden =>
        """)
        #expect(background.seed == 1_856_420_866_335_942)
        #expect(background.source == "small" && background.concept == "bicycle" && background.background == "quiet garden")
        let relation = (0..<400).map { planner.plan(index: $0) }.first { $0.mode == .relation }!
        #expect(relation.index == 54)
        #expect(relation.prompt == """
        Generate an image description with an object category and a relation:
        laptop, on => a laptop on a picnic table under the shade of an oak tree
        surfboard, besides => a surfboard standing upright in the sand besides a beach hut
        dog, next to => a sleepy beagle lying next to a crackling fireplace
        bicycle, under =>
        """)
        #expect(relation.seed == 5_005_442_419_270_645)
    }

    @Test func promptLayout() {
        let planner = CaptionPlanner(tree: smallTree(), seed: 3)
        var seenModes = Set<CaptionMode>(), seenKinds = Set<ConceptKind>()
        for i in 0..<400 {
            let plan = planner.plan(index: i)
            seenModes.insert(plan.mode)
            seenKinds.insert(plan.kind)
            let lines = plan.prompt.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            #expect(lines.count == 5)
            #expect(lines[0] == PromptBuilder.header(mode: plan.mode, kind: plan.kind))
            #expect(lines[1...3].allSatisfy { $0.contains(" => ") })
            #expect(Set(plan.examples).count == 3)
            #expect(!plan.examples.contains { $0.concept.lowercased() == plan.concept.lowercased() })
            switch plan.mode {
            case .concept: #expect(lines[4] == "\(plan.concept) =>")
            case .background: #expect(lines[4] == "\(plan.concept), \(plan.background!) =>")
            case .relation:
                #expect(lines[4] == "\(plan.concept), \(plan.relation!) =>")
                #expect(Relations.all.contains(plan.relation!))
            }
            if plan.kind != .object { #expect(plan.mode == .concept) }
        }
        #expect(seenModes == Set(CaptionMode.allCases))
        #expect(seenKinds.contains(.object) && seenKinds.contains(.scene))
        #expect(PromptBuilder.header(mode: .concept, kind: .scene) == "Generate an image description with an environment category:")
        #expect(PromptBuilder.header(mode: .concept, kind: .texture) == "Generate an image description with a texture category:")
        #expect(PromptBuilder.header(mode: .background, kind: .object)
            == "Generate an image description with an object category and an environment category:")
    }

    @Test func completionIsCutAtFirstNewline() {
        #expect(PromptBuilder.firstLine(of: " a red fox in the snow\nteapot => a teapot") == "a red fox in the snow")
        #expect(PromptBuilder.firstLine(of: " windows line\r\nnext") == "windows line")
        #expect(PromptBuilder.firstLine(of: "\nstarts with newline") == "")
    }

    @Test func plansAreDeterministicAndIndependentOfOrder() {
        let a = CaptionPlanner(tree: smallTree(), seed: 9)
        let b = CaptionPlanner(tree: smallTree(), seed: 9)
        let forward = (0..<50).map { a.plan(index: $0) }
        let backward = (0..<50).reversed().map { b.plan(index: $0) }.reversed()
        #expect(forward == Array(backward))
        let other = CaptionPlanner(tree: smallTree(), seed: 10)
        #expect((0..<50).map { other.plan(index: $0).prompt } != forward.map(\.prompt))
    }
}
