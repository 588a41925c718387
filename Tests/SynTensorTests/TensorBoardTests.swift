import Foundation
import Testing
@testable import SynTensor

/// The event file that TensorBoard's own RecordWriter and torch.utils.tensorboard's summaries
/// wrote (Scripts/fixtures/fixtures_tensorboard.py), and what it holds.
private struct Reference: Decodable {
    struct Event: Decodable {
        var wall_time: Double
        var step: Int
        var file_version: String?
        var tag: String?
        var scalar: Float?
        var text: String?
        var image_hwc: [[[UInt8]]]?
    }
    var events: [Event]

    static func load() throws -> (bytes: [UInt8], expected: Reference) {
        let bytes = [UInt8](try Data(contentsOf: try fixtureURL("tensorboard_reference.tfevents")))
        let expected = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: try fixtureURL("tensorboard_reference.json")))
        return (bytes, expected)
    }
}

@Suite("TensorBoard event files")
struct TensorBoardTests {
    @Test("CRC-32C matches the standard check value and TFRecord's mask")
    func crc() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8]()) == 0)
    }

    @Test("reads the event file written by TensorBoard's own writer")
    func readsReference() throws {
        let (bytes, expected) = try Reference.load()
        let (records, clean) = TFRecord.payloads(bytes)
        #expect(clean)
        let events = try records.map { try TensorBoardEvent.decode($0) }
        try #require(events.count == expected.events.count)
        for (e, x) in zip(events, expected.events) {
            #expect(e.wallTime == x.wall_time)
            #expect(e.step == x.step)
            switch e.kind {
            case .fileVersion(let v): #expect(v == x.file_version)
            case .summary(let values):
                try #require(values.count == 1)
                #expect(values[0].tag == x.tag)
                switch values[0].content {
                case .scalar(let s): #expect(s == x.scalar)
                case .text(let t): #expect(t == x.text)
                case let .image(w, h, c, png):
                    let hwc = try #require(x.image_hwc)
                    #expect(h == hwc.count && w == hwc[0].count && c == hwc[0][0].count)
                    let decoded = try ImageIO.decode(png)
                    #expect(decoded.pixels == hwc.flatMap { $0.flatMap { $0 } })
                }
            case .other: Issue.record("unexpected event kind at step \(e.step)")
            }
        }
    }

    @Test("re-encodes the reference events byte for byte")
    func encodesLikeReference() throws {
        let (bytes, _) = try Reference.load()
        let events = try TFRecord.payloads(bytes).records.map { try TensorBoardEvent.decode($0) }
        let ours = events.flatMap { TFRecord.frame($0.encoded()) }
        #expect(ours == bytes)
    }

    @Test("writer output reads back; a resumed writer drops the steps it will redo")
    func writerResume() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tb-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        do {
            let tb = try TensorBoardWriter(directory: dir, wallTime: 1000)
            try tb.text("config", "a: 1", step: 0)
            try tb.image("views", ByteImage(width: 2, height: 1, channels: 1, pixels: [0, 255]), step: 0)
            for s in 0..<10 { try tb.scalars([("loss", Float(s)), ("lr", 0.1)], step: s) }
        }
        // A killed writer leaves a cut record behind.
        let first = try #require(TensorBoardEventFile.files(in: dir).first)
        let h = try FileHandle(forWritingTo: first)
        try h.seekToEnd()
        try h.write(contentsOf: [0x10, 0, 0, 0, 0, 0, 0, 0, 1, 2])
        try h.close()
        #expect(try TensorBoardEventFile.read(first).clean == false)

        do {
            let tb = try TensorBoardWriter(directory: dir, resumingAt: 6, wallTime: 2000)
            for s in 6..<12 { try tb.scalars([("loss", Float(s) + 0.5)], step: s) }
        }
        let files = TensorBoardEventFile.files(in: dir)
        #expect(files.count == 1)
        let (events, clean) = try TensorBoardEventFile.read(try #require(files.first))
        #expect(clean)
        var lossSteps: [Int] = []
        var lossValues: [Float] = []
        var texts = 0, images = 0
        for e in events {
            guard case .summary(let values) = e.kind else { continue }
            for v in values {
                switch v.content {
                case .scalar(let x) where v.tag == "loss": lossSteps.append(e.step); lossValues.append(x)
                case .text(let t): texts += 1; #expect(t == "a: 1")
                case .image(let w, let hgt, let c, let png):
                    images += 1
                    #expect(w == 2 && hgt == 1 && c == 1)
                    #expect(try ImageIO.decode(png).pixels == [0, 255])
                default: break
                }
            }
        }
        #expect(lossSteps == Array(0..<12))
        let expectedValues: [Float] = (0..<12).map { $0 < 6 ? Float($0) : Float($0) + 0.5 }
        #expect(lossValues == expectedValues)
        #expect(texts == 1 && images == 1)
        if case .fileVersion(let v) = events.first?.kind { #expect(v == "brain.Event:2") } else { Issue.record("no file_version event first") }
    }

    @Test("a fresh run replaces the folder's earlier event files")
    func freshRunReplaces() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tb-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try TensorBoardWriter(directory: dir, wallTime: 1000).scalars([("x", 1)], step: 5)
        try TensorBoardWriter(directory: dir, wallTime: 2000).scalars([("x", 2)], step: 0)
        let files = TensorBoardEventFile.files(in: dir)
        #expect(files.count == 1)
        let steps = try TensorBoardEventFile.read(files[0]).events.map(\.step)
        #expect(steps == [0, 0])
    }

    @Test("malformed records are errors naming the file, never traps")
    func malformed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tb-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("events.out.tfevents.1.bad")
        // A well-framed record whose payload claims a field longer than itself.
        try Data(TFRecord.frame([0x2A, 0x7F, 0x01])).write(to: url)
        #expect(throws: TensorBoardError.self) { try TensorBoardEventFile.read(url) }
        // Random payloads: decoding may fail but never crashes.
        var g = RandomGenerator(seed: 3)
        for _ in 0..<500 {
            let n = Int(g.nextUInt32() % 40)
            let payload = (0..<n).map { _ in UInt8(truncatingIfNeeded: g.nextUInt32()) }
            _ = try? TensorBoardEvent.decode(payload[...])
        }
    }
}
