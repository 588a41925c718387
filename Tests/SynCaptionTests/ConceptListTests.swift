import Foundation
import Testing
@testable import SynCaption

@Suite struct ConceptListTests {
    @Test func builtinListsLoadWithExpectedSizesAndKinds() throws {
        let expected: [String: (ConceptKind, ClosedRange<Int>)] = [
            "imagenet-1k": (.object, 995...1000), "imagenet-21k": (.object, 9_000...13_000), "scenes": (.scene, 400...470),
            "dtd": (.texture, 47...47), "food-101": (.object, 101...101), "stanford-cars": (.object, 196...196),
            "fgvc-aircraft": (.object, 100...100), "flowers-102": (.object, 102...102), "oxford-pets": (.object, 37...37),
            "caltech-101": (.object, 101...101), "fashion-mnist": (.object, 10...10),
        ]
        #expect(Set(BuiltinConcepts.names) == Set(expected.keys))
        for (name, (kind, range)) in expected {
            let list = try BuiltinConcepts.load(name)
            #expect(list.kind == kind, "\(name)")
            #expect(range.contains(list.concepts.count), "\(name) has \(list.concepts.count)")
            #expect(Set(list.concepts.map { $0.lowercased() }).count == list.concepts.count, "\(name) has duplicates")
        }
    }

    @Test func paperCleaningRules() throws {
        #expect(try BuiltinConcepts.load("stanford-cars").concepts.allSatisfy { $0.hasSuffix(" car") })
        #expect(try BuiltinConcepts.load("aircraft").concepts.allSatisfy { $0.hasSuffix(" aircraft") })
        let scenes = try BuiltinConcepts.load("scenes").concepts
        #expect(!scenes.contains { $0.hasSuffix(" indoor") || $0.hasSuffix(" outdoor") || $0.contains("_") || $0.contains("/") })
        #expect(try BuiltinConcepts.load("fashion-mnist").concepts.first == "T-shirt or top")
        let manifest = try BuiltinConcepts.manifest()
        #expect(manifest.allSatisfy { ["Apache-2.0", "MIT"].contains($0.license) && !$0.files.isEmpty })
        #expect(try BuiltinConcepts.notice().contains("imagenet-21k.txt"))
    }

    @Test func specParsing() throws {
        let specs = try ConceptSourceSpec.parseList("imagenet-1k=0.7, my list.txt:scene=0.3,dtd")
        #expect(specs == [ConceptSourceSpec(reference: "imagenet-1k", weight: 0.7),
                          ConceptSourceSpec(reference: "my list.txt", kind: .scene, weight: 0.3),
                          ConceptSourceSpec(reference: "dtd")])
        #expect(throws: CaptionError.self) { try ConceptSourceSpec.parseList("imagenet-1k=abc") }
        #expect(throws: CaptionError.self) { try ConceptSourceSpec.parseList(" , ") }
    }

    @Test func textListFile() throws {
        let dir = temporaryDirectory()
        write("# birds\nrobin\n\n  blue   jay \nRobin\nwren\n", to: dir + "/birds.txt")
        let list = try ConceptLoader.load(ConceptSourceSpec(reference: dir + "/birds.txt"))
        #expect(list.name == "birds")
        #expect(list.kind == .object)
        #expect(list.concepts == ["robin", "blue jay", "wren"])
    }

    @Test func jsonListShapes() throws {
        let dir = temporaryDirectory()
        write(#"["a", "b"]"#, to: dir + "/plain.json")
        #expect(try ConceptLoader.loadFile(path: dir + "/plain.json").concepts == ["a", "b"])
        write(#"[{"concept": "otter", "backgrounds": ["river bank", "kelp forest"]}, {"name": "mole"}]"#, to: dir + "/objs.json")
        let objs = try ConceptLoader.loadFile(path: dir + "/objs.json")
        #expect(objs.concepts == ["otter", "mole"])
        #expect(objs.backgrounds["otter"] == ["river bank", "kelp forest"])
        write(#"{"zebra": ["savanna"], "ant": ["anthill"]}"#, to: dir + "/map.json")
        #expect(try ConceptLoader.loadFile(path: dir + "/map.json").concepts == ["ant", "zebra"])
    }

    @Test func badInputsThrowClearErrors() throws {
        let dir = temporaryDirectory()
        #expect(throws: CaptionError.fileNotFound(path: dir + "/nope.txt", what: "concept list file")) {
            try ConceptLoader.load(ConceptSourceSpec(reference: dir + "/nope.txt"))
        }
        #expect(throws: CaptionError.unknownList(name: "imagenet-99k", known: BuiltinConcepts.names)) {
            try ConceptLoader.load(ConceptSourceSpec(reference: "imagenet-99k"))
        }
        write("\n  \n# only a comment\n", to: dir + "/empty.txt")
        #expect(throws: CaptionError.emptyList(name: dir + "/empty.txt")) { try ConceptLoader.loadFile(path: dir + "/empty.txt") }
        write("[]", to: dir + "/empty.json")
        #expect(throws: CaptionError.emptyList(name: dir + "/empty.json")) { try ConceptLoader.loadFile(path: dir + "/empty.json") }

        write(#"{"otter": ["river", 3]}"#, to: dir + "/bad.json")
        do {
            _ = try BackgroundTable.load(path: dir + "/bad.json")
            Issue.record("expected an error")
        } catch let error as CaptionError {
            #expect(error.description.contains(dir + "/bad.json"))
            #expect(error.description.contains("otter"))
        }
        write(#"{"otter": ["river"#, to: dir + "/truncated.json")
        do {
            _ = try BackgroundTable.load(path: dir + "/truncated.json")
            Issue.record("expected an error")
        } catch let error as CaptionError {
            guard case .malformedJSON(let path, _) = error else { Issue.record("wrong error \(error)"); return }
            #expect(path == dir + "/truncated.json")
        }
        write("", to: dir + "/blank.json")
        #expect(throws: CaptionError.malformedJSON(path: dir + "/blank.json", reason: "the file is empty")) {
            try BackgroundTable.load(path: dir + "/blank.json")
        }
        #expect(throws: CaptionError.fileNotFound(path: dir + "/none.json", what: "backgrounds file")) {
            try BackgroundTable.load(path: dir + "/none.json")
        }
    }

    @Test func backgroundTableRoundTripsThroughJSON() throws {
        let dir = temporaryDirectory()
        let table = BackgroundTable(["Heron": ["marsh", "river \"bank\""], "cat": ["sofa"]])
        write(table.jsonText(generator: "g", seed: 7), to: dir + "/bg.json")
        let loaded = try BackgroundTable.load(path: dir + "/bg.json")
        #expect(loaded == table)
        #expect(loaded.backgrounds(for: "heron") == ["marsh", "river \"bank\""])
        let (_, meta) = try BackgroundJob.loadWithMeta(path: dir + "/bg.json")
        #expect(meta.generator == "g" && meta.seed == 7)
    }
}
