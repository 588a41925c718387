import Foundation
import Testing
@testable import SynRecords

private func folder(_ name: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("synrecords-\(name)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

@Suite struct RecordFileTests {
    /// A line as the release before `format_version` wrote it (bytes copied from a demo run).
    let oldCaptionLine = #"{"id":0,"caption":"a white shirt with office, the word \"shirt\" is underlined","concept":"shirt","source":"fashion-mnist","mode":"background","background":"office","relation":null,"generator":"native:SmolLM2-135M-Instruct.Q4_1","seed":3812203334320635}"#
    let oldManifestLine = #"{"path":"images/00000/000000_0.png","caption_id":0,"caption":"a sneaker","index":0,"seed":8944221684887979,"guidance":2.5,"guidance_rescale":1.0,"guidance_interval":[0.0,700.0],"steps":6,"model":"synclr-fashion-unet","concept":"sneaker"}"#

    @Test func captionLinesOfTheEarlierReleaseReadAndRewriteWithOnlyTheVersionAdded() throws {
        let r = try CaptionRecord.parse(Data(oldCaptionLine.utf8))
        #expect(r.id == .number(0) && r.mode == .background && r.relation == nil && r.seed == 3812203334320635)
        #expect(r.jsonLine == String(oldCaptionLine.dropLast()) + #","format_version":1}"#)
        #expect(try CaptionRecord.parse(Data(r.jsonLine.utf8)) == r)
    }

    @Test func manifestLinesOfTheEarlierReleaseReadAndRewriteWithOnlyTheVersionAdded() throws {
        let r = try JSONDecoder().decode(ManifestRecord.self, from: Data(oldManifestLine.utf8))
        #expect(r.guidanceInterval == 0...700 && r.guidanceRescale == 1 && r.concept == "sneaker")
        #expect(r.jsonLine == String(oldManifestLine.dropLast()) + #","format_version":1}"#)
    }

    @Test func captionsFileNumbersLinesWithoutIdAndRejectsRepeatsAndNewerVersions() throws {
        let dir = try folder("captions")
        let url = dir.appendingPathComponent("c.jsonl")
        try Data("{\"caption\":\"a\"}\n\n{\"id\":\"x\",\"caption\":\"b\",\"concept\":\"bag\"}\r\n{\"caption\":\"c\"}\n".utf8).write(to: url)
        #expect(try CaptionsFile.read(url) == [CaptionRecord(id: 0, caption: "a"), CaptionRecord(id: .text("x"), caption: "b", concept: "bag"),
                                               CaptionRecord(id: 2, caption: "c")])
        try Data("{\"id\":1,\"caption\":\"a\"}\n{\"id\":1,\"caption\":\"b\"}\n".utf8).write(to: url)
        #expect { try CaptionsFile.read(url) } throws: { "\($0)" == "\(url.path):2: id 1 appears more than once" }
        try Data("{\"id\":1,\"caption\":\"a\",\"format_version\":99}\n".utf8).write(to: url)
        #expect { try CaptionsFile.read(url) } throws: { "\($0)".contains(":1: format_version 99 is newer") }
        try Data("{\"id\":1,\"caption\":\"a\",\"mode\":\"poem\"}\n".utf8).write(to: url)
        #expect { try CaptionsFile.read(url) } throws: { "\($0)".contains(":1: \"mode\" must be concept, background or relation") }
    }

    @Test func writerEscapesAsTheCaptionStageAlwaysDid() throws {
        let r = CaptionRecord(id: 3, caption: "q \"x\" \\ tab\t\u{8}\u{2028}é", concept: "c/d", source: "s", mode: .relation,
                              background: nil, relation: "on", generator: "g", seed: 9)
        #expect(r.jsonLine == #"{"id":3,"caption":"q \"x\" \\ tab\t\u0008\u2028é","concept":"c/d","source":"s","mode":"relation","background":null,"relation":"on","generator":"g","seed":9,"format_version":1}"#)
        #expect(try CaptionRecord.parse(Data(r.jsonLine.utf8)) == r)
    }

    @Test func manifestPathsMustStayInsideTheImageFolder() throws {
        let dir = try folder("manifest")
        for (path, problem) in [("../outside.png", "goes through '..'"), ("images/../../x.png", "goes through '..'"),
                                ("/etc/passwd", "is absolute"), ("", "is empty")] {
            var r = try JSONDecoder().decode(ManifestRecord.self, from: Data(oldManifestLine.utf8))
            r.path = path
            let ok = try JSONDecoder().decode(ManifestRecord.self, from: Data(oldManifestLine.utf8))
            try ManifestFile.write([ok, r], in: dir)
            #expect { try ManifestFile.read(dir) } throws: {
                "\($0)".hasPrefix(dir.appendingPathComponent("manifest.jsonl").path + ":2: image path '\(path)' \(problem)")
            }
        }
        let ok = try JSONDecoder().decode(ManifestRecord.self, from: Data(oldManifestLine.utf8))
        try ManifestFile.write([ok], in: dir)
        #expect(try ManifestFile.read(dir) == [ok])
        try Data("{\"path\":\"a.png\"}\n".utf8).write(to: ManifestFile.url(in: dir))
        #expect { try ManifestFile.read(dir) } throws: { "\($0)".contains("manifest.jsonl:1: not a manifest record (missing field \"caption_id\")") }
    }
}
