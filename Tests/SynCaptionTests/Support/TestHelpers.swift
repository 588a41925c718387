import Foundation
@testable import SynCaption

/// A fresh empty temporary directory.
func temporaryDirectory() -> String {
    let dir = NSTemporaryDirectory() + "synclr-caption-tests-" + UUID().uuidString
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// Writes `text` to `path`.
func write(_ text: String, to path: String) {
    _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
}

/// The file's bytes as a string ("" when missing).
func contents(_ path: String) -> String {
    FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) } ?? ""
}

/// A small object list with backgrounds for every concept.
func smallTree(backgrounds: Bool = true) -> MixingTree {
    let concepts = ["red fox", "teapot", "bicycle", "owl", "sailboat", "cactus", "violin", "lighthouse keeper"]
    let bgs = backgrounds ? Dictionary(uniqueKeysWithValues: concepts.map { ($0, ["quiet garden", "city street", "kitchen counter"]) }) : [:]
    let objects = ConceptList(name: "small", kind: .object, concepts: concepts, backgrounds: bgs)
    let scenes = ConceptList(name: "places", kind: .scene, concepts: ["harbor", "bakery", "canyon"])
    let textures = ConceptList(name: "tex", kind: .texture, concepts: ["striped", "cracked"])
    return MixingTree(sources: [.init(list: objects, weight: 1), .init(list: scenes, weight: 1), .init(list: textures, weight: 1)],
                      kindWeights: MixingTree.paperKindWeights)
}

/// A generator that answers from a closure (counts calls).
struct ClosureGenerator: TextGenerator {
    let name: String
    let answer: @Sendable (GenerationRequest) -> String

    func generate(_ requests: [GenerationRequest], options: GenerationOptions) async throws -> [String] {
        requests.map(answer)
    }
}
